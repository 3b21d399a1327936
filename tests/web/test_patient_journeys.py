"""Patients walking through the form: order, progress, branching, back and change links."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from patient_forms import Patient, csrf_token, path_of
from support.answer_sets import TYPICAL
from support.testapp import app_with

from questionnaire.engine import RuleSet, load_ruleset
from questionnaire.web.pageform import page_fields

RULES = Path(__file__).resolve().parents[2] / "rules"

EVERY_FOLLOW_UP: dict[str, Any] = {
    **TYPICAL,
    "earlier_injections": "yes",
    "injection_relief": "1_to_3_months",
    "diagnosis_given": "yes",
    "diagnosis_details": "A slipped disc",
    "blood_thinners": "yes",
    "blood_thinner_name": "Apixaban 5 mg",
    "diabetes": "yes",
    "diabetes_control": "not_sure",
    "allergies": ["latex", "other"],
    "allergy_other": "Plasters",
}


def text_of(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.text))


def test_a_patient_with_no_risks_sees_every_page_in_order_then_checks(
    patient: Patient, ruleset: RuleSet
) -> None:
    visited = patient.complete(TYPICAL)

    pages = [f"/questions/{page.id}" for page in ruleset.questionnaire.pages]
    assert visited == [*pages, "/check"]
    assert patient.saved_answers() == TYPICAL


def test_progress_counts_only_pages_that_are_asked(patient: Patient, ruleset: RuleSet) -> None:
    total = len(ruleset.questionnaire.pages)
    first, second = ruleset.questionnaire.pages[:2]

    assert f"Page 1 of {total}" in patient.get(f"/questions/{first.id}").text
    assert f"Page 2 of {total}" in patient.get(f"/questions/{second.id}").text


def test_the_start_button_opens_the_first_page(patient: Patient, ruleset: RuleSet) -> None:
    start = patient.get("/")

    first = ruleset.questionnaire.pages[0].id
    assert re.search(rf'href="/questions/{first}"[^>]*class="button button--start"', start.text)


def test_a_red_flag_interrupts_with_the_urgent_page_then_continues(patient: Patient) -> None:
    patient.answer_page("your-pain", TYPICAL)
    flagged = {"red_flags": ["saddle_numbness", "fever_or_chills"]}

    response = patient.answer_page("warning-signs", flagged)

    assert path_of(response) == "/urgent"
    urgent = patient.get("/urgent")
    page = text_of(urgent)
    assert "Get medical help now" in page
    assert "Numbness in your groin, buttocks or inner thighs" in page
    assert "Fever or chills along with your back pain" in page
    assert "None of these" not in page
    assert "call your local emergency number or go to an emergency department now" in page.lower()
    onward = r'href="/questions/care-so-far"[^>]*>Continue with the questions<'
    assert re.search(onward, urgent.text)


def test_the_urgent_page_without_red_flags_goes_back_to_the_start(patient: Patient) -> None:
    patient.answer_page("your-pain", TYPICAL)
    patient.answer_page("warning-signs", {"red_flags": ["none"]})

    assert path_of(patient.get("/urgent")) == "/"


def test_ticking_a_red_flag_from_check_answers_continues_back_to_check(patient: Patient) -> None:
    patient.complete(TYPICAL)

    response = patient.answer_page(
        "warning-signs", {"red_flags": ["recent_major_injury"]}, "?return=check"
    )

    assert path_of(response) == "/urgent"
    urgent = patient.get("/urgent")
    assert re.search(r'href="/check"[^>]*>Continue to check your answers<', urgent.text)


def test_every_follow_up_is_asked_and_shown_on_check_answers(
    patient: Patient, ruleset: RuleSet
) -> None:
    patient.complete(EVERY_FOLLOW_UP)

    assert patient.saved_answers() == ruleset.validate(EVERY_FOLLOW_UP)
    check = text_of(patient.get("/check"))
    for qid in ("injection_relief", "diagnosis_details", "blood_thinner_name", "allergy_other"):
        assert ruleset.question_by_id[qid].label in check
    assert "Apixaban 5 mg" in check
    assert "1 to 3 months" in check
    assert "Plasters" in check


def test_follow_ups_on_the_same_page_are_marked_as_conditional(
    patient: Patient, ruleset: RuleSet
) -> None:
    follow_ups = [
        (page, question)
        for page in ruleset.questionnaire.pages
        for question in page.questions
        if question.enable_when is not None
    ]
    assert follow_ups, "the rule set has follow-up questions"
    for page, question in follow_ups:
        response = patient.get(f"/questions/{page.id}")
        block = re.search(
            rf'<div class="conditional" id="conditional-{question.id}"([^>]*)>\s*'
            rf'<p class="conditional__note" id="{question.id}__condition">([^<]+)</p>',
            response.text,
        )
        assert block, f"{question.id} is not marked as a follow-up"
        assert html.unescape(block.group(2)).startswith("Answer only if you ")
        assert 'data-reveal-field="' in block.group(1)


def test_a_follow_up_note_names_the_choice_that_asks_it(patient: Patient) -> None:
    page = text_of(patient.get("/questions/blood-and-bleeding"))
    assert "Answer only if you chose Yes" in page

    allergies = text_of(patient.get("/questions/allergies"))
    assert "Answer only if you ticked Something else" in allergies


def test_a_hidden_follow_up_answer_is_dropped(patient: Patient) -> None:
    patient.answer_page("your-pain", TYPICAL)

    response = patient.answer_page(
        "blood-and-bleeding", {"blood_thinners": "no", "blood_thinner_name": "Warfarin"}
    )

    assert response.status_code == 302
    answers = patient.saved_answers()
    assert answers["blood_thinners"] == "no"
    assert "blood_thinner_name" not in answers


def test_changing_the_parent_answer_drops_the_saved_follow_up(patient: Patient) -> None:
    patient.complete(EVERY_FOLLOW_UP)

    patient.answer_page("blood-and-bleeding", {"blood_thinners": "not_sure"}, "?return=check")

    answers = patient.saved_answers()
    assert answers["blood_thinners"] == "not_sure"
    assert "blood_thinner_name" not in answers
    assert "Apixaban" not in patient.get("/check").text
    assert "Apixaban" not in patient.get("/sheet").text


def test_the_back_link_leads_to_the_previous_page_with_its_answers_as_left(
    patient: Patient,
) -> None:
    patient.answer_page("your-pain", {**TYPICAL, "pain_score": "7", "pain_location": ["neck"]})

    second = patient.get("/questions/warning-signs")
    assert re.search(r'<a href="/questions/your-pain" class="back-link">Back</a>', second.text)

    first = patient.get("/questions/your-pain")
    assert re.search(
        r'id="pain_duration-6_to_12_weeks"[^>]*value="6_to_12_weeks" checked', first.text
    )
    assert re.search(r'id="pain_location-neck"[^>]*value="neck" checked', first.text)
    assert 'id="pain_score" name="pain_score"' in first.text
    assert re.search(r'id="pain_score"[^>]*value="7"', first.text)
    assert '<a href="/" class="back-link">Back</a>' in first.text


def test_a_change_link_comes_back_to_check_answers(patient: Patient) -> None:
    patient.complete(TYPICAL)
    check = patient.get("/check")
    change = "/questions/blood-and-bleeding?return=check"
    # "No" was chosen: the link goes to that radio, where the answer is changed from.
    assert f'href="{change}#blood_thinners-no"' in check.text

    page = patient.get(change)
    assert '<a href="/check" class="back-link">Back</a>' in page.text
    assert re.search(r'id="blood_thinners-no"[^>]*value="no" checked', page.text)

    response = patient.answer_page("blood-and-bleeding", {"blood_thinners": "yes"}, "?return=check")
    assert path_of(response) == "/check"
    assert patient.saved_answers()["blood_thinners"] == "yes"


def change_links(check_html: str) -> dict[str, tuple[str, str]]:
    """Each Change link on "Check your answers": question label -> (page address, target)."""
    links = re.findall(
        r'<a href="([^"#]+)#([^"]+)">Change<span class="visually-hidden"> your answer to: '
        r"([^<]+)</span></a>",
        check_html,
    )
    return {html.unescape(label): (html.unescape(url), target) for url, target, label in links}


def test_each_change_link_targets_where_the_answer_is_changed(
    patient: Patient, ruleset: RuleSet
) -> None:
    # The chosen radio of a radio question (wherever it is in the list), else the question's
    # first input: the browser focuses it without JavaScript, as enhance.js does with it.
    answers = ruleset.validate(
        EVERY_FOLLOW_UP | {"pregnancy": "not_applicable", "driver": "not_sure"}
    )
    patient.complete(answers)
    links = change_links(patient.get("/check").text)
    asked = ruleset.visible_questions(answers)
    assert sorted(links) == sorted(q.label for q in asked)
    radios_not_first = 0
    for question in asked:
        url, target = links[question.label]
        page = patient.get(url).text
        inputs = re.findall(r"<(?:input|textarea) [^>]*>", page)
        first = next(tag for tag in inputs if f'name="{question.id}"' in tag)
        if question.kind in ("one_of", "yes_no") and question.id in answers:
            chosen = next(
                tag for tag in inputs if f'name="{question.id}"' in tag and " checked" in tag
            )
            assert f'id="{target}"' in chosen, (question.id, target, chosen)
            radios_not_first += chosen != first
        else:
            assert target == question.id, (question.id, target)
            assert f'id="{target}"' in first
    assert radios_not_first >= 3, "the answers must choose radios other than the first"


def test_a_change_link_to_an_unanswered_radio_question_targets_its_first_radio(
    patient: Patient,
) -> None:
    patient.complete(TYPICAL)
    links = change_links(patient.get("/check").text)
    url, target = links["Can someone drive you home after an injection?"]
    assert (url, target) == ("/questions/last-things?return=check", "driver")


def test_check_answers_sends_an_unfinished_patient_to_the_first_incomplete_page(
    patient: Patient,
) -> None:
    assert path_of(patient.get("/check")) == "/questions/your-pain"

    patient.answer_page("your-pain", TYPICAL)
    assert path_of(patient.get("/check")) == "/questions/warning-signs"
    assert path_of(patient.get("/sheet")) == "/questions/warning-signs"


def test_an_unknown_page_is_not_found(patient: Patient) -> None:
    response = patient.get("/questions/no-such-page")

    assert response.status_code == 404
    assert "Page not found" in response.text


def test_answers_survive_a_new_request_in_a_lasting_cookie(patient: Patient) -> None:
    response = patient.answer_page("your-pain", TYPICAL)

    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie
    assert patient.saved_answers()["pain_duration"] == "6_to_12_weeks"


def test_clearing_answers_asks_first_then_removes_them_but_keeps_the_clinic(
    patient: Patient,
) -> None:
    patient.complete(TYPICAL)
    with patient.client.session_transaction() as session:
        session["clinic_slug"] = "north-clinic"

    confirm = patient.get("/clear")
    assert "Are you sure you want to start again?" in confirm.text
    assert patient.saved_answers() == TYPICAL

    response = patient.client.post("/clear", data={"csrf_token": csrf_token(confirm.text)})

    assert path_of(response) == "/"
    assert patient.saved_answers() == {}
    with patient.client.session_transaction() as session:
        assert session["clinic_slug"] == "north-clinic"
    assert "Your answers have been cleared from this browser." in patient.get("/").text


# -- a rule set with a required follow-up on a later page ------------------------------------

SUGAR_PAGE = """
  - id: sugar-checks
    title: Checking your blood sugar
    questions:
      - id: sugar_meter
        kind: yes_no
        label: Can you check your blood sugar at home?
        enable_when:
          equals: {field: diabetes, value: "yes"}
"""


@pytest.fixture
def sugar_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    with (rules / "questionnaire.yaml").open("a") as handle:
        handle.write(SUGAR_PAGE)
    return rules


@pytest.fixture
def sugar_app(sugar_rules: Path, tmp_path: Path) -> Flask:
    return app_with(tmp_path, RULES_DIR=str(sugar_rules))


def test_a_question_added_to_the_rules_gets_its_own_page(
    sugar_app: Flask, sugar_rules: Path
) -> None:
    patient = Patient(sugar_app.test_client(), load_ruleset(sugar_rules))
    patient.answer_page("your-pain", TYPICAL)
    patient.answer_page("diabetes", {"diabetes": "yes"})

    page = patient.get("/questions/sugar-checks")

    assert page.status_code == 200
    assert "Checking your blood sugar" in page.text
    assert (
        '<legend class="fieldset__legend">Can you check your blood sugar at home?</legend>'
        in page.text
    )
    assert 'type="radio" value="yes"' in page.text


def test_a_page_whose_questions_are_all_hidden_is_skipped(
    sugar_app: Flask, sugar_rules: Path
) -> None:
    patient = Patient(sugar_app.test_client(), load_ruleset(sugar_rules))

    visited = patient.complete(TYPICAL)

    assert "/questions/sugar-checks" not in visited
    assert path_of(patient.get("/questions/sugar-checks")) == "/check"
    pages = len(patient.rs.questionnaire.pages)
    assert f"Page 1 of {pages - 1}" in patient.get("/questions/your-pain").text


def test_a_change_that_asks_a_new_required_question_continues_to_it(
    sugar_app: Flask, sugar_rules: Path
) -> None:
    patient = Patient(sugar_app.test_client(), load_ruleset(sugar_rules))
    patient.complete(TYPICAL)

    response = patient.answer_page("diabetes", {"diabetes": "yes"}, "?return=check")

    assert path_of(response) == "/questions/sugar-checks?return=check"
    assert path_of(patient.get("/check")) == "/questions/sugar-checks"
    response = patient.answer_page("sugar-checks", {"sugar_meter": "yes"}, "?return=check")
    assert path_of(response) == "/check"


def test_page_fields_hide_a_question_from_another_page_until_it_is_asked(
    ruleset: RuleSet, sugar_rules: Path
) -> None:
    rs = load_ruleset(sugar_rules)
    page = rs.page_by_id["sugar-checks"]

    assert page_fields(rs, page, {"diabetes": "no"}) == []
    (field,) = page_fields(rs, page, {"diabetes": "yes"})
    assert field.question.id == "sugar_meter"
    assert field.reveal is None
