"""The start page and the markup of question pages, generated from the questionnaire."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from patient_forms import csrf_token

from questionnaire.engine import RuleSet


def plain(text: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", text))


def test_the_start_page_says_what_this_is_and_is_not(client: FlaskClient) -> None:
    page = plain(client.get("/").text)

    assert "It takes about 5 to 10 minutes." in page
    assert "This is not a diagnosis." in page
    assert "it does not give treatment advice" in page
    assert "Do not start, stop or change any medicine" in page
    assert "call your local emergency number now" in page
    for sign in (
        "new trouble controlling your bladder or bowels",
        "numbness in your groin or saddle area",
        "weakness in one or both legs that is getting worse",
        "a fever or chills",
    ):
        assert sign in page
    assert "Your answers stay in this browser session." in page
    assert "They are not sent to anyone unless you choose to send them." in page
    assert re.search(r'class="button button--start"> Start now <svg', page)


def test_every_question_of_the_rules_is_on_its_page(client: FlaskClient, ruleset: RuleSet) -> None:
    for page in ruleset.questionnaire.pages:
        text = plain(client.get(f"/questions/{page.id}").text)
        assert f"<h1>{page.title}</h1>" in text
        for question in page.questions:
            assert question.label in text
            if question.hint:
                hint = f'<div id="{question.id}__hint" class="hint"> ?{re.escape(question.hint)}'
                assert re.search(hint, text), question.id
            for choice in question.options:
                assert f'name="{question.id}"' in text
                assert f'value="{choice.id}"' in text
                assert choice.label in text


def questions_of_kind(ruleset: RuleSet, *kinds: str) -> list[tuple[str, str]]:
    return [
        (page.id, question.id)
        for page in ruleset.questionnaire.pages
        for question in page.questions
        if question.kind in kinds
    ]


def test_choice_questions_are_fieldsets_with_a_legend(
    client: FlaskClient, ruleset: RuleSet
) -> None:
    for page_id, qid in questions_of_kind(ruleset, "one_of", "yes_no", "any_of"):
        question = ruleset.question_by_id[qid]
        text = plain(client.get(f"/questions/{page_id}").text)
        kind = "checkbox" if question.kind == "any_of" else "radio"
        fieldset = re.search(
            rf'<fieldset class="fieldset"[^>]*>\s*'
            rf'<legend class="fieldset__legend">{re.escape(question.label)}</legend>',
            text,
        )
        assert fieldset, qid
        first = question.options[0].id
        assert re.search(rf'id="{qid}" name="{qid}" type="{kind}" value="{first}"', text), qid


def test_none_of_these_comes_last_after_an_or(client: FlaskClient) -> None:
    text = client.get("/questions/warning-signs").text

    block = text[text.index('<div class="choices__divider">or</div>') :]
    assert re.search(r'id="red_flags-none"[^>]*value="none"[^>]*data-behaviour="exclusive"', block)
    assert text.index('value="unexplained_weight_loss"') < text.index('value="none"')


def test_number_questions_take_digits_and_say_the_range(
    client: FlaskClient, ruleset: RuleSet
) -> None:
    for page_id, qid in questions_of_kind(ruleset, "number"):
        question = ruleset.question_by_id[qid]
        text = plain(client.get(f"/questions/{page_id}").text)
        assert f'<label class="label" for="{qid}">{question.label}</label>' in text
        assert re.search(rf'id="{qid}"[^>]*type="text" inputmode="numeric"', text)
        assert f"Enter a whole number from {question.minimum} to {question.maximum}." in text
        assert re.search(rf'id="{qid}"[^>]*aria-describedby="{qid}__hint"', text)


@pytest.mark.parametrize(
    ("qid", "tag"), [("anything_else", "textarea"), ("blood_thinner_name", "input")]
)
def test_long_text_gets_a_text_area_and_short_text_a_line(
    client: FlaskClient, ruleset: RuleSet, qid: str, tag: str
) -> None:
    page_id = ruleset.page_of_question[qid]
    text = client.get(f"/questions/{page_id}").text

    assert re.search(rf'<{tag} class="[^"]*" id="{qid}" name="{qid}"', text)


def test_every_text_box_says_how_many_characters_it_takes(
    client: FlaskClient, ruleset: RuleSet
) -> None:
    text_questions = questions_of_kind(ruleset, "short_text")
    limits = {ruleset.question_by_id[qid].text_limit for _, qid in text_questions}
    assert limits == {200, 500}  # the one-line boxes and the larger box alike
    for page_id, qid in text_questions:
        question = ruleset.question_by_id[qid]
        text = plain(client.get(f"/questions/{page_id}").text)
        limit = f"You can enter up to {question.text_limit} characters."
        expected = f"{question.hint} {limit}" if question.hint else limit
        hint = re.search(rf'<div id="{qid}__hint" class="hint">([^<]*)</div>', text)
        assert hint, qid
        assert hint.group(1).strip() == expected, qid
        assert re.search(rf'id="{qid}"[^>]*aria-describedby="[^"]*{qid}__hint', text), qid


def test_every_id_on_a_question_page_is_unique_and_each_choice_hint_describes_its_choice(
    client: FlaskClient, ruleset: RuleSet
) -> None:
    # A repeated id sends a screen reader to the first element that has it: the hint of a
    # question's first choice would be read as the question's own hint, and not with the box.
    for page in ruleset.questionnaire.pages:
        text = client.get(f"/questions/{page.id}").text
        ids = re.findall(r'\sid="([^"]+)"', text)
        assert len(ids) == len(set(ids)), (page.id, sorted(i for i in ids if ids.count(i) > 1))
        for question in page.questions:
            for choice in question.options:
                if choice.hint:
                    hint_id = f"{question.id}-{choice.id}__hint"
                    assert f'<div id="{hint_id}" class="hint choices__hint">' in text
                    assert re.search(rf'value="{choice.id}" aria-describedby="{hint_id}"', text)


def test_a_text_answer_over_the_limit_keeps_the_limit_in_view(
    client: FlaskClient, ruleset: RuleSet
) -> None:
    page = client.get("/questions/blood-and-bleeding").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = {"csrf_token": token.group(1), "blood_thinners": "yes", "bleeding_disorder": "no"}

    response = client.post(
        "/questions/blood-and-bleeding", data={**form, "blood_thinner_name": "x" * 201}
    )

    text = plain(response.text)
    assert "The name of your blood thinner must be 200 characters or fewer" in text
    assert "If you know it, add the dose too. You can enter up to 200 characters." in text
    assert re.search(
        r'id="blood_thinner_name"[^>]*aria-describedby="blood_thinner_name__condition '
        r'blood_thinner_name__hint blood_thinner_name__error"',
        text,
    )


def test_a_follow_up_is_described_by_its_condition(client: FlaskClient) -> None:
    text = client.get("/questions/blood-and-bleeding").text

    assert re.search(
        r'<div class="conditional" id="conditional-blood_thinner_name" '
        r'data-reveal-field="blood_thinners" data-reveal-values="yes">',
        text,
    )
    assert re.search(
        r'id="blood_thinner_name"[^>]*'
        r'aria-describedby="blood_thinner_name__condition blood_thinner_name__hint"',
        text,
    )


# A follow-up asked by one choice comes right after that choice's item, inside the question's
# list of choices, before its other choices (the GOV.UK conditional reveal).
FOLLOW_UP_UNDER_CHOICE = (
    r'<input class="choices__input" id="[^"]+" name="{parent}" type="(?:radio|checkbox)" '
    r'value="{value}"[^>]*>\s*<label [^>]*>[^<]*</label>\s*'
    r'(?:<div [^>]*class="hint choices__hint">[^<]*</div>\s*)?</div>\s*'
    r'<div class="conditional" id="conditional-{follow_up}" '
)
CONDITIONAL = re.compile(
    r'<div class="conditional" id="conditional-([^"]+)" '
    r'data-reveal-field="([^"]+)" data-reveal-values="([^" ]+)">'
)
FOLLOW_UPS = {
    "injection_relief": ("earlier_injections", "yes"),
    "diagnosis_details": ("diagnosis_given", "yes"),
    "blood_thinner_name": ("blood_thinners", "yes"),
    "diabetes_control": ("diabetes", "yes"),
    "allergy_other": ("allergies", "other"),
}
# Posts that give each page with a follow-up an error, in the question or its follow-up:
# such a page is drawn by the macros rather than put together from pre-drawn parts.
BAD_POSTS: dict[str, dict[str, Any]] = {
    "care-so-far": {"earlier_injections": "yes"},
    "cause-and-scans": {"diagnosis_given": "maybe"},
    "blood-and-bleeding": {"blood_thinner_name": "Warfarin"},
    "diabetes": {"diabetes_control": "yes"},
    "allergies": {"allergies": ["other"], "allergy_other": "x" * 201},
}


@pytest.mark.parametrize("with_errors", [False, True], ids=["no-errors", "errors"])
def test_a_follow_up_sits_right_under_the_choice_that_asks_it(
    client: FlaskClient, ruleset: RuleSet, with_errors: bool
) -> None:
    found: dict[str, tuple[str, str]] = {}
    for page in ruleset.questionnaire.pages:
        url = f"/questions/{page.id}"
        text = client.get(url).text
        if with_errors and page.id in BAD_POSTS:
            data = {**BAD_POSTS[page.id], "csrf_token": csrf_token(text)}
            text = client.post(url, data=data).text
            assert "There is a problem" in text, page.id
        for follow_up, parent, value in CONDITIONAL.findall(text):
            found[follow_up] = (parent, value)
            under = FOLLOW_UP_UNDER_CHOICE.format(parent=parent, value=value, follow_up=follow_up)
            assert re.search(under, text), f"{follow_up} is not right under {parent}={value}"
            # Inside the question's fieldset: no fieldset closes between its first input and
            # the follow-up.
            start = text.index(f'id="{parent}"')
            assert "</fieldset>" not in text[start : text.index(f"conditional-{follow_up}")]
    assert found == FOLLOW_UPS


def test_a_follow_up_with_an_error_stays_under_its_choice(client: FlaskClient) -> None:
    url = "/questions/allergies"
    data = {**BAD_POSTS["allergies"], "csrf_token": csrf_token(client.get(url).text)}
    text = client.post(url, data=data).text

    assert re.findall(r'<li><a href="#([^"]+)">', text) == ["allergy_other"]
    where = [
        text.index(marker)
        for marker in (
            'id="allergies-other"',
            'id="allergy_other__error"',
            'id="allergy_other"',
            'id="allergies-not_sure"',
        )
    ]
    assert where == sorted(where)
    assert re.search(r'id="allergies-other"[^>]*value="other" checked', text)


def test_pages_load_the_enhancement_script_and_both_stylesheets(client: FlaskClient) -> None:
    text = client.get("/").text

    assert '<script src="/static/js/enhance.js" defer></script>' in text
    assert '<link rel="stylesheet" href="/static/css/main.css">' in text
    assert '<link rel="stylesheet" href="/static/css/print.css">' in text


def test_the_print_stylesheet_hides_controls_and_sets_margins(client: FlaskClient) -> None:
    css = client.get("/static/css/print.css")
    text = css.text
    css.close()

    assert "@page" in text
    assert "@media print" in text
    print_rules = text[text.index("@media print") :]
    for hidden in (".header", ".footer", ".button", ".back-link", ".summary-list__actions"):
        assert re.search(rf"{re.escape(hidden)},?\s", print_rules)
    assert "display: none !important" in print_rules
