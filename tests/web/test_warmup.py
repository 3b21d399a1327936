"""A worker compiles its templates and draws the rule set's fragments before its first request,
so no patient's request waits for that work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jinja2 import BaseLoader
from support.answer_sets import TYPICAL
from support.testapp import app_with

from questionnaire.web import prerender
from questionnaire.web.warmup import warm_up

# Every kind of page a patient sees; the last two with a finished questionnaire.
PATIENT_PAGES = ["/", "/questions/your-pain", "/guide", "/clear", "/check", "/sheet"]


class NoMoreLoading(AssertionError):
    pass


@pytest.fixture
def warmed(tmp_path: Path) -> Iterator[Flask]:
    app = app_with(tmp_path)
    compiled = warm_up(app)
    assert compiled == len(app.jinja_env.list_templates()) > 20
    yield app


def refuse_loading(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def get_source(*_args: Any, **_kwargs: Any) -> Any:
        raise NoMoreLoading("a template was loaded after warm-up")

    loader = app.jinja_env.loader
    assert isinstance(loader, BaseLoader)
    monkeypatch.setattr(loader, "get_source", get_source)


def test_after_warm_up_the_patient_pages_load_no_template(
    warmed: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_loading(warmed, monkeypatch)
    client = warmed.test_client()
    with client.session_transaction() as session:
        session["answers"] = TYPICAL
    for url in PATIENT_PAGES:
        assert client.get(url).status_code == 200, url


def test_after_warm_up_the_fragments_are_drawn_already(
    warmed: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def draw(_rs: Any) -> Any:
        raise AssertionError("a fragment was drawn after warm-up")

    monkeypatch.setattr(prerender, "_draw_controls", draw)
    monkeypatch.setattr(prerender, "_draw_sections", draw)
    assert warmed.test_client().get("/questions/your-pain").status_code == 200


def test_without_warm_up_the_first_page_loads_its_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the tests above guard against: a cold app does load templates on its first page.
    cold = app_with(tmp_path)
    refuse_loading(cold, monkeypatch)
    with pytest.raises(NoMoreLoading):
        cold.test_client().get("/questions/your-pain")


def test_with_template_auto_reload_there_is_nothing_to_warm(tmp_path: Path) -> None:
    app = app_with(tmp_path, TEMPLATES_AUTO_RELOAD=True)
    assert warm_up(app) == 0
