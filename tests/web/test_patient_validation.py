"""Bad answers: a GOV.UK error summary, the message beside the field, nothing typed is lost."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from patient_forms import Patient
from support.answer_sets import TYPICAL

from questionnaire.engine import RuleSet


def summary_errors(page: str) -> list[tuple[str, str]]:
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert summary, "no error summary"
    links = re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', summary.group(0))
    return [(field, html.unescape(message)) for field, message in links]


def field_error(page: str, field: str) -> str:
    match = re.search(
        rf'<p id="{field}__error" class="error-message">'
        r'<span class="visually-hidden">Error:</span> ([^<]+)</p>',
        page,
    )
    assert match, f"no error message beside {field}"
    return html.unescape(match.group(1))


CASES = [
    pytest.param(
        "your-pain",
        {},
        "pain_duration",
        "Select how long you have had this back pain",
        id="missing-required",
    ),
    pytest.param(
        "your-pain",
        {"pain_duration": "forever"},
        "pain_duration",
        "Select one of the options shown for how long you have had this pain",
        id="invalid-choice",
    ),
    pytest.param(
        "warning-signs",
        {"red_flags": ["none", "fever_or_chills"]},
        "red_flags",
        "Select 'None of these' on its own for signs that need help right away, "
        "or untick it and select the options that apply",
        id="none-with-another-choice",
    ),
    pytest.param(
        "warning-signs",
        {},
        "red_flags",
        "Select the signs that apply to you now, or select none of these",
        id="nothing-ticked",
    ),
    pytest.param(
        "your-pain",
        {"pain_duration": "6_to_12_weeks", "pain_score": "11"},
        "pain_score",
        "Your pain score must be a number from 0 to 10",
        id="number-out-of-range",
    ),
    pytest.param(
        "your-pain",
        {"pain_duration": "6_to_12_weeks", "pain_score": "seven"},
        "pain_score",
        "Your pain score must be a whole number from 0 to 10, like 5",
        id="number-not-numeric",
    ),
    pytest.param(
        "last-things",
        {"anything_else": "x" * 501},
        "anything_else",
        "Anything else for your doctor must be 500 characters or fewer",
        id="long-text-too-long",
    ),
    pytest.param(
        "blood-and-bleeding",
        {"blood_thinners": "yes", "blood_thinner_name": "w" * 201},
        "blood_thinner_name",
        "The name of your blood thinner must be 200 characters or fewer",
        id="short-text-too-long",
    ),
    pytest.param(
        "allergies",
        {"allergies": ["latex", "other"], "allergy_other": "p" * 201},
        "allergy_other",
        "Other allergies must be 200 characters or fewer",
        id="follow-up-text-too-long",
    ),
    pytest.param(
        "allergies",
        {"allergies": ["none", "latex"]},
        "allergies",
        "Select 'None of these' on its own for allergies, "
        "or untick it and select the options that apply",
        id="allergies-none-with-another-choice",
    ),
]


@pytest.mark.parametrize(("page_id", "answers", "field", "message"), CASES)
def test_a_bad_answer_gets_the_error_summary_and_the_message_beside_its_field(
    patient: Patient, page_id: str, answers: dict[str, Any], field: str, message: str
) -> None:
    response = patient.answer_page(page_id, answers)

    assert response.status_code == 200
    page = response.text
    assert re.search(r"<title>Error: [^<]+</title>", page)
    assert 'role="alert" tabindex="-1"' in page
    assert "There is a problem" in page
    assert (field, message) in summary_errors(page)
    assert field_error(page, field) == message
    # The summary links to the field's first input, which the message describes.
    assert re.search(rf'id="{field}"', page)
    assert re.search(rf'aria-describedby="[^"]*{field}__error[^"]*"', page)
    assert 'class="form-group form-group--error"' in page


def test_every_error_on_a_page_is_listed_in_page_order(patient: Patient) -> None:
    response = patient.answer_page("your-pain", {"pain_location": ["ankle"], "pain_score": "-1"})

    assert summary_errors(response.text) == [
        ("pain_duration", "Select how long you have had this back pain"),
        ("pain_location", "Select only the options listed for where your pain is"),
        ("pain_score", "Your pain score must be a number from 0 to 10"),
    ]


def test_each_summary_message_names_its_question_on_a_page_of_several(
    patient: Patient, ruleset: RuleSet
) -> None:
    # Every question of the page answered wrongly: the summary lists them away from their
    # fields, so each message must say which question it is about, as beside the field.
    response = patient.answer_page(
        "blood-and-bleeding",
        {"blood_thinners": "yes", "blood_thinner_name": "\x07", "bleeding_disorder": "often"},
    )

    errors = summary_errors(response.text)
    assert [field for field, _ in errors] == [
        "blood_thinner_name",
        "bleeding_disorder",
    ]
    for field, message in errors:
        short_label = ruleset.question_by_id[field].short_label
        assert short_label is not None
        assert short_label.lower() in message.lower(), (field, message)
        assert field_error(response.text, field) == message


def test_what_the_patient_typed_is_shown_again_even_when_invalid(patient: Patient) -> None:
    response = patient.answer_page(
        "your-pain",
        {
            "pain_duration": "3_to_6_months",
            "pain_location": ["neck", "lower_back"],
            "pain_score": "eleven",
        },
    )

    page = response.text
    assert re.search(r'id="pain_duration-3_to_6_months"[^>]*checked', page)
    assert re.search(r'id="pain_location"[^>]*value="lower_back" checked', page)
    assert re.search(r'id="pain_location-neck"[^>]*value="neck" checked', page)
    assert re.search(r'id="pain_score"[^>]*value="eleven"', page)


def test_typed_text_comes_back_escaped(patient: Patient) -> None:
    typed = '<script>alert("x")</script> & more'
    response = patient.answer_page("last-things", {"anything_else": typed + "y" * 500})

    assert "<script>alert" not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in response.text


def test_a_failed_page_stores_nothing_and_keeps_earlier_answers(patient: Patient) -> None:
    patient.answer_page("your-pain", {"pain_duration": "over_6_months", "pain_score": "4"})

    patient.answer_page("your-pain", {"pain_duration": "under_6_weeks", "pain_score": "99"})

    assert patient.saved_answers() == {"pain_duration": "over_6_months", "pain_score": 4}


def test_two_values_for_a_single_answer_are_refused(patient: Patient) -> None:
    response = patient.answer_page(
        "your-pain", {"pain_duration": ["under_6_weeks", "over_6_months"]}
    )

    assert (
        "pain_duration",
        "Select one of the options shown for how long you have had this pain",
    ) in summary_errors(response.text)
    assert patient.saved_answers() == {}


def test_fields_of_other_pages_in_a_post_are_ignored(patient: Patient) -> None:
    response = patient.post(
        "/questions/your-pain", {"pain_duration": "under_6_weeks", "blood_thinners": "yes"}
    )

    assert response.status_code == 302
    assert patient.saved_answers() == {"pain_duration": "under_6_weeks"}


def test_a_blank_optional_answer_is_not_stored(patient: Patient) -> None:
    patient.complete(TYPICAL)

    patient.answer_page("last-things", {"anything_else": "   "})

    assert "anything_else" not in patient.saved_answers()
