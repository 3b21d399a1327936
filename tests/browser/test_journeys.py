"""Whole patient journeys in a real browser: mouse, keyboard only, JavaScript off, red flags."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from questionnaire.engine import Result, RuleSet

from .conftest import (
    RED_FLAG_PATIENT,
    TYPICAL_PATIENT,
    Session,
    answer_page,
    assert_error_summary_links_to_fields,
    complete_questionnaire,
    expected_result,
    flat_answers,
    page_title,
    path_of,
    wait_for_path,
)

pytestmark = pytest.mark.browser


def assert_sheet_matches(page: Page, result: Result) -> None:
    """Every tailored question, note and guide section is on the sheet with its "why" line.

    A run of questions brought by the same reason shows the line once, on the first of them.
    """
    main = page.locator("main")
    lines = [(q.text, q.because.reason) for q in result.questions]
    lines += [(note.text, note.because.reason) for note in result.care_team_notes]
    for text, reason in lines:
        entry = main.locator(".ask-list__item", has_text=text)
        expect(entry).to_have_count(1)
        if entry.locator(".because").count() == 0:
            entry = entry.locator(
                "xpath=preceding-sibling::li[.//*[contains(@class, 'because')]][1]"
            )
        expect(entry.locator(".because")).to_have_text(f"Why you are seeing this: {reason}")
    for section in result.sections:
        block = main.locator(f"section#{section.id}")
        expect(block.locator("h3")).to_have_text(section.title)
        expect(block.locator(".because")).to_have_text(
            f"Why you are seeing this: {section.because.reason}"
        )
    expect(main).to_contain_text(result.disclaimer)


def test_typical_patient_clicks_through_to_a_tailored_sheet(page: Page, ruleset: RuleSet) -> None:
    seen = complete_questionnaire(page, ruleset, TYPICAL_PATIENT)

    assert seen == [p.id for p in ruleset.questionnaire.pages]
    expect(page).to_have_title(page_title("Check your answers"))
    expect(page.locator("main")).to_contain_text("Apixaban 5 mg twice a day")
    page.get_by_role("button", name="Build my sheet").click()

    assert path_of(page) == "/sheet"
    result = expected_result(ruleset, TYPICAL_PATIENT)
    assert not result.urgent
    assert result.questions and result.care_team_notes and result.sections
    expect(page.locator(".urgent-box")).to_have_count(0)
    assert_sheet_matches(page, result)
    # With JavaScript on, the Print button replaces the "use your browser's Print" hint.
    expect(page.get_by_role("button", name="Print this sheet")).to_be_visible()


# --- keyboard only ----------------------------------------------------------------------------

# A visible focus indicator: an outline that is drawn (not "none", not transparent, not 0 wide)
# or a box shadow, on the element, or for a styled radio or checkbox on its label's box.
FOCUS_INDICATOR = """
() => {
  const element = document.activeElement;
  if (!element || element === document.body) return "nothing has focus";
  const drawn = (style) => {
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0
      && !/rgba\\(.*,\\s*0\\)$|transparent/.test(style.outlineColor);
    return outline || (style.boxShadow && style.boxShadow !== "none");
  };
  const candidates = [getComputedStyle(element)];
  if (element.id) {
    const label = document.querySelector(`label[for="${element.id}"]`);
    if (label) {
      candidates.push(getComputedStyle(label), getComputedStyle(label, "::before"),
                      getComputedStyle(label, "::after"));
    }
  }
  return candidates.some(drawn) ? "" : `no visible focus on ${element.outerHTML.slice(0, 120)}`;
}
"""

MAX_TABS = 80


def tab_to(page: Page, selector: str, *, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the element matching ``selector`` has focus."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} never got focus with {key} on {page.url}")


def assert_focus_visible(page: Page) -> None:
    problem = page.evaluate(FOCUS_INDICATOR)
    assert problem == "", problem


# Only what Tab, Shift+Tab and Space can choose: the first radio of a group (Tab enters a
# group on its first button), the last one (Shift+Tab enters it on its last), any checkbox,
# and text typed into a box. Steps: (selector, "tab" or "shift-tab" to reach it, text or None
# to press Space).
KEYBOARD_PATIENT: dict[str, list[tuple[str, str, str | None]]] = {
    "your-pain": [("input[name='pain_duration'][value='under_6_weeks']", "tab", None)],
    "warning-signs": [("input[name='red_flags'][value='none']", "tab", None)],
    "care-so-far": [("input[name='conservative_care'][value='home_exercise']", "tab", None)],
    "blood-and-bleeding": [
        ("input[name='blood_thinners'][value='yes']", "tab", None),
        ("#blood_thinner_name", "tab", "Warfarin"),
    ],
    "diabetes": [("input[name='diabetes'][value='yes']", "tab", None)],
    "infection": [("input[name='infection'][value='not_sure']", "shift-tab", None)],
}
KEYBOARD_ANSWERS = {
    "pain_duration": "under_6_weeks",
    "red_flags": ["none"],
    "conservative_care": ["home_exercise"],
    "blood_thinners": "yes",
    "blood_thinner_name": "Warfarin",
    "diabetes": "yes",
    "infection": "not_sure",
}


def test_keyboard_only_patient_reaches_the_sheet(page: Page, ruleset: RuleSet) -> None:
    page.goto("/")
    tab_to(page, "a.button--start")
    assert_focus_visible(page)
    page.keyboard.press("Enter")

    radio_focus_seen = False
    for form_page in ruleset.questionnaire.pages:
        wait_for_path(page, f"/questions/{form_page.id}")
        for selector, direction, text in KEYBOARD_PATIENT.get(form_page.id, []):
            tab_to(page, selector, backwards=direction == "shift-tab")
            if text is not None:
                page.keyboard.type(text)
                continue
            if page.evaluate("document.activeElement.type") == "radio":
                assert_focus_visible(page)
                radio_focus_seen = True
            page.keyboard.press("Space")
            assert page.locator(selector).is_checked(), f"Space did not choose {selector}"
        tab_to(page, "button[type='submit']")
        assert_focus_visible(page)
        page.keyboard.press("Enter")

    wait_for_path(page, "/check")
    assert radio_focus_seen
    tab_to(page, "a[href='/sheet']")
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    wait_for_path(page, "/sheet")
    assert_sheet_matches(page, ruleset.evaluate(ruleset.validate(KEYBOARD_ANSWERS)))


# --- follow-up questions -----------------------------------------------------------------------


def top_of(page: Page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box["y"]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_follow_up_sits_right_under_its_choice(
    new_session: Callable[..., Session], javascript: bool
) -> None:
    page = new_session(javascript=javascript).page
    page.goto("/questions/allergies")
    follow_up = page.locator("#conditional-allergy_other")
    if javascript:
        # Hidden until its choice is ticked, then revealed in place.
        expect(follow_up).to_be_hidden()
        page.locator("#allergies-latex").check()
        expect(follow_up).to_be_hidden()
        page.locator("#allergies-other").check()
        expect(page.locator("#allergies-other")).to_have_attribute(
            "aria-controls", "conditional-allergy_other"
        )
    else:
        # Shown, and saying which choice it belongs to.
        expect(follow_up.locator(".conditional__note")).to_have_text(
            "Answer only if you ticked Something else"
        )
        expect(page.locator("#allergy_other")).to_have_attribute(
            "aria-describedby", "allergy_other__condition allergy_other__hint"
        )
    expect(follow_up).to_be_visible()

    # On the screen between its choice and the next choice, not after "None of these".
    assert top_of(page, "label[for='allergies-other']") < top_of(page, "#allergy_other")
    assert top_of(page, "#allergy_other") < top_of(page, "label[for='allergies-not_sure']")
    # And in the same place for the keyboard: Tab goes from the choice to the box.
    page.locator("#allergies-other").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#allergy_other")).to_be_focused()
    page.keyboard.type("Penicillin")
    page.keyboard.press("Tab")
    expect(page.locator("#allergies-not_sure")).to_be_focused()

    if javascript:
        page.locator("#allergies-other").uncheck()
        expect(follow_up).to_be_hidden()


# --- JavaScript off ---------------------------------------------------------------------------


def test_javascript_off_journey_with_errors_follow_ups_back_and_change(
    new_session: Callable[..., Session], ruleset: RuleSet
) -> None:
    page = new_session(javascript=False).page
    page.goto("/")
    page.get_by_role("button", name="Start now").click()
    wait_for_path(page, "/questions/your-pain")

    # Nothing answered: the error summary lists each problem and links to its field.
    page.get_by_role("button", name="Continue", exact=True).click()
    assert_error_summary_links_to_fields(page)
    assert page.title().startswith("Error: ")
    expect(page.locator("#pain_duration__error")).to_be_visible()
    page.locator(".error-summary a").first.click()
    assert page.url.endswith("#pain_duration")
    answer_page(page, ruleset, TYPICAL_PATIENT["your-pain"])

    answer_page(page, ruleset, TYPICAL_PATIENT["warning-signs"])

    # A follow-up on the same page is sent by the server and shown, with when to answer it.
    wait_for_path(page, "/questions/care-so-far")
    follow_up = page.locator("#conditional-injection_relief")
    expect(follow_up).to_be_visible()
    expect(follow_up.locator(".conditional__note")).to_have_text("Answer only if you chose Yes")
    answer_page(
        page,
        ruleset,
        {
            "conservative_care": ["home_exercise", "heat_or_cold"],
            "earlier_injections": "yes",
            "injection_relief": "1_to_3_months",
        },
    )

    # Back restores the page as it was left.
    wait_for_path(page, "/questions/cause-and-scans")
    page.get_by_role("link", name="Back", exact=True).click()
    wait_for_path(page, "/questions/care-so-far")
    for name, value in [
        ("conservative_care", "home_exercise"),
        ("conservative_care", "heat_or_cold"),
        ("earlier_injections", "yes"),
        ("injection_relief", "1_to_3_months"),
    ]:
        expect(page.locator(f"input[name='{name}'][value='{value}']")).to_be_checked()
    expect(
        page.locator("input[name='conservative_care'][value='physical_therapy']")
    ).not_to_be_checked()
    page.get_by_role("button", name="Continue", exact=True).click()

    for page_id in [p.id for p in ruleset.questionnaire.pages][3:]:
        wait_for_path(page, f"/questions/{page_id}")
        answer_page(page, ruleset, TYPICAL_PATIENT[page_id])

    wait_for_path(page, "/check")
    main = page.locator("main")
    expect(main).to_contain_text("How long did the last injection help?")
    expect(main).to_contain_text("1 to 3 months")

    # Change: back to the page, and straight back to the summary after Continue.
    page.locator("a[href*='/questions/care-so-far'][href*='#earlier_injections']").click()
    wait_for_path(page, "/questions/care-so-far")
    assert page.url.endswith("?return=check#earlier_injections"), page.url
    expect(page.get_by_role("link", name="Back", exact=True)).to_have_attribute("href", "/check")
    page.locator("input[name='earlier_injections'][value='no']").check()
    page.get_by_role("button", name="Continue", exact=True).click()
    wait_for_path(page, "/check")
    # The follow-up is no longer asked, so its answer is gone from the summary.
    expect(main).not_to_contain_text("How long did the last injection help?")
    row = main.locator(".summary-list__row", has_text="Have you had an injection")
    expect(row.locator(".summary-list__value")).to_have_text("No")

    page.get_by_role("button", name="Build my sheet").click()
    wait_for_path(page, "/sheet")
    answers = {
        **flat_answers(TYPICAL_PATIENT),
        "conservative_care": ["home_exercise", "heat_or_cold"],
        "earlier_injections": "no",
    }
    assert_sheet_matches(page, ruleset.evaluate(ruleset.validate(answers)))
    # Without JavaScript there is no Print button; the page says how to print instead.
    expect(page.get_by_role("button", name="Print this sheet")).to_be_hidden()
    expect(
        page.get_by_text("To print this sheet, use your browser's Print command.")
    ).to_be_visible()


# --- red flags --------------------------------------------------------------------------------


def test_red_flag_patient_is_interrupted_and_the_sheet_leads_with_urgent_help(
    page: Page, ruleset: RuleSet
) -> None:
    page.goto("/")
    page.get_by_role("button", name="Start now").click()
    answer_page(page, ruleset, RED_FLAG_PATIENT["your-pain"])
    answer_page(page, ruleset, RED_FLAG_PATIENT["warning-signs"])

    wait_for_path(page, "/urgent")
    expect(page.locator("h1")).to_have_text("Get medical help now")
    red_flags = ruleset.question_by_id["red_flags"]
    ticked = page.locator(".urgent-box li")
    expect(ticked).to_have_text(
        [red_flags.label_of(v) for v in RED_FLAG_PATIENT["warning-signs"]["red_flags"]]
    )
    page.get_by_role("button", name="Continue with the questions").click()

    wait_for_path(page, "/questions/care-so-far")
    seen = complete_questionnaire(page, ruleset, RED_FLAG_PATIENT, from_start=False)
    assert seen[0] == "care-so-far"
    page.get_by_role("button", name="Build my sheet").click()
    wait_for_path(page, "/sheet")

    result = expected_result(ruleset, RED_FLAG_PATIENT)
    assert result.urgent and len(result.urgent_reasons) == 2
    urgent = page.locator("main .urgent-box")
    expect(urgent).to_be_visible()
    expect(urgent.locator("li")).to_have_text(result.urgent_reasons)
    # It leads: right after the page heading, before anything else on the sheet.
    first_after_heading = page.locator("main h1 + *")
    expect(first_after_heading).to_have_class("urgent-box")
    assert_sheet_matches(page, result)
