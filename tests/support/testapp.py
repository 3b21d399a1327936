"""An app for one test: its own instance folder and SQLite file, cookies for plain HTTP and
rate limits off, with the test's own settings on top."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from questionnaire import create_app


def base_settings(tmp_path: Path) -> dict[str, Any]:
    """Testing on, a test secret key, and an instance folder and SQLite file in ``tmp_path``:
    the settings every test app has, leaving the rest to the environment and the defaults."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
    }


def app_with(tmp_path: Path, **config: Any) -> Flask:
    return create_app(
        {
            **base_settings(tmp_path),
            "SECURE_COOKIES": False,
            "RATELIMIT_ENABLED": False,
            **config,
        }
    )
