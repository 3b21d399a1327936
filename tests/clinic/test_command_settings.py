"""Operator commands started with a setting the app cannot use: one line naming the setting
and what is allowed, exit code 1, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from questionnaire.cli import cli
from questionnaire.web.config import ENVIRONMENT

DATABASE_FORMS = (
    "use sqlite:///path/to/file.sqlite3 or postgresql://user:password@host:port/database"
)
COMMANDS = [
    ["init-db"],
    ["create-clinic", "--slug", "east", "--name", "East Clinic"],
    ["create-user", "--clinic", "east", "--email", "e@example.org", "--name", "E"],
    ["purge", "--older-than", "30"],
    ["demo"],
]


def run(tmp_path: Path, args: list[str], **settings: str) -> Result:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'operator.sqlite3'}",
        "QUESTIONNAIRE_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "operator-test-secret-key",
        **settings,
    }
    return CliRunner().invoke(cli, args, env=env, input="correct horse battery staple 42\n")


def assert_refused(result: Result, message: str) -> None:
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert result.stderr == f"Error: {message}\n"


PROXY_HOPS_NOT_A_NUMBER = pytest.param(
    {"PROXY_HOPS": "abc"},
    "PROXY_HOPS='abc' is not allowed: use a whole number from 0 to 10",
    id="proxy-hops-not-a-number",
)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        PROXY_HOPS_NOT_A_NUMBER,
        pytest.param(
            {"SECURE_COOKIES": "maybe"},
            "SECURE_COOKIES='maybe' is not allowed: use one of 1, true, yes, on, 0, false, no, off",
            id="secure-cookies-not-a-yes-or-no",
        ),
        pytest.param(
            {"DATABASE_URL": "bogus://x"},
            "DATABASE_URL is not a database address the app can use (Can't load plugin: "
            f"sqlalchemy.dialects:bogus); {DATABASE_FORMS}",
            id="database-of-an-unknown-kind",
        ),
        pytest.param(
            {"DATABASE_URL": "not an address"},
            "DATABASE_URL is not a database address the app can use (Could not parse SQLAlchemy "
            f"URL from given URL string); {DATABASE_FORMS}",
            id="database-address-unreadable",
        ),
        pytest.param(
            {"DATABASE_URL": "mysql://clinic@localhost/clinic"},
            "DATABASE_URL is not a database address the app can use (No module named "
            f"'MySQLdb'); {DATABASE_FORMS}",
            id="database-without-its-driver",
        ),
        pytest.param(
            {"REDIS_URL": "bogus://cache"},
            "REDIS_URL is not a storage address the app can use; use redis://host:port, "
            "rediss://host:port or redis+unix:///path/to/socket",
            id="redis-address-of-an-unknown-kind",
        ),
    ],
)
def test_a_bad_setting_is_named_with_what_is_allowed(
    tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    assert_refused(run(tmp_path, ["init-db"], **settings), message)


def test_a_rules_folder_that_does_not_exist_is_named(tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere"
    result = run(tmp_path, ["init-db"], RULES_DIR=str(nowhere))
    assert_refused(
        result,
        f"RULES_DIR does not hold a rule set the app can use:\n"
        f"{nowhere}: is not a folder holding the rule files",
    )


@pytest.mark.parametrize("args", COMMANDS, ids=[args[0] for args in COMMANDS])
def test_every_database_command_reports_a_bad_setting_without_a_traceback(
    tmp_path: Path, args: list[str]
) -> None:
    for settings in ({"PROXY_HOPS": "abc"}, {"DATABASE_URL": "bogus://x"}):
        result = run(tmp_path, args, **settings)
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert result.stderr.startswith(f"Error: {next(iter(settings))}")


# Flask's own command line loads the app to list its commands for --help, and for ``flask``
# with FLASK_APP set and no command (which shows the help); a bad setting is one line there
# too, with exit code 1 rather than the help and a traceback.
FLASK_START_SECONDS = 60  # loading the app takes about a second; this is for a busy machine
FLASK_HELP = {
    "help": (["--app", "questionnaire", "--help"], {}),
    "no-command": ([], {"FLASK_APP": "questionnaire"}),
}


def run_flask(tmp_path: Path, args: list[str], **settings: str) -> subprocess.CompletedProcess[str]:
    """``flask`` in a process of its own, in a folder without the project's .env or .flaskenv,
    with none of the app's settings from this process's environment."""
    env = {key: value for key, value in os.environ.items() if key not in ENVIRONMENT}
    env.pop("FLASK_APP", None)
    env.update(
        QUESTIONNAIRE_INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY="operator-test-secret-key",
        SECURE_COOKIES="0",
        **settings,
    )
    return subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=FLASK_START_SECONDS,
    )


@pytest.mark.parametrize(("args", "launch"), FLASK_HELP.values(), ids=FLASK_HELP.keys())
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        PROXY_HOPS_NOT_A_NUMBER,
        pytest.param(
            {"DATABASE_URL": "bogus://x"},
            "DATABASE_URL is not a database address the app can use (Can't load plugin: "
            f"sqlalchemy.dialects:bogus); {DATABASE_FORMS}",
            id="database-of-an-unknown-kind",
        ),
    ],
)
def test_flask_help_reports_a_bad_setting_in_one_line(
    tmp_path: Path, args: list[str], launch: dict[str, str], settings: dict[str, str], message: str
) -> None:
    done = run_flask(tmp_path, args, **launch, **settings)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"Error: {message}\n"


def test_flask_help_with_good_settings_lists_the_app_commands(tmp_path: Path) -> None:
    done = run_flask(tmp_path, ["--app", "questionnaire", "--help"])
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    for command in ("init-db", "create-user", "purge", "routes", "run"):
        assert f"\n  {command} " in done.stdout, done.stdout


def test_flask_without_a_command_does_not_load_the_app(tmp_path: Path) -> None:
    """``--app`` given and no command is a usage error that Flask reports before it loads the
    app, so there is no setting to report."""
    done = run_flask(tmp_path, ["--app", "questionnaire"], PROXY_HOPS="abc")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.endswith("Error: Missing command.\n"), done.stderr


def test_questionnaire_help_lists_its_commands_whatever_the_settings(tmp_path: Path) -> None:
    """The ``questionnaire`` command's help does not build the app (check-rules and evaluate
    use no settings): a command that builds it reports a bad setting when it runs."""
    result = run(tmp_path, ["--help"], PROXY_HOPS="abc")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "init-db" in result.stdout
    assert result.stderr == ""
