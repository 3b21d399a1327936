"""Per-view rate limits work without Flask-Limiter's every-request check; app-wide limits, when
an operator sets them, still apply to every page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from questionnaire import create_app
from questionnaire.extensions import limiter


def limited_app(tmp_path: Path, **config: Any) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
            "SECURE_COOKIES": False,
            "RATELIMIT_ENABLED": True,
            **config,
        }
    )


def every_request_check(app: Flask) -> bool:
    return limiter._check_request_limit in app.before_request_funcs[None]


def test_without_app_wide_limits_pages_skip_the_limit_check(tmp_path: Path) -> None:
    app = limited_app(tmp_path)

    assert not every_request_check(app)
    client = app.test_client()
    for _ in range(30):
        assert client.get("/guide").status_code == 200


@pytest.fixture
def forget_default_limits() -> Iterator[None]:
    # The limiter is shared by every app in the process and keeps default limits once set.
    yield
    limiter.limit_manager.set_default_limits([])


@pytest.mark.usefixtures("forget_default_limits")
def test_an_app_wide_default_limit_still_applies_to_every_page(tmp_path: Path) -> None:
    app = limited_app(tmp_path, RATELIMIT_DEFAULT="2 per minute")

    assert every_request_check(app)
    client = app.test_client()
    assert [client.get("/guide").status_code for _ in range(3)] == [200, 200, 429]
