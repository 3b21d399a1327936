"""Fixtures shared by every test folder.

On CI (``CI`` set to anything but empty/0/false) a test that needs Chromium, PostgreSQL or
Redis fails instead of skipping when that service is missing: call ``require(...)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from questionnaire import create_app
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


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    return load_ruleset(RULES_DIR)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
            "SECURE_COOKIES": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        from questionnaire.extensions import db

        db.create_all()
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
