"""The real server, started with a setting the app cannot use: one message naming the setting
and what is allowed, no traceback, and gunicorn stops at once ("App failed to load") rather
than starting one worker after another. A service that is down is not a bad setting: the
server starts and serves.

Each case is gunicorn serving ``questionnaire.wsgi:app`` on a free port: with one worker and
no configuration file, and as `make run` and docs/deployment.md start it, with the shipped
configuration file (deploy/gunicorn.conf.py) and several workers, where the settings are
checked once before any worker starts. Flask's own command line (``flask --app
questionnaire``) refuses the same settings with one line too.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from support.ports import free_port

from questionnaire.engine import check_ruleset
from questionnaire.web.config import ENVIRONMENT, PROJECT_ROOT

START_SECONDS = 30  # loading the app takes about a second; this is for a busy machine
CONFIG_FILE = PROJECT_ROOT / "deploy" / "gunicorn.conf.py"
WORKERS = 3  # with the configuration file: several, as in production
PARALLEL = max(2, os.cpu_count() or 1)
DATABASE_FORMS = (
    "use sqlite:///path/to/file.sqlite3 or postgresql://user:password@host:port/database"
)
REDIS_FORMS = "use redis://host:port, rediss://host:port or redis+unix:///path/to/socket"
WRITABLE = "QUESTIONNAIRE_INSTANCE_PATH to a folder the app may write to"
SENDER_FORMS = (
    "give the address notices come from, like 'Clinic security <security@clinic.example.org>' "
    "or security@clinic.example.org"
)


@dataclass(frozen=True)
class Case:
    id: str
    settings: dict[str, str]  # "{tmp}" stands for the test's folder
    message: str
    preload: bool = False
    configured: bool = False  # with CONFIG_FILE and WORKERS workers
    # Files the case needs: path under {tmp} -> text; "<broken rules>" copies rules/ and
    # breaks rules.yaml.
    files: dict[str, str] = field(default_factory=dict)


BROKEN_RULES = "<broken rules>"

CASES = [
    Case(
        "proxy-hops-not-a-number",
        {"PROXY_HOPS": "abc"},
        "PROXY_HOPS='abc' is not allowed: use a whole number from 0 to 10",
    ),
    Case(
        "secure-cookies-not-a-yes-or-no",
        {"SECURE_COOKIES": "maybe"},
        "SECURE_COOKIES='maybe' is not allowed: use one of 1, true, yes, on, 0, false, no, off",
    ),
    Case(
        "log-level-not-a-level",
        {"LOG_LEVEL": "loud"},
        "LOG_LEVEL='loud' is not allowed: use one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    ),
    Case(
        "database-address-unreadable",
        {"DATABASE_URL": "not an address"},
        "DATABASE_URL is not a database address the app can use (Could not parse SQLAlchemy "
        f"URL from given URL string); {DATABASE_FORMS}",
    ),
    Case(
        "database-of-an-unknown-kind",
        {"DATABASE_URL": "bogus://db.internal/clinic"},
        "DATABASE_URL is not a database address the app can use (Can't load plugin: "
        f"sqlalchemy.dialects:bogus); {DATABASE_FORMS}",
    ),
    Case(
        "database-without-its-driver",
        {"DATABASE_URL": "mysql://clinic@db.internal/clinic"},
        "DATABASE_URL is not a database address the app can use (No module named "
        f"'MySQLdb'); {DATABASE_FORMS}",
    ),
    Case(
        "database-port-not-a-number",
        {"DATABASE_URL": "postgresql://clinic@db.internal:fivefourthreetwo/clinic"},
        "DATABASE_URL is not a database address the app can use (the host or port cannot be "
        f"read); {DATABASE_FORMS}",
    ),
    Case(
        "database-port-out-of-range",
        {"DATABASE_URL": "postgresql://clinic@db.internal:99999/clinic"},
        "DATABASE_URL is not a database address the app can use (the port is not a number "
        f"from 1 to 65535); {DATABASE_FORMS}",
    ),
    Case(
        "redis-address-of-an-unknown-kind",
        {"REDIS_URL": "bogus://cache.internal"},
        f"REDIS_URL is not a storage address the app can use; {REDIS_FORMS}",
    ),
    Case(
        "redis-port-not-a-number",
        {"REDIS_URL": "redis://cache.internal:six/0"},
        "REDIS_URL is not a storage address the app can use (the port is not a number from 1 "
        f"to 65535); {REDIS_FORMS}",
    ),
    Case(
        "redis-address-unreadable",
        {"REDIS_URL": "redis://[::1/0"},
        f"REDIS_URL is not a storage address the app can use (Invalid IPv6 URL); {REDIS_FORMS}",
    ),
    Case(
        "rules-folder-missing",
        {"RULES_DIR": "{tmp}/nowhere"},
        "RULES_DIR does not hold a rule set the app can use:\n"
        "{tmp}/nowhere: is not a folder holding the rule files",
    ),
    Case(
        "rules-broken",
        {"RULES_DIR": "{tmp}/rules"},
        "RULES_DIR does not hold a rule set the app can use:\n{problems}",
        files={"rules": BROKEN_RULES},
    ),
    Case(
        "secret-key-unset-and-no-folder-to-keep-one",
        {"SECRET_KEY": "", "QUESTIONNAIRE_INSTANCE_PATH": "{tmp}/a-file"},
        "SECRET_KEY is not set, and the instance folder cannot keep one ({tmp}/a-file: a "
        "file, not a folder): set SECRET_KEY to a long random value, the same on every "
        f"instance, or {WRITABLE}",
        files={"a-file": "not a folder\n"},
    ),
    Case(
        "secret-key-unset-and-the-kept-one-empty",
        {"SECRET_KEY": "", "QUESTIONNAIRE_INSTANCE_PATH": "{tmp}/instance"},
        "SECRET_KEY is not set, and {tmp}/instance/secret_key holds no key: delete that file "
        "so that a new key is made there, or set SECRET_KEY to a long random value, the same "
        "on every instance",
        files={"instance/secret_key": ""},
    ),
    Case(
        "mail-url-of-another-kind",
        {"MAIL_URL": "https://mail.example.org", "MAIL_FROM": "security@example.org"},
        "MAIL_URL starting 'https' is not allowed: start it with smtps://, smtp+starttls:// "
        "or smtp://",
    ),
    Case(
        "mail-from-missing",
        {"MAIL_URL": "smtps://mail.example.org"},
        f"MAIL_FROM=None is not allowed: {SENDER_FORMS}",
    ),
    Case(
        "mail-from-not-an-address",
        {"MAIL_URL": "smtps://mail.example.org", "MAIL_FROM": "security"},
        f"MAIL_FROM='security' is not allowed: {SENDER_FORMS}",
    ),
    # Good settings, and a database that 'questionnaire init-db' has not made.
    Case(
        "database-without-tables",
        {},
        "The database sqlite:///{tmp}/instance/questionnaire.sqlite3 has no tables yet: run "
        "'questionnaire init-db' with the same settings, then start the server again.",
    ),
    # With --preload gunicorn loads the app before it starts any worker.
    Case(
        "preloaded-proxy-hops-not-a-number",
        {"PROXY_HOPS": "abc"},
        "Error: PROXY_HOPS='abc' is not allowed: use a whole number from 0 to 10",
        preload=True,
    ),
]


# The cases run again with the configuration file, one of each kind: a value read from the
# environment, addresses checked by the app and by the rate-limit storage, the rule set (a
# message of several lines), the instance folder, the mail settings, and --preload.
BY_ID = {case.id: case for case in CASES}
CONFIGURED = (
    "log-level-not-a-level",
    "database-of-an-unknown-kind",
    "redis-address-of-an-unknown-kind",
    "rules-broken",
    "secret-key-unset-and-the-kept-one-empty",
    "mail-from-not-an-address",
    "database-without-tables",
    "preloaded-proxy-hops-not-a-number",
)
CONFIGURED_CASES = [
    replace(BY_ID[name], id=f"configured-{name}", configured=True) for name in CONFIGURED
]


def environment(tmp_path: Path, settings: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ENVIRONMENT}
    env.update(
        QUESTIONNAIRE_INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY="test-secret-key-not-for-production",
        SECURE_COOKIES="0",
    )
    env.update({key: value.format(tmp=tmp_path) for key, value in settings.items()})
    return env


def gunicorn(port: int, *options: str, workers: int = 1) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "2",
        "--no-control-socket",
        *options,
        "questionnaire.wsgi:app",
    ]


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its workers too can be stopped, as one group
    )


def stop(server: subprocess.Popen[str]) -> str:
    """Stop the server and its workers if they still run; what they printed."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
    try:
        output, _ = server.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        output, _ = server.communicate()
    return output


def make_files(tmp_path: Path, files: dict[str, str]) -> str:
    """Write the case's files; the problems of a broken rule set, one per line."""
    problems = ""
    for name, text in files.items():
        path = tmp_path / name
        if text == BROKEN_RULES:
            shutil.copytree(PROJECT_ROOT / "rules", path)
            (path / "rules.yaml").write_text("rules: [\n")
            _, found = check_ruleset(path)
            problems = "\n".join(str(problem) for problem in found)
            assert problems
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return problems


def configured(folder: Path) -> list[str]:
    """The options that start gunicorn with the configuration file, and a pid file in
    ``folder``."""
    return ["--config", str(CONFIG_FILE), "--pid", str(folder / "gunicorn.pid")]


@dataclass
class Outcome:
    message: str
    output: str
    returncode: int | None
    folder: Path


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case's server, a few at a time: each spends its second loading the app, so side
    by side they take a few seconds in all rather than one after another."""
    waiting = [*CASES, *CONFIGURED_CASES]
    running: dict[str, tuple[str, subprocess.Popen[str], float, Path]] = {}
    found: dict[str, Outcome] = {}
    try:
        while waiting or running:
            while waiting and len(running) < PARALLEL:
                case = waiting.pop(0)
                folder = tmp_path_factory.mktemp(case.id)
                message = case.message.format(tmp=folder, problems=make_files(folder, case.files))
                options = ["--preload"] if case.preload else []
                if case.configured:
                    command = gunicorn(free_port(), *options, *configured(folder), workers=WORKERS)
                else:
                    command = gunicorn(free_port(), *options)
                server = start(command, environment(folder, case.settings))
                running[case.id] = (message, server, time.monotonic() + START_SECONDS, folder)
            time.sleep(0.05)
            for name, (message, server, deadline, folder) in list(running.items()):
                if server.poll() is not None or time.monotonic() > deadline:
                    returncode = server.poll()  # None: still running when its time was up
                    found[name] = Outcome(message, stop(server), returncode, folder)
                    del running[name]
    finally:
        for _, server, _, _ in running.values():
            stop(server)
    return found


def stopped_with_its_message(outcome: Outcome) -> str:
    """The server's output, once it is known to have stopped, with no traceback and with the
    bad setting's message on a line of its own."""
    output = outcome.output
    assert outcome.returncode is not None, f"still running after {START_SECONDS} s:\n{output}"
    assert "Traceback" not in output, output
    assert f"\n{outcome.message}\n" in f"\n{output}", output
    return output


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_bad_setting_stops_the_server_with_one_message(
    outcomes: dict[str, Outcome], case: Case
) -> None:
    outcome = outcomes[case.id]
    output = stopped_with_its_message(outcome)
    if case.preload:
        assert outcome.returncode == 1, output
        assert "Booting worker" not in output, output
    else:
        # "App failed to load": gunicorn stops rather than booting worker after worker.
        assert outcome.returncode == 4, output
        assert output.count("Booting worker") == 1, output
        assert "Reason: App failed to load." in output, output


@pytest.mark.parametrize("case", CONFIGURED_CASES, ids=[case.id for case in CONFIGURED_CASES])
def test_with_the_configuration_file_a_bad_setting_is_told_once_by_the_master(
    outcomes: dict[str, Outcome], case: Case
) -> None:
    outcome = outcomes[case.id]
    output = stopped_with_its_message(outcome)
    assert output.count(outcome.message) == 1, output
    # Stopped before it listened or started a worker, whatever --workers says.
    assert "Booting worker" not in output, output
    assert "Listening at" not in output, output
    assert not (outcome.folder / "gunicorn.pid").exists()
    if case.preload:
        assert outcome.returncode == 1, output
    else:
        assert outcome.returncode == 4, output


def first_answer(server: subprocess.Popen[str], port: int) -> int | None:
    """The status of the first answer to GET / while the server runs; None if none came."""
    deadline = time.monotonic() + START_SECONDS
    while server.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                return int(response.status)
        except OSError:
            time.sleep(0.2)  # not listening yet, or still loading the app
    return None


def answers_without_a_traceback(command: list[str], env: dict[str, str], port: int) -> str:
    """Start the server, check that it answers 200 and printed no traceback; its output."""
    server = start(command, env)
    try:
        status = first_answer(server, port)
    finally:
        output = stop(server)
    assert status == 200, output
    assert "Traceback" not in output, output
    return output


def init_db(env: dict[str, str]) -> None:
    """Make the database's tables, as the operator does before starting the server."""
    command = [str(Path(sys.executable).parent / "questionnaire"), "init-db"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_with_the_configuration_file_good_settings_start_every_worker(tmp_path: Path) -> None:
    port = free_port()
    command = gunicorn(port, *configured(tmp_path), workers=WORKERS)
    env = environment(tmp_path, {})
    init_db(env)
    output = answers_without_a_traceback(command, env, port)
    assert output.count("Booting worker") == WORKERS, output


# A service that is down is an outage the app copes with (pages for a database that is down,
# counts in the worker while Redis is), not a bad setting: the server starts all the same.
OUTAGES = {
    "database-down": "DATABASE_URL=postgresql://clinic@127.0.0.1:{port}/clinic",
    "redis-down": "REDIS_URL=redis://127.0.0.1:{port}/0",
}


@pytest.mark.parametrize("setting", OUTAGES.values(), ids=OUTAGES.keys())
def test_a_service_that_is_down_does_not_stop_the_server(tmp_path: Path, setting: str) -> None:
    name, _, value = setting.format(port=free_port()).partition("=")  # nothing listens there
    port = free_port()
    env = environment(tmp_path, {name: value})
    if name != "DATABASE_URL":
        init_db(env)
    output = answers_without_a_traceback(gunicorn(port), env, port)
    if name == "DATABASE_URL":
        # Its tables could not be checked either: said, and not a reason to stop.
        assert "could not reach the database to check its tables" in output, output


# Flask's command line builds the app itself (``create_app``), for its own commands and the
# app's: a setting the app cannot use is one line there too, after "Error:".
FLASK_COMMANDS = {
    "run": (["run", "--port", "{port}"], BY_ID["log-level-not-a-level"]),
    "init-db": (["init-db"], BY_ID["database-of-an-unknown-kind"]),
    "routes": (["routes"], BY_ID["proxy-hops-not-a-number"]),
}


@pytest.mark.parametrize("arguments, case", FLASK_COMMANDS.values(), ids=FLASK_COMMANDS.keys())
def test_flask_commands_refuse_a_bad_setting_in_one_line(
    tmp_path: Path, arguments: list[str], case: Case
) -> None:
    port = str(free_port())
    command = [sys.executable, "-m", "flask", "--app", "questionnaire"]
    command += [argument.format(port=port) for argument in arguments]
    done = subprocess.run(
        command,
        cwd=tmp_path,  # no .env or .flaskenv of the project's is read
        env=environment(tmp_path, case.settings),
        capture_output=True,
        text=True,
        timeout=START_SECONDS,
    )

    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"Error: {case.message}\n"
