"""The patient guide: plain words (reading grade 8 or lower) and every topic of PRODUCT.md."""

from __future__ import annotations

import re

import pytest
import textstat

from questionnaire.engine import RuleSet

MAX_GRADE = 8.0

# PRODUCT.md "What the guide covers": each topic, the section that holds it, and words that
# show the section really carries the topic's key facts.
TOPICS = [
    (
        "back pain in general, and why most of it settles",
        "back-pain-basics",
        [r"three months|3 months"],
    ),
    (
        "what injections are, done under imaging",
        "what-are-injections",
        [r"fluoroscopy", r"ultrasound"],
    ),
    ("epidural steroid injections", "epidural-steroid", [r"epidural"]),
    ("facet joint injections", "facet-joint", [r"facet"]),
    ("SI joint injections", "si-joint", [r"sacroiliac|SI joint"]),
    ("diagnostic and therapeutic nerve blocks", "nerve-blocks", [r"diagnostic", r"therapeutic"]),
    (
        "radiofrequency neurotomy, 6-12 months of relief after a diagnostic block",
        "radiofrequency",
        [r"neurotomy", r"6\s*(?:to|-|\u2013)\s*12 months"],
    ),
    (
        "who is considered: after 6-12 weeks of other care",
        "who-is-considered",
        [r"6\s*(?:to|-|\u2013)\s*12 weeks"],
    ),
    (
        "ruled out by blood thinners or bleeding disorders",
        "blood-thinners",
        [r"blood thinner", r"bleeding"],
    ),
    ("ruled out by uncontrolled diabetes", "diabetes-steroids", [r"blood sugar"]),
    ("ruled out by an active infection", "infection", [r"infection"]),
    (
        "the procedure step by step",
        "procedure",
        [r"numb", r"15 to 30 minutes|15-30 minutes", r"drive you home"],
    ),
    ("benefits", "benefits", [r"relief"]),
    ("common, serious and steroid-specific risks", "risks", [r"blood sugar", r"bones?", r"sleep"]),
    ("allergies to what is injected", "allergies", [r"contrast", r"latex"]),
    (
        "care beyond the injection",
        "care-beyond",
        [r"physical therapy", r"weight", r"smoking", r"surgery"],
    ),
    ("the questions to ask before deciding", "making-a-decision", [r"\bask\b"]),
    ("red flags: when to get help right away", "urgent-help", [r"bladder", r"saddle", r"fever"]),
]


def grade(text: str) -> float:
    return float(textstat.flesch_kincaid_grade(text))


def test_every_section_reads_at_grade_8_or_lower(ruleset: RuleSet) -> None:
    grades = {section.id: grade(section.body) for section in ruleset.guide}
    worst = max(grades, key=grades.__getitem__)
    assert grades[worst] <= MAX_GRADE, (
        f"section '{worst}' reads at grade {grades[worst]:.1f} (at most {MAX_GRADE:.0f}); "
        f"all over: {sorted((g, s) for s, g in grades.items() if g > MAX_GRADE)}"
    )


def test_the_grade_check_can_tell_hard_text_from_plain_text() -> None:
    plain = "Back pain is common. Most of it gets better in a few weeks."
    hard = (
        "Epidural corticosteroid administration necessitates meticulous fluoroscopic "
        "visualisation, notwithstanding considerable interindividual anatomical variability."
    )
    assert grade(plain) <= MAX_GRADE < grade(hard)


def test_the_guide_has_at_least_12_sections(ruleset: RuleSet) -> None:
    assert len(ruleset.guide) >= 12


@pytest.mark.parametrize(("topic", "section_id", "facts"), TOPICS, ids=[t[1] for t in TOPICS])
def test_every_guide_topic_is_covered(
    ruleset: RuleSet, topic: str, section_id: str, facts: list[str]
) -> None:
    section = ruleset.section_by_id.get(section_id)
    assert section is not None, f"no section '{section_id}' for the topic: {topic}"
    text = " ".join(f"{section.title} {section.body}".split())
    missing = [fact for fact in facts if not re.search(fact, text, re.I)]
    assert missing == [], f"section '{section_id}' ({topic}) does not mention {missing}"
