"""Every red flag's message asks for the same thing the sheet's urgent box asks: medical help
now, today, not at the appointment. A message that said "soon" under a box that says "now"
left the patient to pick one (safety principle 2 of the product)."""

from __future__ import annotations

import re
from pathlib import Path

from questionnaire.engine import RuleSet

SOFTER = re.compile(r"\b(soon|prompt|promptly|when you can|next few days)\b", re.IGNORECASE)


def test_every_urgent_reason_asks_for_a_check_today(ruleset: RuleSet) -> None:
    reasons = {rule.id: rule.add.urgent_reason for rule in ruleset.rules if rule.add.urgent_reason}
    assert len(reasons) >= 7  # one per red flag
    for rule_id, reason in reasons.items():
        assert "today" in reason and "Do not wait for your appointment" in reason, rule_id
        assert not SOFTER.search(reason), f"{rule_id}: {reason}"


def test_the_guide_section_on_getting_help_says_no_less(ruleset: RuleSet) -> None:
    (section,) = [section for section in ruleset.guide if section.id == "urgent-help"]
    assert not SOFTER.search(section.body), section.body


def test_the_form_page_that_asks_about_the_signs_says_no_less(ruleset: RuleSet) -> None:
    page = ruleset.page_by_id["warning-signs"]
    assert "get medical help now" in page.intro, page.intro
    assert not SOFTER.search(page.intro), page.intro


def test_the_urgent_pages_say_no_less_than_the_reasons_they_list() -> None:
    templates = Path(__file__).resolve().parents[2] / "templates" / "patient"
    for name in ("urgent.html", "sheet.html"):
        text = (templates / name).read_text()
        box = text[text.index('class="urgent-box"') :]
        box = box[: box.index("</div>")]
        assert "check you today" in box, name
        assert not SOFTER.search(box), f"{name}: {SOFTER.search(box)}"
