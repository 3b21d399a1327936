"""A question page's CSRF token is signed once per session and stays valid; with a time limit
on tokens, each page gets a freshly signed one, as flask-wtf gives it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask
from patient_forms import csrf_token
from support.answer_sets import TYPICAL
from support.testapp import app_with

PAGE = "/questions/your-pain"


def later(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    now = time.time()
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: now + seconds)


def test_a_session_keeps_its_token_and_it_still_works(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    first = csrf_token(client.get(PAGE).text)
    later(monkeypatch, 90)
    again = csrf_token(client.get(PAGE).text)
    other = csrf_token(app.test_client().get(PAGE).text)

    assert again == first
    assert other != first
    answers = {"pain_duration": TYPICAL["pain_duration"], "csrf_token": again}
    assert client.post(PAGE, data=answers).status_code == 302


def test_with_a_time_limit_every_page_gets_a_fresh_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_with(tmp_path, WTF_CSRF_TIME_LIMIT=3600)
    client = app.test_client()
    first = csrf_token(client.get(PAGE).text)
    later(monkeypatch, 90)

    again = csrf_token(client.get(PAGE).text)

    assert again != first
    answers = {"pain_duration": TYPICAL["pain_duration"], "csrf_token": again}
    assert client.post(PAGE, data=answers).status_code == 302
