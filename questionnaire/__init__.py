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
    is allowed."""
    from questionnaire.web.app import build_app
    from questionnaire.web.config import setting_errors

    with setting_errors():
        return build_app(test_config)
