"""A question page: drawn in full when it shows errors, otherwise filled into its frame.

Without errors, only the CSRF token and the answers in the fields differ between patients who
see the same page in the same place in the form, so the page is drawn once per shape
(``frames``) and each request puts its own token and answers in (``prerender.PageControls``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app, render_template, url_for
from markupsafe import Markup, escape

from questionnaire.engine import FieldError, RuleSet
from questionnaire.engine.definition import Page
from questionnaire.web.csrftoken import csrf_token
from questionnaire.web.formdata import FormValue
from questionnaire.web.frames import frame_cache, site_root
from questionnaire.web.pageform import PageField, page_fields
from questionnaire.web.prerender import page_controls
from questionnaire.web.progress import position, previous_page


def render_question_page(
    rs: RuleSet,
    page: Page,
    answers: Mapping[str, Any],
    returning: bool,
    values: Mapping[str, FormValue],
    errors: Sequence[FieldError] = (),
) -> str:
    previous = previous_page(rs, page.id, answers)
    if returning:
        back_url = url_for("patient.check")
    elif previous is not None:
        back_url = url_for("patient.question", page_id=previous.id)
    else:
        back_url = url_for("patient.start")
    fields = page_fields(rs, page, answers)
    where = position(rs, page.id, answers)
    controls = page_controls(rs)
    context = {"page": page, "fields": fields, "position": where, "back_url": back_url}
    if errors or current_app.jinja_env.auto_reload:
        return render_template(
            "patient/question.html",
            controls=controls,
            values=values,
            errors=list(errors),
            error_for={error.field: error.message for error in errors},
            **context,
        )

    # Without errors, only the token and the answers differ between patients (frames.py).
    def draw(markers: Sequence[Markup]) -> str:
        return render_template(
            "patient/question.html",
            controls=_FieldSlots(fields, markers[1:]),
            values={},
            errors=[],
            error_for={},
            csrf_token=lambda: markers[0],
            **context,
        )

    shape = (
        rs.sha256,
        page.id,
        tuple(field.shape for field in fields),
        where,
        back_url,
        site_root(),
    )
    frame = frame_cache().get(shape, draw, slots=1 + len(fields))
    answers_html = [controls.draw(field, values) for field in fields]
    return frame.fill([escape(csrf_token()), *answers_html])


class _FieldSlots:
    """Stands in for PageControls while a frame is drawn: each field is its slot's marker."""

    def __init__(self, fields: Sequence[PageField], markers: Sequence[Markup]) -> None:
        pairs = zip(fields, markers, strict=True)
        self._markers = {field.question.id: marker for field, marker in pairs}

    def draw(self, field: PageField, values: Any) -> Markup:
        return self._markers[field.question.id]
