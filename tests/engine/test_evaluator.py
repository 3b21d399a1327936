"""What the personalised result holds for a given answer set, and its shape as JSON."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.answer_sets import TYPICAL
from support.rule_files import RULE_FILES

from questionnaire.cli import cli
from questionnaire.engine import Result, RuleSet, load_ruleset

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
# The general guide every sheet carries, whatever the answers.
GENERAL_SECTIONS = {"what-are-injections", "procedure", "risks"}
SAFETY_SECTIONS = {"urgent-help", "blood-thinners", "diabetes-steroids", "infection", "allergies"}


def evaluate(ruleset: RuleSet, **changes: Any) -> Result:
    return ruleset.evaluate(ruleset.validate({**TYPICAL, **changes}))


def ids(result: Result) -> set[str]:
    """Every id on the sheet: sections, questions and care-team notes."""
    return (
        {s.id for s in result.sections}
        | {q.id for q in result.questions}
        | {n.id for n in result.care_team_notes}
    )


# (answers on top of TYPICAL, urgent, ids that must be on the sheet, ids that must not be)
TABLE = [
    pytest.param(
        {},
        False,
        GENERAL_SECTIONS
        | {"back-pain-basics", "who-is-considered", "ask-right-for-me", "ask-six-to-twelve-weeks"},
        SAFETY_SECTIONS
        | {"tell-urgent-symptoms", "tell-blood-thinners", "ask-blood-thinner-plan", "ask-waiting"},
        id="contract-only",
    ),
    pytest.param(
        {"red_flags": ["saddle_numbness"]},
        True,
        {"urgent-help", "tell-urgent-symptoms"},
        {"blood-thinners"},
        id="red-flag",
    ),
    pytest.param(
        {"blood_thinners": "yes", "blood_thinner_name": "apixaban 5 mg"},
        False,
        {"blood-thinners", "ask-blood-thinner-plan", "tell-blood-thinners"},
        {"tell-blood-thinners-unsure", "urgent-help"},
        id="blood-thinners-yes",
    ),
    pytest.param(
        {"blood_thinners": "not_sure"},
        False,
        {"blood-thinners", "ask-blood-thinner-plan", "tell-blood-thinners-unsure"},
        {"tell-blood-thinners"},
        id="blood-thinners-not-sure",
    ),
    pytest.param(
        {"bleeding_disorder": "not_sure"},
        False,
        {"blood-thinners", "ask-bleeding-disorder", "tell-bleeding-disorder"},
        {"ask-blood-thinner-plan", "tell-blood-thinners"},
        id="bleeding-disorder-not-sure",
    ),
    pytest.param(
        {"diabetes": "yes", "diabetes_control": "no"},
        False,
        {
            "diabetes-steroids",
            "ask-blood-sugar",
            "ask-diabetes-control",
            "tell-diabetes",
            "tell-diabetes-control",
        },
        {"tell-diabetes-unsure"},
        id="diabetes-not-controlled",
    ),
    pytest.param(
        {"diabetes": "yes", "diabetes_control": "yes"},
        False,
        {"diabetes-steroids", "ask-blood-sugar", "tell-diabetes"},
        {"ask-diabetes-control", "tell-diabetes-control"},
        id="diabetes-controlled",
    ),
    pytest.param(
        {"diabetes": "not_sure"},
        False,
        {"diabetes-steroids", "ask-blood-sugar", "tell-diabetes-unsure"},
        {"tell-diabetes"},
        id="diabetes-not-sure",
    ),
    pytest.param(
        {"infection": "not_sure"},
        False,
        {"infection", "ask-infection-timing", "tell-infection-unsure"},
        {"tell-infection"},
        id="infection-not-sure",
    ),
    pytest.param(
        {"red_flags": ["fever_or_chills"], "infection": "no"},
        True,
        {"urgent-help", "infection", "tell-urgent-symptoms"},
        set(),
        id="fever-ticked-as-a-red-flag-shows-the-infection-section",
    ),
    pytest.param(
        {"earlier_injections": "not_sure"},
        False,
        {"tell-earlier-injections-unsure"},
        {"tell-earlier-injections"},
        id="earlier-injections-not-sure",
    ),
    pytest.param(
        {"pain_score": 8},
        False,
        {"care-beyond", "ask-pain-while-waiting"},
        set(),
        id="strong-pain-shows-care-beyond-the-injection",
    ),
    pytest.param(
        {"infection": "yes"},
        False,
        {"infection", "ask-infection-timing", "tell-infection"},
        {"tell-infection-unsure"},
        id="infection-yes",
    ),
    pytest.param(
        {"pain_duration": "under_6_weeks", "conservative_care": ["none"]},
        False,
        {
            "back-pain-basics",
            "who-is-considered",
            "care-beyond",
            "ask-waiting",
            "ask-try-other-care-first",
        },
        {"ask-six-to-twelve-weeks", "ask-long-pain-options"},
        id="new-pain-nothing-tried",
    ),
    pytest.param(
        {"pain_duration": "over_6_months"},
        False,
        {"ask-long-pain-options", "ask-follow-up"},
        {"back-pain-basics", "who-is-considered", "ask-waiting", "ask-six-to-twelve-weeks"},
        id="long-pain",
    ),
    pytest.param(
        {"earlier_injections": "yes", "injection_relief": "1_to_4_weeks"},
        False,
        {
            "nerve-blocks",
            "radiofrequency",
            "ask-short-relief",
            "ask-radiofrequency",
            "tell-earlier-injections",
        },
        {"ask-did-not-help", "ask-repeat-injection"},
        id="short-relief-from-an-earlier-injection",
    ),
    pytest.param(
        {"earlier_injections": "no", "injection_relief": "1_to_4_weeks"},
        False,
        set(),
        {"radiofrequency", "ask-short-relief", "tell-earlier-injections"},
        id="hidden-follow-up-counts-for-nothing",
    ),
    pytest.param(
        {"limb_pain": "leg", "pain_location": ["lower_back"]},
        False,
        {"epidural-steroid", "facet-joint", "si-joint", "ask-nerve-pain", "ask-which-joint"},
        {"ask-neck-injection"},
        id="leg-pain-low-back",
    ),
    pytest.param(
        {"allergies": ["contrast_dye", "other"], "allergy_other": "penicillin"},
        False,
        {
            "allergies",
            "ask-contrast-allergy",
            "ask-allergy-check",
            "tell-allergy-contrast",
            "tell-allergy-other",
        },
        {"tell-allergy-latex", "tell-allergy-unsure"},
        id="allergies",
    ),
    pytest.param(
        {"allergies": ["none"]},
        False,
        set(),
        {"allergies", "ask-allergy-check"},
        id="no-allergies",
    ),
    pytest.param(
        {"pregnancy": "not_sure", "driver": "no"},
        False,
        {"ask-pregnancy-xray", "tell-pregnancy", "ask-sedation-driver", "tell-no-driver"},
        set(),
        id="pregnancy-not-sure-and-no-driver",
    ),
    pytest.param(
        {"pain_score": 7},
        False,
        {"ask-pain-while-waiting"},
        set(),
        id="pain-score-7",
    ),
    pytest.param(
        {"pain_score": 6},
        False,
        set(),
        {"ask-pain-while-waiting"},
        id="pain-score-6",
    ),
]


@pytest.mark.parametrize(("changes", "urgent", "present", "absent"), TABLE)
def test_what_the_sheet_holds(
    ruleset: RuleSet, changes: dict[str, Any], urgent: bool, present: set[str], absent: set[str]
) -> None:
    result = evaluate(ruleset, **changes)
    assert result.urgent is urgent
    assert bool(result.urgent_reasons) is urgent
    shown = ids(result)
    assert present <= shown, f"missing: {sorted(present - shown)}"
    assert not absent & shown, f"should not be there: {sorted(absent & shown)}"
    assert result.disclaimer == ruleset.disclaimer


def test_every_sheet_shows_how_injections_may_help_beside_their_risks(ruleset: RuleSet) -> None:
    for changes in ({}, {"pain_duration": "under_6_weeks"}, {"red_flags": ["cancer_history"]}):
        sections = [section.id for section in evaluate(ruleset, **changes).sections]
        assert {"procedure", "benefits", "risks"} <= set(sections), changes
        assert sections.index("benefits") + 1 == sections.index("risks"), sections


def test_every_red_flag_gives_its_own_urgent_reason(ruleset: RuleSet) -> None:
    flags = [c for c in ruleset.question_by_id["red_flags"].choice_ids if c != "none"]
    single = {flag: evaluate(ruleset, red_flags=[flag]).urgent_reasons for flag in flags}
    assert all(len(reasons) == 1 for reasons in single.values())
    assert len({reasons[0] for reasons in single.values()}) == len(flags)
    every = evaluate(ruleset, red_flags=flags)
    assert every.urgent_reasons == [single[flag][0] for flag in flags]


def test_sections_come_in_guide_order_and_once(ruleset: RuleSet) -> None:
    result = evaluate(
        ruleset,
        red_flags=["fever_or_chills"],
        pain_duration="under_6_weeks",
        conservative_care=["none"],
        blood_thinners="yes",
        diabetes="not_sure",
        infection="yes",
        diagnosis_given="no",
        earlier_injections="yes",
        injection_relief="under_1_week",
        limb_pain="leg",
        pain_location=["lower_back", "neck"],
        allergies=["latex"],
        driver="no",
    )
    guide_order = [s.id for s in ruleset.guide]
    shown = [s.id for s in result.sections]
    assert shown == sorted(set(shown), key=guide_order.index)
    assert len(shown) >= 15
    bank_order = [q.id for q in ruleset.bank]
    asked = [q.id for q in result.questions]
    assert asked == sorted(set(asked), key=bank_order.index)
    note_order = [n.id for n in ruleset.notes]
    notes = [n.id for n in result.care_team_notes]
    assert notes == sorted(set(notes), key=note_order.index)


def test_a_question_added_by_two_rules_is_shown_once_with_both_reasons(ruleset: RuleSet) -> None:
    result = evaluate(ruleset, earlier_injections="yes", injection_relief="did_not_help")
    (question,) = [q for q in result.questions if q.id == "ask-other-options"]
    rules = {rule.id: rule for rule in ruleset.rules}
    assert question.because.rule_ids == ["core", "earlier-injection-did-not-help"]
    assert question.because.reason == (
        f"{rules['core'].because} {rules['earlier-injection-did-not-help'].because}"
    )


def test_a_section_lists_every_rule_that_added_it(ruleset: RuleSet) -> None:
    result = evaluate(
        ruleset,
        pain_duration="under_6_weeks",
        conservative_care=["none"],
        diagnosis_given="not_sure",
    )
    (section,) = [s for s in result.sections if s.id == "who-is-considered"]
    assert section.because.rule_ids == [
        "pain-under-6-weeks",
        "no-conservative-care",
        "diagnosis-not-given",
    ]


def test_because_names_fired_rules_and_their_plain_reasons(ruleset: RuleSet) -> None:
    result = evaluate(
        ruleset, blood_thinners="not_sure", red_flags=["cancer_history"], pain_score=9
    )
    rules = {rule.id: rule for rule in ruleset.rules}
    fired = [rule.id for rule in result.fired_rules]
    assert fired == [rule.id for rule in ruleset.rules if rule.id in fired], "rule-file order"
    assert {"core", "blood-thinners-not-sure", "red-flag-cancer-history", "high-pain-score"} <= set(
        fired
    )
    for fired_rule in result.fired_rules:
        assert fired_rule.because == rules[fired_rule.id].because
    for item in [*result.sections, *result.questions, *result.care_team_notes]:
        assert item.because.rule_ids, item.id
        assert set(item.because.rule_ids) <= set(fired), item.id
        for rule_id in item.because.rule_ids:
            assert rules[rule_id].because in item.because.reason
    (note,) = [n for n in result.care_team_notes if n.id == "tell-blood-thinners-unsure"]
    assert note.because.rule_ids == ["blood-thinners-not-sure"]
    assert note.because.reason == "You said you are not sure if you take a blood thinner."


def test_texts_come_from_the_rule_files(ruleset: RuleSet) -> None:
    result = evaluate(ruleset, infection="yes")
    (section,) = [s for s in result.sections if s.id == "infection"]
    assert (section.title, section.body) == (
        ruleset.section_by_id["infection"].title,
        ruleset.section_by_id["infection"].body,
    )
    bank = {q.id: q for q in ruleset.bank}
    for question in result.questions:
        assert (question.text, question.category) == (
            bank[question.id].text,
            bank[question.id].category,
        )


def test_the_same_answers_give_the_same_result(ruleset: RuleSet) -> None:
    first = evaluate(ruleset, diabetes="yes", red_flags=["recent_major_injury"])
    again = evaluate(ruleset, diabetes="yes", red_flags=["recent_major_injury"])
    assert first.model_dump() == again.model_dump()


# -- the rule-set stamp -------------------------------------------------------------------


def shipped_version() -> str:
    """The version written in the shipped rules/ruleset.yaml, read as text."""
    text = (RULES_DIR / "ruleset.yaml").read_text()
    (line,) = [line for line in text.splitlines() if line.startswith("version:")]
    return line.split(":", 1)[1].strip().strip('"')


def test_every_result_names_the_rule_set(ruleset: RuleSet) -> None:
    result = evaluate(ruleset)
    assert result.ruleset.version == ruleset.version == shipped_version()
    assert result.ruleset.sha256 == ruleset.sha256


def test_the_sha256_is_over_the_six_files_in_order(ruleset: RuleSet) -> None:
    digest = hashlib.sha256()
    for name in RULE_FILES:
        digest.update(name.encode() + b"\0" + (RULES_DIR / name).read_bytes() + b"\0")
    assert ruleset.sha256 == digest.hexdigest()


@pytest.mark.parametrize("name", RULE_FILES)
def test_the_sha256_changes_when_any_file_changes(
    tmp_path: Path, ruleset: RuleSet, name: str
) -> None:
    copy = tmp_path / "rules"
    shutil.copytree(RULES_DIR, copy)
    assert load_ruleset(copy).sha256 == ruleset.sha256
    with (copy / name).open("a", encoding="utf-8") as file:
        file.write("\n# reviewed again\n")
    changed = load_ruleset(copy)
    assert changed.version == ruleset.version
    assert changed.sha256 != ruleset.sha256
    assert changed.evaluate(changed.validate(TYPICAL)).ruleset.sha256 == changed.sha256


# -- the JSON ------------------------------------------------------------------------------


def test_the_result_json_has_exactly_the_product_keys(ruleset: RuleSet) -> None:
    result = evaluate(ruleset, red_flags=["saddle_numbness"], blood_thinners="yes")
    data = json.loads(result.model_dump_json())
    assert set(data) == {
        "urgent",
        "urgent_reasons",
        "sections",
        "questions",
        "care_team_notes",
        "disclaimer",
        "ruleset",
        "fired_rules",
    }
    assert data["urgent"] is True
    assert all(isinstance(reason, str) and reason for reason in data["urgent_reasons"])
    because = {"rule_ids", "reason"}
    assert data["sections"] and all(
        set(s) == {"id", "title", "body", "because"} for s in data["sections"]
    )
    assert data["questions"] and all(
        set(q) == {"id", "text", "category", "because"} for q in data["questions"]
    )
    assert data["care_team_notes"] and all(
        set(n) == {"id", "text", "because"} for n in data["care_team_notes"]
    )
    for item in [*data["sections"], *data["questions"], *data["care_team_notes"]]:
        assert set(item["because"]) == because
        assert all(isinstance(rule_id, str) for rule_id in item["because"]["rule_ids"])
    assert set(data["ruleset"]) == {"version", "sha256"}
    assert all(set(f) == {"id", "because"} for f in data["fired_rules"])
    assert isinstance(data["disclaimer"], str) and data["disclaimer"]
    # The JSON reads back into the same Result.
    assert Result.model_validate(data) == result


def test_the_cli_prints_the_same_json() -> None:
    raw = {**TYPICAL, "diabetes": "not_sure"}
    result = CliRunner().invoke(cli, ["evaluate", "-", "--json"], input=json.dumps(raw))
    assert result.exit_code == 0, result.output
    ruleset = load_ruleset(RULES_DIR)
    assert json.loads(result.stdout) == ruleset.evaluate(ruleset.validate(raw)).model_dump(
        mode="json"
    )


def test_the_cli_prints_the_sheet_as_text() -> None:
    raw = {**TYPICAL, "red_flags": ["fever_or_chills"]}
    result = CliRunner().invoke(cli, ["evaluate", "-"], input=json.dumps(raw))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1] == "GET MEDICAL HELP NOW. This questionnaire cannot assess these symptoms."
    assert "TELL YOUR CARE TEAM" in lines
    assert "QUESTIONS TO ASK YOUR DOCTOR" in lines
    assert lines[-1].startswith(f"Rule set {shipped_version()} (sha256 ")
