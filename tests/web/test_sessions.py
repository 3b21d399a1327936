"""The session cookie: remembered values open without the work, and exactly as a fresh check
would open them (signature, age, key rotation), each request with its own copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from support.testapp import app_with

from questionnaire.web import sessions
from questionnaire.web.sessions import RememberingSerializer

SECRET = "test-secret-key-not-for-production"


def make_app(tmp_path: Path, **config: Any) -> Flask:
    app = app_with(tmp_path, **{"SECRET_KEY": SECRET, **config})

    @app.get("/test/put")
    def put() -> str:
        session["answers"] = {"pain_duration": "6_to_12_weeks", "red_flags": ["none"]}
        return "put"

    @app.get("/test/change-in-place")
    def change_in_place() -> str:
        # Changes the nested value without telling the session: nothing is saved.
        session["answers"]["red_flags"].append("fever_or_chills")
        return repr(session["answers"]["red_flags"])

    @app.get("/test/read")
    def read() -> str:
        return repr(session.get("answers"))

    return app


def serializer(app: Flask) -> RememberingSerializer:
    made = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert isinstance(made, RememberingSerializer)
    return made


def cookie(client: FlaskClient) -> str:
    found = client.get_cookie("session")
    assert found is not None
    return found.value


def test_a_remembered_cookie_gives_each_request_its_own_copy(tmp_path: Path) -> None:
    client = make_app(tmp_path).test_client()
    client.get("/test/put")
    value = cookie(client)

    changed = client.get("/test/change-in-place").text

    assert changed == "['none', 'fever_or_chills']"
    assert cookie(client) == value, "an unmarked change in place is not saved"
    assert client.get("/test/read").text == (
        "{'pain_duration': '6_to_12_weeks', 'red_flags': ['none']}"
    )


def test_remembered_and_fresh_checks_open_a_cookie_alike(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    client = app.test_client()
    client.get("/test/put")
    value = cookie(client)
    plain = URLSafeTimedSerializer(
        SECRET,
        salt="cookie-session",
        serializer=serializer(app).serializer,
        signer_kwargs=serializer(app).signer_kwargs,
    )

    assert serializer(app).loads(value, max_age=60) == plain.loads(value, max_age=60)


def test_a_remembered_cookie_still_expires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(tmp_path)
    client = app.test_client()
    client.get("/test/put")
    value = cookie(client)
    signer = serializer(app)
    assert signer.loads(value, max_age=60)["answers"]["red_flags"] == ["none"]
    now = sessions.time.time()
    monkeypatch.setattr(sessions.time, "time", lambda: now + 61)

    with pytest.raises(SignatureExpired):
        signer.loads(value, max_age=60)


def test_the_session_lifetime_applies_to_remembered_cookies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_app(tmp_path, PERMANENT_SESSION_LIFETIME=60).test_client()
    client.get("/test/put")
    assert client.get("/test/read").text != "None"
    later = sessions.time.time() + 120
    # The one clock both this module and itsdangerous read.
    monkeypatch.setattr(sessions.time, "time", lambda: later)

    assert client.get("/test/read").text == "None"


def test_a_changed_cookie_is_refused_even_next_to_a_remembered_one(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    client = app.test_client()
    client.get("/test/put")
    value = cookie(client)
    signer = serializer(app)
    signer.loads(value, max_age=60)
    tampered = value[:-2] + ("AA" if not value.endswith("AA") else "BB")

    with pytest.raises(BadSignature):
        signer.loads(tampered, max_age=60)


def test_a_cookie_signed_with_another_key_opens_nothing(tmp_path: Path) -> None:
    first = make_app(tmp_path / "one")
    client = first.test_client()
    client.get("/test/put")
    value = cookie(client)
    other = make_app(tmp_path / "two", SECRET_KEY="another-secret-key-not-for-production")

    with pytest.raises(BadSignature):
        serializer(other).loads(value, max_age=60)


def test_the_remembered_values_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sessions, "MAX_REMEMBERED", 3)
    signer = serializer(make_app(tmp_path))
    values = [signer.dumps({"n": n}) for n in range(7)]

    assert len(signer._known) <= 3
    assert [signer.loads(value, max_age=60) for value in values] == [{"n": n} for n in range(7)]


def test_the_api_and_static_files_neither_read_nor_send_the_cookie(tmp_path: Path) -> None:
    client = make_app(tmp_path).test_client()
    client.get("/test/put")
    value = cookie(client)

    for response in (
        client.get("/api/v1/questionnaire"),
        client.post("/api/v1/evaluate", json={}),
        client.get("/static/css/main.css"),
    ):
        with response:
            assert response.status_code in (200, 422), response.request.path
            assert "Set-Cookie" not in response.headers
            assert "Cookie" not in response.headers.get("Vary", "")
    assert cookie(client) == value
    assert client.get("/test/read").text != "None", "the patient's own session is kept"


def test_session_data_is_copied_all_the_way_down() -> None:
    data = {"answers": {"red_flags": ["none"], "pain_score": 7}, "pair": ("a", ["b"])}

    copied = sessions._copy(data)

    assert copied == data
    copied["answers"]["red_flags"].append("fever_or_chills")
    copied["pair"][1].append("c")
    assert data == {"answers": {"red_flags": ["none"], "pain_score": 7}, "pair": ("a", ["b"])}
