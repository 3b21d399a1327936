"""The safety principles of PRODUCT.md, checked over the whole answer space, and the wording lint.

The six contract fields span 4 x 32 x 3 x 3 x 3 x 128 valid combinations (an any_of answer is a
non-empty set of choices, or ``none`` alone). The strategies below can reach every one of them;
the other questions are drawn from their own choices, in form order, and only when the answers
before them make them asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.rule_files import RULE_FILES

from questionnaire.engine import Result, load_ruleset
from questionnaire.engine.answers import CONTRACT
from questionnaire.engine.definition import NONE_CHOICE, Question
from questionnaire.engine.safety import lint_text, patient_texts
from questionnaire.engine.textsheet import URGENT_LEAD, WIDTH, render_text
from questionnaire.engine.yamlsource import load_yaml

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
RULESET = load_ruleset(RULES_DIR)
URGENT_BLOCK = f"{'!' * WIDTH}\n{URGENT_LEAD}\n"

# Safety topics where "not sure" gets the same care as "yes": the words their ids carry.
TOPICS = {
    "blood_thinners": ("blood-thinner",),
    "diabetes": ("diabetes", "blood-sugar"),
    "infection": ("infection",),
}


def any_of_answers(choices: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    others = [choice for choice in choices if choice != NONE_CHOICE]
    ticked = st.lists(st.sampled_from(others), min_size=1, max_size=len(others), unique=True)
    if NONE_CHOICE not in choices:
        return ticked
    return st.one_of(st.just([NONE_CHOICE]), ticked)


def answer_to(question: Question) -> st.SearchStrategy[Any]:
    if question.kind == "any_of":
        return any_of_answers(question.choice_ids)
    if question.kind in ("one_of", "yes_no"):
        return st.sampled_from(question.choice_ids)
    if question.kind == "number":
        assert question.minimum is not None and question.maximum is not None
        return st.integers(question.minimum, question.maximum)
    return st.text(
        st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1, max_size=40
    )


CONTRACT_ANSWERS = st.fixed_dictionaries(
    {
        field: any_of_answers(choices) if kind == "any_of" else st.sampled_from(choices)
        for field, (kind, choices) in CONTRACT.items()
    }
)


@st.composite
def answer_sets(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """(answers as a patient could give them, answers to questions those answers hide)."""
    answers: dict[str, Any] = {}
    hidden: dict[str, Any] = {}
    contract = draw(CONTRACT_ANSWERS)
    for question in RULESET.questions:
        if question.id in contract:
            answers[question.id] = contract[question.id]
        elif not RULESET.is_visible(question, answers):
            if draw(st.booleans()):
                hidden[question.id] = draw(answer_to(question))
        elif draw(st.booleans()):
            answers[question.id] = draw(answer_to(question))
    return answers, hidden


def evaluate(answers: dict[str, Any]) -> Result:
    return RULESET.evaluate(RULESET.validate(answers))


def ids_with(items: list[Any], words: tuple[str, ...]) -> list[str]:
    return [item.id for item in items if any(word in item.id for word in words)]


def test_the_strategies_reach_the_whole_contract_space() -> None:
    sizes = {
        field: (2 ** (len(choices) - 1) if kind == "any_of" else len(choices))
        for field, (kind, choices) in CONTRACT.items()
    }
    assert sizes == {
        "pain_duration": 4,
        "conservative_care": 32,
        "blood_thinners": 3,
        "diabetes": 3,
        "infection": 3,
        "red_flags": 128,
    }
    for field, (_, choices) in CONTRACT.items():
        assert RULESET.question_by_id[field].choice_ids == choices


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer_sets())
def test_safety_principles_hold_for_every_answer_set(
    drawn: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    answers, hidden = drawn
    result = evaluate(answers)
    sheet = render_text(result)

    # Every result defers to a clinician.
    assert result.disclaimer == RULESET.disclaimer
    assert " ".join(result.disclaimer.split()) in " ".join(sheet.split())

    # Red flags come first, always; "none" never alarms.
    flags = [flag for flag in answers["red_flags"] if flag != NONE_CHOICE]
    if flags:
        assert result.urgent is True
        assert len(result.urgent_reasons) >= len(flags)
        assert sheet.startswith(URGENT_BLOCK)
    else:
        assert result.urgent is False
        assert result.urgent_reasons == []
        assert URGENT_LEAD not in sheet

    # "Not sure" is treated like "yes" for the safety topics.
    for field, words in TOPICS.items():
        if answers[field] in ("yes", "not_sure"):
            safety_questions = [q for q in result.questions if q.category == "safety"]
            assert ids_with(safety_questions, words), (field, answers[field])
            assert ids_with(result.care_team_notes, words), (field, answers[field])
            assert ids_with(result.sections, words), (field, answers[field])
    if answers.get("allergies", [NONE_CHOICE]) != [NONE_CHOICE]:
        assert ids_with(result.care_team_notes, ("allergy",))

    # A question hidden by branching never contributes an answer or a rule hit.
    if hidden:
        assert RULESET.validate({**answers, **hidden}) == RULESET.validate(answers)
        assert evaluate({**answers, **hidden}) == result


@settings(max_examples=300, deadline=None)
@given(CONTRACT_ANSWERS.filter(lambda a: a["red_flags"] == [NONE_CHOICE]))
def test_no_red_flag_never_gives_urgent(answers: dict[str, Any]) -> None:
    result = evaluate(answers)
    assert result.urgent is False
    assert result.urgent_reasons == []
    assert not render_text(result).startswith("!")


@pytest.mark.parametrize("flag", [c for c in CONTRACT["red_flags"][1] if c != NONE_CHOICE])
def test_each_red_flag_alone_leads_the_sheet(flag: str) -> None:
    answers = {field: RULESET.example_base[field] for field in CONTRACT}
    result = evaluate({**answers, "red_flags": [flag]})
    assert result.urgent is True
    assert len(result.urgent_reasons) == 1
    sheet = render_text(result)
    assert sheet.startswith(URGENT_BLOCK)
    reason_start = " ".join(result.urgent_reasons[0].split()[:4])
    assert sheet.index(reason_start) < sheet.index("TELL YOUR CARE TEAM")


# -- the wording lint ----------------------------------------------------------------------


def shipped_texts() -> list[tuple[str, str, str]]:
    texts = []
    for name in RULE_FILES:
        problems: list[Any] = []
        source = load_yaml(RULES_DIR / name, name, problems)
        assert source is not None, problems
        texts += [
            (name, ".".join(map(str, path)), text) for path, text in patient_texts(source.data)
        ]
    return texts


def test_every_patient_facing_text_in_rules_passes_the_lint() -> None:
    texts = shipped_texts()
    assert len(texts) > 150, "the lint sees the labels, hints, guide, questions, notes and reasons"
    failures = [
        f"{name} {path}: {lint_text(text)}" for name, path, text in texts if lint_text(text)
    ]
    assert failures == []


def test_the_lint_reads_what_patients_read_and_skips_reviewer_notes() -> None:
    data = {
        "rules": [
            {
                "id": "x",
                "description": "You need to see a surgeon.",
                "because": "You said so.",
                "add": {"urgent_reason": "You must call now."},
                "examples": {"fires": [{"anything_else": "You have cancer."}]},
            }
        ]
    }
    found = {path: text for path, text in patient_texts(data)}
    assert found == {
        ("rules", 0, "because"): "You said so.",
        ("rules", 0, "add", "urgent_reason"): "You must call now.",
    }


RIGHT_FOR_YOU = "says what is right for the patient or promises a result"
UNSAFE = [
    ("You have a herniated disc.", "states that the patient has a condition"),
    ("You've got sciatica.", "states that the patient has a condition"),
    ("You're suffering from a slipped disc.", "states that the patient has a condition"),
    ("You suffer from spinal stenosis.", "states that the patient has a condition"),
    (
        "You probably have arthritis in your facet joints.",
        "states that the patient has a condition",
    ),
    ("It sounds like you have sciatica.", "states that the patient has a condition"),
    ("Your diagnosis is sciatica.", "states a diagnosis"),
    ("Your pain is caused by a herniated disc.", "states a diagnosis"),
    ("You need an injection.", "tells the patient what they need or should do"),
    ("You will need a nerve block.", "tells the patient what they need or should do"),
    ("You should have a facet joint injection.", "tells the patient what they need or should do"),
    (
        "You must stop your blood thinner five days before.",
        "tells the patient what they need or should do",
    ),
    ("Stop taking your blood thinner.", "tells the patient to start, stop or change a medicine"),
    ("Stop your blood thinner.", "tells the patient to start, stop or change a medicine"),
    ("Start taking ibuprofen.", "tells the patient to start, stop or change a medicine"),
    (
        "Skip your insulin the morning of the injection.",
        "tells the patient to start, stop or change a medicine",
    ),
    (
        "Change your insulin dose before the shot.",
        "tells the patient to start, stop or change a medicine",
    ),
    ("Reduce your dose of apixaban.", "tells the patient to start, stop or change a medicine"),
    ("Hold your warfarin for 3 days.", "tells the patient to start, stop or change a medicine"),
    (
        "Pause your aspirin before the injection.",
        "tells the patient to start, stop or change a medicine",
    ),
    ("Increase your painkillers.", "tells the patient to start, stop or change a medicine"),
    (
        "Take less insulin on the day of the injection.",
        "tells the patient to start, stop or change a medicine",
    ),
    ("Do not take aspirin for a week.", "tells the patient not to take something"),
    ("Don't take your blood thinner.", "tells the patient not to take something"),
    ("We recommend an epidural steroid injection.", "recommends something"),
    ("Our doctors recommended a nerve block for you.", "recommends something"),
    ("You are a good candidate for this injection.", "says who is a candidate"),
    ("You are not eligible for an injection.", "decides eligibility"),
    ("You qualify for radiofrequency ablation.", "decides eligibility"),
    ("This injection is right for you.", RIGHT_FOR_YOU),
    ("A nerve block is the right choice for you.", RIGHT_FOR_YOU),
    ("An epidural would be the best option for you.", RIGHT_FOR_YOU),
    ("Back shots are safe for you.", RIGHT_FOR_YOU),
    ("You are a good fit for this procedure.", RIGHT_FOR_YOU),
    ("The injection will fix your back.", RIGHT_FOR_YOU),
    ("This shot is going to help you.", RIGHT_FOR_YOU),
    # A comma ends the clause that asked: what follows tells.
    (
        "If you take a blood thinner, you should stop it before the shot.",
        "tells the patient what they need or should do",
    ),
    (
        "Whatever your doctor says, stop taking your tablets.",
        "tells the patient to start, stop or change a medicine",
    ),
    # Each sentence is read on its own: a question before does not excuse an order after.
    (
        "Is this your first injection? You need to rest for a day.",
        "tells the patient what they need or should do",
    ),
]

SAFE = [
    "Ask your doctor about your blood thinner.",
    "Ask your doctor which type of injection fits your pain.",
    "Tell your care team if you take a blood thinner.",
    "Tell your care team if you have diabetes.",
    "If you have a fever, tell your care team.",
    "Tell your care team about your diabetes and the medicines you use for it.",
    "Only the doctor who prescribes it and your care team can make a plan for it.",
    "Whether to have a back shot is your choice. You make it together with your doctor.",
    "Bring a list of all your medicines to your visit.",
    "Have you had pain for a long time?",
    "You have the right to ask questions.",
    "Do you take a medicine that thins your blood?",
    "Plan for someone to drive you home.",
    "Ask what your pain is caused by, and how to find out.",
    "The nerve stops sending pain signals for a while.",
    "Take your time to decide.",
    # Asking is what the product is for.
    "Ask your doctor whether you need a scan first.",
    "Ask your doctor if you should stop your blood thinner, and for how long.",
    "Ask whether this injection is right for you.",
    "Is a nerve block the best option for me?",
    "Should I stop taking my tablets before the shot?",
    "The shot can help your doctor see where the pain comes from.",
]


@pytest.mark.parametrize(("sentence", "reason"), UNSAFE)
def test_the_lint_catches_unsafe_sentences(sentence: str, reason: str) -> None:
    found = lint_text(sentence)
    assert found, sentence
    assert any(line.startswith(f"{reason}: '") for line in found), found


@pytest.mark.parametrize("sentence", SAFE)
def test_the_lint_passes_safe_sentences(sentence: str) -> None:
    assert lint_text(sentence) == []


def test_the_lint_names_the_words_it_found() -> None:
    assert lint_text("Please stop taking your tablets.") == [
        "tells the patient to start, stop or change a medicine: 'stop taking'"
    ]
    assert lint_text("You have sciatica. We recommend rest.") == [
        "states that the patient has a condition: 'You have'",
        "recommends something: 'recommend'",
    ]
