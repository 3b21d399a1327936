"""The app's Flask class asks whether a function is ``async def`` once per function."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from questionnaire.web import flaskapp
from questionnaire.web.flaskapp import QuestionnaireFlask


def view() -> str:
    return "plain"


def test_a_plain_function_is_used_as_it_is_and_checked_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = QuestionnaireFlask("check")
    checks: list[Any] = []
    original = Flask.ensure_sync

    def counting(self: Flask, func: Any) -> Any:
        checks.append(func)
        return original(self, func)

    monkeypatch.setattr(Flask, "ensure_sync", counting)
    assert app.ensure_sync(view) is view
    assert app.ensure_sync(view) is view
    assert checks == [view]


def test_requests_run_their_hooks_and_views_through_it() -> None:
    app = QuestionnaireFlask("check")
    seen: list[str] = []

    @app.before_request
    def before() -> None:
        seen.append("before")

    app.add_url_rule("/", view_func=view)
    for _ in range(2):
        assert app.test_client().get("/").get_data(as_text=True) == "plain"
    assert seen == ["before", "before"]
    assert view in app._synced


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flaskapp, "MAX_REMEMBERED", 3)
    app = QuestionnaireFlask("check")
    functions = [lambda n=n: n for n in range(5)]
    for function in functions:
        assert app.ensure_sync(function) is function
    assert len(app._synced) == 3
