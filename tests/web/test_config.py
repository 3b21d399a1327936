"""Settings from the environment and the instance folder: a value that cannot be used stops the
app at start, naming the setting and what is allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from questionnaire import create_app
from questionnaire.clinic import jsontext
from questionnaire.web.config import ConfigError


def make_app(tmp_path: Path, **config: Any) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
            **config,
        }
    )


@pytest.mark.parametrize("value", ["maybe", "2", "ja"])
def test_secure_cookies_must_be_a_yes_or_no(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SECURE_COOKIES", value)

    with pytest.raises(ConfigError) as raised:
        make_app(tmp_path)

    assert str(raised.value) == (
        f"SECURE_COOKIES={value!r} is not allowed: use one of 1, true, yes, on, 0, false, no, off"
    )


@pytest.mark.parametrize("value", ["-1", "eleven", "11", "1.5", "\u00b2", "\u0661"])
def test_proxy_hops_must_be_a_small_whole_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PROXY_HOPS", value)

    with pytest.raises(ConfigError) as raised:
        make_app(tmp_path)

    assert str(raised.value) == (
        f"PROXY_HOPS={value!r} is not allowed: use a whole number from 0 to 10"
    )


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

    with pytest.raises(ConfigError) as raised:
        make_app(tmp_path)

    assert str(raised.value) == message


@pytest.mark.parametrize(
    "sender", [None, "", "security", "Security <security@clinic>", "a@b.c\nBcc: x@y.z"]
)
def test_notices_need_one_sender_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sender: str | None
) -> None:
    monkeypatch.setenv("MAIL_URL", "smtps://mail.example.org")
    if sender is not None:
        monkeypatch.setenv("MAIL_FROM", sender)

    with pytest.raises(ConfigError) as raised:
        make_app(tmp_path)

    assert str(raised.value) == (
        f"MAIL_FROM={sender or None!r} is not allowed: give the address notices come from, like "
        "'Clinic security <security@clinic.example.org>' or security@clinic.example.org"
    )


def test_a_backend_chosen_in_the_instance_config_needs_a_sender_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MAIL_FROM=None is not allowed"):
        make_app(tmp_path, MAIL_BACKEND="console")
    app = make_app(tmp_path, MAIL_BACKEND="console", MAIL_FROM=SENDER)
    assert app.config["MAIL_DEFAULT_SENDER"] == SENDER
