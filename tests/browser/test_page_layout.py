"""Where links leave the patient, and pages that fit the screen: with JavaScript on and off."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from playwright.sync_api import Error, Page, expect

from questionnaire.engine import RuleSet

from .conftest import (
    DESKTOP,
    PHONE,
    TYPICAL_PATIENT,
    PatientAnswers,
    Session,
    complete_questionnaire,
    wait_for_path,
)

pytestmark = pytest.mark.browser

# The smallest screen the pages are made for (WCAG reflow: 320 CSS pixels wide).
NARROW = 320

# Where a question stands on the screen once a link has taken the patient to it: its legend
# or label (with the hint and error message under it) and the control the link names. The
# focused control is one of the question's (for a radio question, the chosen radio may be).
# A pixel is allowed for rounding.
QUESTION_IN_VIEW = """
(id) => {
  const input = document.getElementById(id);
  const group = input.closest(".form-group");
  const heading = group.querySelector("legend, label.label");
  const top = heading.getBoundingClientRect().top;
  const bottom = input.getBoundingClientRect().bottom;
  const focused = document.activeElement;
  return {
    heading: Math.round(top),
    input: Math.round(bottom),
    screen: window.innerHeight,
    inView: top > -1 && bottom <= window.innerHeight + 1,
    focus: focused ? focused.name : null,
    focusId: focused ? focused.id : null,
  };
}
"""


def assert_question_in_view(page: Page, question_id: str, control_id: str | None = None) -> None:
    """The question's legend or label, and its control, are on the screen, and the control
    has focus: the patient sees what the link was about, not a box without its question.

    ``control_id``: the control that must have focus (a radio question's chosen radio, say);
    without it, any control of the question."""
    target = control_id or question_id
    # Waits a little for the scrolling; if it never comes, the assertion says where things are.
    with contextlib.suppress(Error):
        page.wait_for_function(f"({QUESTION_IN_VIEW})({target!r}).inView", timeout=2_000)
    where = page.evaluate(QUESTION_IN_VIEW, target)
    assert where["inView"], (
        f"#{target} on {page.url}: its legend or label is at {where['heading']}px and "
        f"the control ends at {where['input']}px of a {where['screen']}px screen"
    )
    assert where["focus"] == question_id, f"focus is on {where['focus']!r}, not {question_id}"
    if control_id is not None:
        assert where["focusId"] == control_id, f"focus is on #{where['focusId']}, not {control_id}"


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_error_link_shows_the_question_with_its_legend(
    new_session: Callable[..., Session], javascript: bool, width: int
) -> None:
    page = new_session(javascript=javascript, width=width).page
    # The page with the longest question above its first control: a legend, a hint of four
    # lines and the error message.
    page.goto("/questions/blood-and-bleeding")
    page.get_by_role("button", name="Continue", exact=True).click()
    link = page.locator(".error-summary a[href='#blood_thinners']")
    expect(link).to_be_visible()

    link.click()

    assert_question_in_view(page, "blood_thinners")
    expect(page.locator("#blood_thinners__error")).to_be_in_viewport()


# Radio answers that are not the first choice (the second, third and last), to change.
CHANGING_PATIENT: PatientAnswers = {
    **TYPICAL_PATIENT,
    "blood-and-bleeding": {"blood_thinners": "no", "bleeding_disorder": "no"},
}

# Where a Change link must put focus: a radio question's chosen radio, where the arrow keys
# change the answer; a checkbox list's first box, under its legend; a text box itself.
CHANGE_TARGETS = {
    "blood_thinners": "blood_thinners-no",
    "pain_duration": "pain_duration-3_to_6_months",
    "pregnancy": "pregnancy-not_applicable",
    "diabetes": "diabetes",
    "pain_location": "pain_location",
    "diagnosis_details": "diagnosis_details",
}


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_change_link_shows_the_question_with_its_legend_or_label(
    new_session: Callable[..., Session], ruleset: RuleSet, javascript: bool, width: int
) -> None:
    page = new_session(javascript=javascript, width=width).page
    complete_questionnaire(page, ruleset, CHANGING_PATIENT)

    for question_id, control_id in CHANGE_TARGETS.items():
        question = ruleset.question_by_id[question_id]
        page.goto("/check")
        page.get_by_role("link", name=f"Change your answer to: {question.label}").click()
        wait_for_path(page, f"/questions/{ruleset.page_of_question[question_id]}")
        page.wait_for_load_state("load")
        assert page.url.endswith(f"?return=check#{control_id}"), page.url
        assert_question_in_view(page, question_id, control_id)
        if question.kind in ("one_of", "yes_no"):
            assert page.evaluate("() => document.activeElement.checked"), "not the chosen radio"


# A medicine's name typed with no spaces, as long as the box takes.
UNBROKEN = ("Apixabanfivemilligramstwiceaday" * 7)[:200]


@pytest.mark.parametrize("width", [NARROW, PHONE, DESKTOP])
def test_a_long_answer_with_no_spaces_wraps_on_check_answers(
    new_session: Callable[..., Session], ruleset: RuleSet, width: int
) -> None:
    page = new_session(width=width).page
    patient = {
        **TYPICAL_PATIENT,
        "blood-and-bleeding": {
            **TYPICAL_PATIENT["blood-and-bleeding"],
            "blood_thinner_name": UNBROKEN,
        },
    }
    complete_questionnaire(page, ruleset, patient)

    row = page.locator(".summary-list__row", has_text="Which blood thinner do you take?")
    expect(row.locator(".summary-list__value")).to_have_text(UNBROKEN)
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"/check is {widths[0]}px wide on a {widths[1]}px screen"
    # The row's Change link is not pushed off the side of the screen.
    box = row.get_by_role("link", name="Change").bounding_box()
    assert box is not None and box["x"] + box["width"] <= widths[1]
