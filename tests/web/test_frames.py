"""Pages drawn once per shape: each patient still gets their own token, answers and links, and
nothing of one patient reaches another."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from flask import Flask, g, request, session
from flask.testing import FlaskClient
from markupsafe import Markup
from patient_forms import csrf_token
from support.answer_sets import TYPICAL

from questionnaire.clinic import store
from questionnaire.web.frames import draw_frame, split_at

PAGE = "/questions/your-pain"


def with_answers(client: FlaskClient, answers: dict[str, Any]) -> None:
    with client.session_transaction() as session:
        session["answers"] = answers


def squeeze(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def checked(html: str) -> set[str]:
    return set(re.findall(r'id="([^"]+)"[^>]*\bchecked\b', html))


def test_two_patients_on_the_same_page_each_see_their_own_answers_and_token(
    app: Flask,
) -> None:
    first, second = app.test_client(), app.test_client()
    with_answers(first, {"pain_duration": "under_6_weeks", "pain_score": 3})
    with_answers(second, {"pain_duration": "over_6_months", "pain_score": 9})

    one = first.get(PAGE).text
    two = second.get(PAGE).text

    assert checked(one) == {"pain_duration"}
    assert checked(two) == {"pain_duration-over_6_months"}
    assert 'value="3"' in one and 'value="9"' not in one
    assert 'value="9"' in two and 'value="3"' not in two
    assert csrf_token(one) != csrf_token(two)
    assert first.get(PAGE).text == one  # the same patient again: the same page


def test_a_typed_answer_is_escaped_in_the_page(client: FlaskClient) -> None:
    with_answers(
        client,
        {**TYPICAL, "blood_thinners": "yes", "blood_thinner_name": '<b>"W&B"</b>'},
    )

    html = client.get("/questions/blood-and-bleeding").text

    assert "&lt;b&gt;&#34;W&amp;B&#34;&lt;/b&gt;" in html
    assert "<b>" not in html


def test_one_patients_clinic_link_never_reaches_anothers_sheet(app: Flask) -> None:
    with app.app_context():
        store.create_clinic("north", "North Spine Clinic")
    from_clinic, on_their_own = app.test_client(), app.test_client()
    for client in (from_clinic, on_their_own):
        with_answers(client, TYPICAL)
    with from_clinic.session_transaction() as session:
        session["clinic_slug"] = "north"
    link = "Send my answers to North Spine Clinic"

    # Either may be the first to draw the shared sheet; neither order may mix them up.
    first = from_clinic.get("/sheet").text
    second = on_their_own.get("/sheet").text
    third = from_clinic.get("/sheet").text

    assert link in first and link in third
    assert link not in second
    # Apart from the link, the two sheets are the same page.
    without_link = re.sub(
        r"<p><a href=\"/send\".*?</p>\s*<p class=\"secondary-text\">.*?</p>", "", first
    )
    assert squeeze(without_link) == squeeze(second)


@pytest.mark.parametrize(
    ("html", "problem"),
    [("<p>A</p>", "missing"), ("<p>A</p><!--a--><!--a-->", "twice"), ("<!--b--><!--a-->", "order")],
)
def test_a_page_that_does_not_show_each_slot_once_in_order_is_refused(
    html: str, problem: str
) -> None:
    with pytest.raises(RuntimeError, match="exactly once, in order"):
        split_at(html, ["<!--a-->", "<!--b-->"])


def test_a_page_is_cut_at_its_slots() -> None:
    frame = split_at("<p><!--a--></p><p><!--b--></p>", ["<!--a-->", "<!--b-->"])

    assert frame.fill(["one", "two"]) == "<p>one</p><p>two</p>"
    with pytest.raises(ValueError, match="2 slots got 1 values"):
        frame.fill(["one"])


def test_a_frame_is_drawn_without_the_requests_session_or_globals(app: Flask) -> None:
    seen: dict[str, Any] = {}

    def draw(markers: Sequence[Markup]) -> str:
        seen.update(session=dict(session), g=list(g), path=request.path)
        return f"<p>{markers[0]}</p>"

    with app.test_request_context("/sheet"):
        session["answers"] = TYPICAL
        g.secret = "staff member"
        frame = draw_frame(draw, slots=1)

    assert seen == {"session": {}, "g": [], "path": "/sheet"}
    assert frame.fill(["x"]) == "<p>x</p>"
