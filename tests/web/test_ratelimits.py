"""Per-view rate limits work without Flask-Limiter's every-request check; app-wide limits, when
an operator sets them, still apply to every page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from support.testapp import app_with

from questionnaire.extensions import limiter
from questionnaire.web.config import ConfigError


def limited_app(tmp_path: Path, **config: Any) -> Flask:
    return app_with(tmp_path, **{"RATELIMIT_ENABLED": True, **config})


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


def header_hooks(app: Flask) -> list[Any]:
    return [
        hook
        for hook in app.after_request_funcs.get(None, [])
        if getattr(getattr(hook, "func", None), "__name__", "") == "__inject_headers"
    ]


def limiter_teardown(app: Flask) -> bool:
    return limiter._Limiter__release_context in app.teardown_request_funcs.get(None, [])  # type: ignore[attr-defined]


def test_without_app_wide_limits_or_headers_no_limiter_hook_runs_after_a_page(
    tmp_path: Path,
) -> None:
    app = limited_app(tmp_path)

    assert header_hooks(app) == []
    assert not limiter_teardown(app)


def test_rate_limit_headers_keep_the_hook_that_adds_them(tmp_path: Path) -> None:
    app = limited_app(tmp_path, RATELIMIT_HEADERS_ENABLED=True)

    assert len(header_hooks(app)) == 1
    assert limiter_teardown(app)


@pytest.mark.parametrize("key", ["API_RATE_LIMIT", "PDF_RATE_LIMIT"])
@pytest.mark.parametrize("value", ["lots", "10 per fortnight", "", 5, "1/second;5/minute"])
def test_a_rate_limit_setting_that_cannot_be_read_stops_the_app_with_its_name(
    tmp_path: Path, key: str, value: object
) -> None:
    with pytest.raises(ConfigError) as raised:
        limited_app(tmp_path, **{key: value})

    assert str(raised.value) == (
        f"{key}={value!r} is not allowed: write a rate limit as '<count> per <second, minute, "
        "hour or day>', for example '60 per minute'"
    )


def test_each_limited_view_counts_on_its_own(tmp_path: Path) -> None:
    app = limited_app(tmp_path, API_RATE_LIMIT="2 per minute", PDF_RATE_LIMIT="2 per minute")
    client = app.test_client()
    for _ in range(2):
        assert client.post("/api/v1/evaluate", json={}).status_code == 422

    assert client.post("/api/v1/evaluate", json={}).status_code == 429
    # The PDF has its own count: without answers it sends the patient back to the form.
    assert client.get("/sheet.pdf").status_code == 302


def test_switching_rate_limiting_off_lifts_every_view_limit(tmp_path: Path) -> None:
    app = limited_app(tmp_path, RATELIMIT_ENABLED=False, API_RATE_LIMIT="1 per minute")
    client = app.test_client()

    assert [client.post("/api/v1/evaluate", json={}).status_code for _ in range(3)] == [422] * 3
