"""Fixtures shared by every test folder.

On CI (``CI`` set to anything but empty/0/false) a test that needs Chromium, PostgreSQL or
Redis fails instead of skipping when that service is missing: call ``require(...)``.

Sign-in accepts each TOTP code once, so signing one person in twice within 30 seconds needs
the next code. Rather than wait for it, tests move on the clock that sign-in counts TOTP time
steps on (``totp_clock``, in place in every test; tests/clinic/helpers.py moves it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.testapp import app_with

from questionnaire.engine import RuleSet, load_ruleset

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def require(available: bool, what: str) -> None:
    """Skip when ``what`` is missing on a developer machine; fail on CI, where it must exist."""
    if available:
        return
    if on_ci():
        pytest.fail(f"{what} is required on CI but is not available", pytrace=False)
    pytest.skip(f"{what} is not available")


class TotpClock:
    """Seconds since the epoch for ``auth.totp_time``: the real time, moved on by ``advance``."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds


@pytest.fixture(autouse=True)
def totp_clock(monkeypatch: pytest.MonkeyPatch) -> TotpClock:
    """The clock of TOTP time steps in sign-in, for this test; it starts at the real time."""
    from questionnaire.clinic import auth

    clock = TotpClock()
    monkeypatch.setattr(auth, "totp_time", clock)
    return clock


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    return load_ruleset(RULES_DIR)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = app_with(tmp_path)
    with app.app_context():
        from questionnaire.extensions import db

        db.create_all()
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
