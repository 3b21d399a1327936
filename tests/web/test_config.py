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


@pytest.mark.parametrize("value", ["-1", "eleven", "11", "1.5"])
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
