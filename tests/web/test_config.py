"""Settings from the environment and the instance folder: a value that cannot be used stops the
app at start, naming the setting and what is allowed."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from flask import Flask
from support.testapp import base_settings

from questionnaire import create_app
from questionnaire.clinic import jsontext
from questionnaire.web import config as config_module
from questionnaire.web.config import ConfigError


def make_app(tmp_path: Path, **config: Any) -> Flask:
    """An app that takes cookie security and rate limits from the environment."""
    return create_app({**base_settings(tmp_path), **config})


def start_error(tmp_path: Path, **config: Any) -> str:
    """The message of the ConfigError that stops ``make_app(tmp_path, **config)`` at start."""
    with pytest.raises(ConfigError) as raised:
        make_app(tmp_path, **config)
    return str(raised.value)


@pytest.mark.parametrize("value", ["maybe", "2", "ja"])
def test_secure_cookies_must_be_a_yes_or_no(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SECURE_COOKIES", value)
    assert start_error(tmp_path) == (
        f"SECURE_COOKIES={value!r} is not allowed: use one of 1, true, yes, on, 0, false, no, off"
    )


@pytest.mark.parametrize("value", ["-1", "eleven", "11", "1.5", "\u00b2", "\u0661"])
def test_proxy_hops_must_be_a_small_whole_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PROXY_HOPS", value)
    assert start_error(tmp_path) == (
        f"PROXY_HOPS={value!r} is not allowed: use a whole number from 0 to 10"
    )


@pytest.mark.parametrize("value", ["loud", "verbose", "10", "INFO WARNING"])
def test_log_level_must_be_a_level_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LOG_LEVEL", value)
    assert start_error(tmp_path) == (
        f"LOG_LEVEL={value!r} is not allowed: use one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
    )


def test_a_command_that_builds_the_app_prints_a_bad_setting_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As flask's command line does when it calls create_app (``flask --app questionnaire``).
    monkeypatch.setenv("PROXY_HOPS", "abc")

    @click.command()
    def build() -> None:
        make_app(tmp_path)

    result = CliRunner().invoke(build)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: PROXY_HOPS='abc' is not allowed: use a whole number from 0 to 10\n"
    )


def test_a_bad_setting_is_still_a_runtime_error() -> None:
    # gunicorn --preload reports a RuntimeError as "Error:" and its message, with no traceback.
    assert issubclass(ConfigError, RuntimeError)


def test_log_level_sets_the_level_of_the_apps_own_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = logging.getLogger("questionnaire")
    before = ours.level
    try:
        monkeypatch.setenv("LOG_LEVEL", "warning")
        assert make_app(tmp_path).config["LOG_LEVEL"] == "WARNING"
        assert ours.getEffectiveLevel() == logging.WARNING
        monkeypatch.setenv("LOG_LEVEL", "DEBUG")
        make_app(tmp_path)
        assert ours.getEffectiveLevel() == logging.DEBUG
    finally:
        ours.setLevel(before)


def test_secure_cookies_off_and_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURE_COOKIES", "off")
    assert make_app(tmp_path / "a").config["SESSION_COOKIE_NAME"] == "session"
    monkeypatch.setenv("SECURE_COOKIES", "yes")
    secure = make_app(tmp_path / "b").config
    assert (secure["SESSION_COOKIE_NAME"], secure["SESSION_COOKIE_SECURE"]) == (
        "__Host-session",
        True,
    )


def test_engine_options_keep_what_the_operator_set(tmp_path: Path) -> None:
    app = make_app(tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True})

    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True
    assert options["json_serializer"] is jsontext.dumps
    assert options["hide_parameters"] is True, "database errors would show patients' data"


def test_a_json_serializer_of_ones_own_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"SQLALCHEMY_ENGINE_OPTIONS\['json_serializer'\]"):
        make_app(tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"json_serializer": json.dumps})


def test_rate_limit_storage_options_keep_what_the_operator_set(tmp_path: Path) -> None:
    redis_url = "redis://127.0.0.1:6379/0"
    given = {"socket_timeout": 0.25, "health_check_interval": 30}
    app = make_app(tmp_path / "a", REDIS_URL=redis_url, RATELIMIT_STORAGE_OPTIONS=given)
    assert app.config["RATELIMIT_STORAGE_URI"] == redis_url
    assert app.config["RATELIMIT_STORAGE_OPTIONS"] == {
        "wrap_exceptions": True,  # the worker's own counts take over on a storage error
        "socket_connect_timeout": 1.0,
        "socket_timeout": 0.25,
        "health_check_interval": 30,
    }
    # Counts in the worker's memory need no socket options.
    memory = make_app(tmp_path / "b").config["RATELIMIT_STORAGE_OPTIONS"]
    assert memory == {"wrap_exceptions": True}


# --- the mail server of security notices -------------------------------------------------------

SENDER = "security@clinic.example.org"


@pytest.mark.parametrize(
    ("url", "server", "port", "starttls", "tls"),
    [
        ("smtps://mail.example.org", "mail.example.org", 465, False, True),
        ("smtp+starttls://mail.example.org", "mail.example.org", 587, True, False),
        ("smtp://relay.internal", "relay.internal", 25, False, False),
        ("smtps://mail.example.org:2465/", "mail.example.org", 2465, False, True),
    ],
)
def test_mail_url_names_the_server_its_port_and_how_it_is_reached(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    server: str,
    port: int,
    starttls: bool,
    tls: bool,
) -> None:
    monkeypatch.setenv("MAIL_URL", url)
    monkeypatch.setenv("MAIL_FROM", SENDER)

    config = make_app(tmp_path).config

    assert (config["MAIL_BACKEND"], config["MAIL_SERVER"], config["MAIL_PORT"]) == (
        "smtp",
        server,
        port,
    )
    assert (config["MAIL_USE_TLS"], config["MAIL_USE_SSL"]) == (starttls, tls)
    assert (config["MAIL_USERNAME"], config["MAIL_PASSWORD"]) == (None, None)
    assert config["MAIL_DEFAULT_SENDER"] == SENDER


def test_mail_url_user_and_password_are_percent_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIL_URL", "smtps://notices%40clinic:p%40ss%3Aw%2Frd@mail.example.org")
    monkeypatch.setenv("MAIL_FROM", f"Clinic security <{SENDER}>")

    config = make_app(tmp_path).config

    assert (config["MAIL_USERNAME"], config["MAIL_PASSWORD"]) == ("notices@clinic", "p@ss:w/rd")
    assert config["MAIL_DEFAULT_SENDER"] == f"Clinic security <{SENDER}>"


def test_without_mail_url_notices_are_off(tmp_path: Path) -> None:
    assert not make_app(tmp_path).config.get("MAIL_BACKEND")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://mail.example.org",
            "MAIL_URL starting 'https' is not allowed: start it with smtps://, "
            "smtp+starttls:// or smtp://",
        ),
        (
            "mail.example.org",
            "MAIL_URL starting 'mail.examp' is not allowed: start it with smtps://, "
            "smtp+starttls:// or smtp://",
        ),
        (
            "smtps://",
            "MAIL_URL names no server: write it like smtps://user:password@mail.example.org",
        ),
        (
            "smtps://mail.example.org:99999",
            "MAIL_URL is not a mail server's address: write it like "
            "smtps://user:password@mail.example.org, with a port from 1 to 65535 if you give one",
        ),
        (
            "smtp://relay.internal/inbox?x=1",
            "MAIL_URL must end after the server's name and port: no path, ? or # part",
        ),
    ],
)
def test_a_mail_url_that_cannot_be_used_stops_the_app_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.setenv("MAIL_URL", url)
    monkeypatch.setenv("MAIL_FROM", SENDER)

    assert start_error(tmp_path) == message


@pytest.mark.parametrize(
    "sender", [None, "", "security", "Security <security@clinic>", "a@b.c\nBcc: x@y.z"]
)
def test_notices_need_one_sender_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sender: str | None
) -> None:
    monkeypatch.setenv("MAIL_URL", "smtps://mail.example.org")
    if sender is not None:
        monkeypatch.setenv("MAIL_FROM", sender)

    assert start_error(tmp_path) == (
        f"MAIL_FROM={sender or None!r} is not allowed: give the address notices come from, like "
        "'Clinic security <security@clinic.example.org>' or security@clinic.example.org"
    )


def test_a_backend_chosen_in_the_instance_config_needs_a_sender_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MAIL_FROM=None is not allowed"):
        make_app(tmp_path, MAIL_BACKEND="console")
    app = make_app(tmp_path, MAIL_BACKEND="console", MAIL_FROM=SENDER)
    assert app.config["MAIL_DEFAULT_SENDER"] == SENDER


# --- addresses of the database and of Redis: read at start, never connected to -------------

DATABASE_FORMS = (
    "use sqlite:///path/to/file.sqlite3 or postgresql://user:password@host:port/database"
)
REDIS_FORMS = "use redis://host:port, rediss://host:port or redis+unix:///path/to/socket"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not an address", "Could not parse SQLAlchemy URL from given URL string"),
        ("bogus://db.internal/clinic", "Can't load plugin: sqlalchemy.dialects:bogus"),
        ("mysql://clinic@db.internal/clinic", "No module named 'MySQLdb'"),
        # The text where the port belongs is not said back: it may be a misplaced password.
        ("postgresql://clinic@db.internal:s3cret/clinic", "the host or port cannot be read"),
        ("postgresql://clinic@db.internal:0/clinic", "the port is not a number from 1 to 65535"),
        ("postgres://clinic@db.internal:65536/clinic", "the port is not a number from 1 to 65535"),
    ],
)
def test_a_database_address_that_cannot_be_used_stops_the_app_saying_why(
    tmp_path: Path, url: str, reason: str
) -> None:
    message = start_error(tmp_path, SQLALCHEMY_DATABASE_URI=url)

    assert message == (
        f"DATABASE_URL is not a database address the app can use ({reason}); {DATABASE_FORMS}"
    )
    assert "s3cret" not in message


def test_a_database_that_is_down_is_no_reason_to_refuse_to_start(tmp_path: Path) -> None:
    # Nothing listens on port 1: requests get the pages for a database that is down.
    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI="postgresql://clinic@127.0.0.1:1/clinic")
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("bogus://cache.internal", None),
        ("redis://cache.internal:s3cret/0", "the port is not a number from 1 to 65535"),
        ("redis://cache.internal:0/0", "the port is not a number from 1 to 65535"),
        ("rediss://cache.internal:70000/0", "the port is not a number from 1 to 65535"),
        ("redis://[::1/0", "Invalid IPv6 URL"),
        (
            "redis://cache.internal/0?socket_timeout=soon",
            "Invalid value for 'socket_timeout' in connection URL.",
        ),
    ],
)
def test_a_redis_address_that_cannot_be_used_stops_the_app_saying_why(
    tmp_path: Path, url: str, reason: str | None
) -> None:
    message = start_error(tmp_path, REDIS_URL=url)

    because = f" ({reason})" if reason else ""
    assert message == (
        f"REDIS_URL is not a storage address the app can use{because}; {REDIS_FORMS}"
    )
    assert "s3cret" not in message


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:1/0", "rediss://cache.internal", "redis+unix:///run/redis.sock"]
)
def test_a_redis_that_cannot_be_reached_now_is_no_reason_to_refuse_to_start(
    tmp_path: Path, url: str
) -> None:
    # The worker counts in its own memory while Redis is down (web/ratelimits.py).
    assert make_app(tmp_path, REDIS_URL=url).config["RATELIMIT_STORAGE_URI"] == url


def test_a_rules_folder_that_cannot_be_loaded_stops_the_app_saying_why(tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere"

    assert start_error(tmp_path, RULES_DIR=str(nowhere)) == (
        "RULES_DIR does not hold a rule set the app can use:\n"
        f"{nowhere}: is not a folder holding the rule files"
    )


# --- the instance folder and the secret key kept there ----------------------------------------


def test_without_secret_key_one_is_made_in_the_instance_folder_once(tmp_path: Path) -> None:
    first = make_app(tmp_path, SECRET_KEY=None).config["SECRET_KEY"]
    again = make_app(tmp_path, SECRET_KEY=None).config["SECRET_KEY"]

    kept = tmp_path / "instance" / "secret_key"
    assert first == again == kept.read_text()
    assert len(first) == 64
    assert kept.stat().st_mode & 0o777 == 0o600
    assert [path.name for path in kept.parent.iterdir()] == ["secret_key"], "no draft left"


def test_workers_starting_together_keep_the_first_key(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    config_module._write_new_secret(path)
    first = path.read_text()

    config_module._write_new_secret(path)  # another worker that found no key a moment ago

    assert path.read_text() == first
    assert [item.name for item in tmp_path.iterdir()] == ["secret_key"]


def test_an_empty_kept_key_stops_the_app_saying_what_to_do(tmp_path: Path) -> None:
    kept = tmp_path / "instance" / "secret_key"
    kept.parent.mkdir()
    kept.write_text("\n")

    assert start_error(tmp_path, SECRET_KEY=None) == (
        f"SECRET_KEY is not set, and {kept} holds no key: delete that file so that a new key "
        "is made there, or set SECRET_KEY to a long random value, the same on every instance"
    )


WRITABLE = "QUESTIONNAIRE_INSTANCE_PATH to a folder the app may write to"


@pytest.mark.parametrize("where", ["a-file", "a-file/instance"])
def test_without_secret_key_the_instance_folder_must_be_able_to_keep_one(
    tmp_path: Path, where: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder\n")
    folder = tmp_path / where
    reason = "a file, not a folder" if where == "a-file" else "Not a directory"

    assert start_error(tmp_path, SECRET_KEY=None, INSTANCE_PATH=str(folder)) == (
        f"SECRET_KEY is not set, and the instance folder cannot keep one ({folder}: {reason}): "
        f"set SECRET_KEY to a long random value, the same on every instance, or {WRITABLE}"
    )


def test_without_database_url_the_instance_folder_must_be_able_to_hold_sqlite(
    tmp_path: Path,
) -> None:
    (tmp_path / "a-file").write_text("not a folder\n")
    folder = tmp_path / "a-file"

    assert start_error(tmp_path, SQLALCHEMY_DATABASE_URI=None, INSTANCE_PATH=str(folder)) == (
        "DATABASE_URL is not set, and the instance folder cannot hold the SQLite database "
        f"({folder}: a file, not a folder): set DATABASE_URL, or {WRITABLE}"
    )


def test_with_secret_key_and_database_url_the_instance_folder_is_not_needed(
    tmp_path: Path,
) -> None:
    # A read-only file system, say, given everything through the environment.
    folder = tmp_path / "instance"

    make_app(tmp_path, INSTANCE_PATH=str(folder))

    assert not folder.exists()
