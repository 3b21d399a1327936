"""The personalised sheet: what each kind of patient must and must not see, and the guide."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from support.answer_sets import TYPICAL

from questionnaire.engine import RuleSet
from questionnaire.web.sheetview import long_date

URGENT_TITLE = "Get medical help now"
CANNOT_ASSESS = "This questionnaire cannot assess these signs."


def sheet_for(client: FlaskClient, answers: dict[str, Any]) -> str:
    with client.session_transaction() as session:
        session["answers"] = answers
    response = client.get("/sheet")
    assert response.status_code == 200, response.headers.get("Location")
    return html.unescape(re.sub(r"\s+", " ", response.text))


def item_ids(rs: RuleSet, answers: dict[str, Any]) -> set[str]:
    result = rs.evaluate(rs.validate(answers))
    return (
        {f"section:{item.id}" for item in result.sections}
        | {f"question:{item.id}" for item in result.questions}
        | {f"note:{item.id}" for item in result.care_team_notes}
    )


def text_of_item(rs: RuleSet, item: str) -> str:
    kind, _, item_id = item.partition(":")
    if kind == "section":
        return rs.section_by_id[item_id].title
    if kind == "question":
        return next(q.text for q in rs.bank if q.id == item_id)
    return next(n.text for n in rs.notes if n.id == item_id)


# answers on top of TYPICAL | urgent | items that must be on the sheet | items that must not
SHEETS = [
    pytest.param(
        {},
        False,
        {"question:ask-right-for-me", "section:what-are-injections"},
        {"note:tell-blood-thinners", "note:tell-diabetes", "section:urgent-help"},
        id="no-risks",
    ),
    pytest.param(
        {"blood_thinners": "yes", "blood_thinner_name": "Warfarin"},
        False,
        {"note:tell-blood-thinners", "question:ask-blood-thinner-plan", "section:blood-thinners"},
        {"note:tell-blood-thinners-unsure"},
        id="blood-thinner",
    ),
    pytest.param(
        {"blood_thinners": "not_sure"},
        False,
        {"note:tell-blood-thinners-unsure", "section:blood-thinners"},
        {"note:tell-blood-thinners"},
        id="not-sure-about-blood-thinners-is-treated-with-care",
    ),
    pytest.param(
        {"diabetes": "not_sure"},
        False,
        {"note:tell-diabetes-unsure", "section:diabetes-steroids"},
        set(),
        id="not-sure-about-diabetes-is-treated-with-care",
    ),
    pytest.param(
        {"infection": "yes"},
        False,
        {"note:tell-infection", "section:infection"},
        set(),
        id="infection",
    ),
    pytest.param(
        {"red_flags": ["bladder_or_bowel_change", "unexplained_weight_loss"]},
        True,
        {"note:tell-urgent-symptoms", "section:urgent-help"},
        set(),
        id="red-flags",
    ),
]


@pytest.mark.parametrize(("extra", "urgent", "must", "must_not"), SHEETS)
def test_the_sheet_shows_what_the_answers_call_for(
    client: FlaskClient,
    ruleset: RuleSet,
    extra: dict[str, Any],
    urgent: bool,
    must: set[str],
    must_not: set[str],
) -> None:
    answers = {**TYPICAL, **extra}
    items = item_ids(ruleset, answers)
    assert must <= items, f"the rules no longer add {must - items}"
    assert not (must_not & items), f"the rules now add {must_not & items}"

    page = sheet_for(client, answers)

    for item in must:
        assert text_of_item(ruleset, item) in page
    for item in must_not:
        if item.startswith("section:"):
            # Sections not picked are still one click away, as links to the guide.
            section_id = item.partition(":")[2]
            assert f'<a href="/guide#{section_id}">' in page
            assert f'id="{section_id}"' not in page
        else:
            assert text_of_item(ruleset, item) not in page
    assert (URGENT_TITLE in page) is urgent
    assert (CANNOT_ASSESS in page) is urgent


@pytest.mark.parametrize("extra", [p.values[0] for p in SHEETS])
def test_every_item_of_the_result_is_on_the_sheet_with_its_reason(
    client: FlaskClient, ruleset: RuleSet, extra: dict[str, Any]
) -> None:
    answers = {**TYPICAL, **extra}
    result = ruleset.evaluate(ruleset.validate(answers))

    page = sheet_for(client, answers)

    for question in result.questions:
        assert question.text in page
        assert f"Why you are seeing this: {question.because.reason}" in page
    for note in result.care_team_notes:
        assert note.text in page
        assert f"Why you are seeing this: {note.because.reason}" in page
    for section in result.sections:
        assert f'id="{section.id}"' in page
        assert f"Why you are seeing this: {section.because.reason}" in page
        for paragraph in section.body.split("\n\n"):
            assert f"<p>{' '.join(paragraph.split())}</p>" in page
    for reason in result.urgent_reasons:
        assert " ".join(reason.split()) in page
    assert " ".join(result.disclaimer.split()) in page


def test_the_urgent_message_leads_the_sheet(client: FlaskClient) -> None:
    page = sheet_for(client, {**TYPICAL, "red_flags": ["saddle_numbness"]})

    main = page[page.index("<main") :]
    assert main.index(URGENT_TITLE) < main.index("Tell your care team")
    assert main.index(URGENT_TITLE) < main.index("Questions to ask your doctor")
    assert main.index(URGENT_TITLE) < main.index("From the guide")


def test_questions_to_ask_have_a_box_to_tick_and_lines_for_notes(client: FlaskClient) -> None:
    page = sheet_for(client, TYPICAL)

    questions = page[page.index("Questions to ask your doctor") :]
    assert '<span class="tick-box" aria-hidden="true"></span>' in questions
    assert '<span class="note-lines" aria-hidden="true">' in questions
    assert "<input" not in page.split("<main", 1)[1]


def test_the_sheet_is_dated_and_stamped_with_the_rule_set(
    client: FlaskClient, ruleset: RuleSet
) -> None:
    page = sheet_for(client, TYPICAL)

    assert f"Made on {long_date(date.today())}." in page
    # The version is for the clinic, on paper, in plain words.
    version = f"Questionnaire version {ruleset.version} ({ruleset.sha256[:12]})."
    assert f'<span class="print-inline"> {version}</span>' in page
    assert "Rule set" not in page


@pytest.mark.parametrize(
    ("day", "text"),
    [(date(2026, 11, 24), "24 November 2026"), (date(2027, 3, 5), "5 March 2027")],
)
def test_dates_are_written_out_in_words(day: date, text: str) -> None:
    assert long_date(day) == text


def test_the_sheet_offers_print_pdf_and_a_place_for_sending(client: FlaskClient) -> None:
    page = sheet_for(client, TYPICAL)

    assert (
        '<button type="button" class="button" data-module="print" hidden>Print this sheet</button>'
        in page
    )
    assert "To print this sheet, use your browser's Print command." in page
    assert 'href="/sheet.pdf?paper=a4"' in page
    assert 'href="/sheet.pdf?paper=letter"' in page


def test_answers_hidden_by_branching_never_reach_the_sheet(
    client: FlaskClient, ruleset: RuleSet
) -> None:
    hidden = {**TYPICAL, "blood_thinners": "no", "blood_thinner_name": "Warfarin"}

    page = sheet_for(client, hidden)

    assert "Warfarin" not in page
    assert item_ids(ruleset, hidden) == item_ids(ruleset, TYPICAL)


def test_an_unfinished_patient_is_sent_to_the_missing_page(client: FlaskClient) -> None:
    with client.session_transaction() as session:
        session["answers"] = {"pain_duration": "under_6_weeks"}

    for url in ("/sheet", "/sheet.pdf"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"] == "/questions/warning-signs"


def test_answers_saved_under_an_older_rule_set_are_asked_again(client: FlaskClient) -> None:
    with client.session_transaction() as session:
        session["answers"] = {**TYPICAL, "diabetes": "sometimes", "retired_question": "x"}

    response = client.get("/sheet")

    assert response.status_code == 302
    assert response.headers["Location"] == "/questions/diabetes"


def test_the_guide_has_every_section_with_a_table_of_contents(
    client: FlaskClient, ruleset: RuleSet
) -> None:
    response = client.get("/guide")

    assert response.status_code == 200
    page = html.unescape(re.sub(r"\s+", " ", response.text))
    contents = page[page.index("Contents") : page.index("</nav>")]
    for section in ruleset.guide:
        assert f'<a href="#{section.id}">{section.title}</a>' in contents
        assert f'<section class="guide-section" id="{section.id}"' in page
        for paragraph in section.paragraphs:
            assert f"<p>{' '.join(paragraph.split())}</p>" in page
