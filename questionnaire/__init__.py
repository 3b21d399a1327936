"""Pre-consultation questionnaire for people considering spinal injections for back pain.

The rule engine (``questionnaire.engine``) is pure Python; the web layer is imported only
when an app is built, so the engine and the CLI's rule commands never load Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application (see ``questionnaire.web.app``). A setting it cannot use
    raises ``questionnaire.web.config.ConfigError``, whose message names the setting and what
    is allowed.

    When Flask's ``flask`` command builds the app to find or list its commands (``flask --app
    questionnaire --help``, ``flask`` with FLASK_APP set and no command, or one of the app's
    own commands), a bad setting prints ``Error:`` and the message and exits with status 1
    instead: while listing the commands for its help, Flask prints the full traceback of any
    error and then shows the help without the app's commands.
    """
    from questionnaire.web.app import build_app
    from questionnaire.web.config import ConfigError, setting_errors

    try:
        with setting_errors():
            return build_app(test_config)
    except ConfigError as error:
        if _flask_command_line_is_loading():
            # SystemExit, because Flask's listing catches every Exception.
            error.show()
            raise SystemExit(error.exit_code) from None
        raise


def _flask_command_line_is_loading() -> bool:
    """Whether the app is being built by the ``flask`` command group itself, to look up or
    list the app's commands, rather than by a command, a server or a test."""
    import click
    from flask.cli import FlaskGroup

    context = click.get_current_context(silent=True)
    return context is not None and isinstance(context.command, FlaskGroup)
