"""Broken rule sets and the exact message each must produce: "file, line N: what is wrong".

Every case starts from the small complete rule set in ``broken/minimal/`` (checked clean by the
first test) and applies a textual edit, so a line number in an expected message points at the
edited file as the clinician would see it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.rule_files import RULE_FILES

from questionnaire.cli import MAX_ANSWERS_BYTES, cli
from questionnaire.engine import RulesetError, check_ruleset, load_ruleset
from questionnaire.engine.conditions import OPERATOR_LIST
from questionnaire.engine.yamlsource import MAX_DEPTH, MAX_NUMBER_DIGITS

MINIMAL = Path(__file__).parent / "broken" / "minimal"
SHIPPED = Path(__file__).resolve().parents[2] / "rules"
RED_FLAG_CHOICES = (
    "bladder_or_bowel_change, saddle_numbness, worsening_leg_weakness, fever_or_chills, "
    "recent_major_injury, cancer_history, unexplained_weight_loss, none"
)
SAFE_INSTEAD = "Say 'ask your doctor' or 'tell your care team' instead"
TOO_DEEP = f"nested too deeply: at most {MAX_DEPTH} levels of lists and mappings are allowed"
NO_REFERENCES = (
    "rule files use no anchors (&name) or aliases (*name); write each value out in full where "
    "it is used"
)
NO_TAG = "remove it and write the value as text, a number, true or false, a list or a mapping"
CONTROL = "(the only control characters allowed in text are line breaks and tabs)"


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` (which must occur exactly once) by ``new`` in ``file``."""

    file: str
    old: str
    new: str


@dataclass(frozen=True)
class Remove:
    file: str


@dataclass(frozen=True)
class Rewrite:
    file: str
    text: str


def broken_copy(tmp_path: Path, edits: list[Edit | Remove | Rewrite]) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(MINIMAL, target)
    for edit in edits:
        path = target / edit.file
        if isinstance(edit, Remove):
            path.unlink()
            continue
        if isinstance(edit, Rewrite):
            path.write_text(edit.text, encoding="utf-8")
            continue
        text = path.read_text(encoding="utf-8")
        assert text.count(edit.old) == 1, f"{edit.file}: {edit.old!r} must occur exactly once"
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
    return target


def messages(folder: Path) -> list[str]:
    """What check_ruleset reports for the rule set in ``folder``: one line a problem."""
    _, problems = check_ruleset(folder)
    return [str(problem) for problem in problems]


CASES = [
    pytest.param(
        [
            Edit(
                "rules.yaml",
                "because: These are for everyone.",
                "because: [These are for everyone.",
            )
        ],
        ["rules.yaml, line 10: YAML syntax error: did not find expected ',' or ']'"],
        id="yaml-syntax-error",
    ),
    pytest.param(
        [
            Edit(
                "guide.yaml",
                "title: About back pain\n",
                "title: About back pain\n    title: Pain\n",
            )
        ],
        ["guide.yaml, line 8: duplicate key 'title'"],
        id="duplicate-key",
    ),
    pytest.param(
        [Edit("questions.yaml", "category: safety\n", "category: safety\n    colour: red\n")],
        [
            "questions.yaml, line 10: question 'ask-blood-thinner-plan', colour: "
            "unknown key 'colour'; allowed keys: id, category, text"
        ],
        id="unknown-key-lists-allowed-keys",
    ),
    pytest.param(
        [
            Edit(
                "rules.yaml",
                "description: For everyone.\n",
                "description: For everyone.\n    priority: 1\n",
            )
        ],
        [
            "rules.yaml, line 4: rule 'core', priority: unknown key 'priority'; "
            "allowed keys: id, description, when, add, because, examples"
        ],
        id="unknown-key-in-rule",
    ),
    pytest.param(
        [Edit("rules.yaml", "{field: blood_thinners, values", "{field: blood_thinner, values")],
        [
            "rules.yaml, line 16: rule 'blood-thinners', when.in: unknown field 'blood_thinner': "
            "no question with that id in questionnaire.yaml"
        ],
        id="unknown-field-in-condition",
    ),
    pytest.param(
        [Edit("rules.yaml", "value: saddle_numbness}", "value: saddle_numb}")],
        [
            "rules.yaml, line 31: rule 'red-flag-saddle', when.contains: 'saddle_numb' is not a "
            f"choice of 'red_flags'; allowed: {RED_FLAG_CHOICES}"
        ],
        id="value-not-among-choices",
    ),
    pytest.param(
        [Edit("rules.yaml", 'values: ["yes", not_sure]', 'values: ["yes", maybe]')],
        [
            "rules.yaml, line 16: rule 'blood-thinners', when.in: 'maybe' is not a choice of "
            "'blood_thinners'; allowed: yes, no, not_sure"
        ],
        id="one-of-several-values-not-among-choices",
    ),
    pytest.param(
        [Edit("rules.yaml", 'values: ["yes", not_sure]', "values: [true, not_sure]")],
        [
            "rules.yaml, line 16: rule 'blood-thinners', when.in.values[0]: "
            "True is not allowed; use text or a number"
        ],
        id="boolean-value-is-one-line",
    ),
    pytest.param(
        [Edit("rules.yaml", "value: 7}", "value: 70}")],
        [
            "rules.yaml, line 45: rule 'high-pain', when.at_least: "
            "70 is not a number from 0 to 10 (field 'pain_score')"
        ],
        id="number-out-of-range",
    ),
    pytest.param(
        [
            Edit(
                "rules.yaml",
                "contains: {field: red_flags, value: saddle_numbness}",
                "at_least: {field: blood_thinners, value: 2}",
            )
        ],
        [
            "rules.yaml, line 31: rule 'red-flag-saddle', when.at_least: 'at_least' does not fit "
            "the one_of field 'blood_thinners'; it fits: number"
        ],
        id="operator-does-not-fit-kind",
    ),
    pytest.param(
        [
            Edit(
                "rules.yaml",
                "in: {field: blood_thinners,",
                "contains: {field: blood_thinners,",
            )
        ],
        [
            "rules.yaml, line 16: rule 'blood-thinners', when.contains: "
            "missing required key 'value'",
            "rules.yaml, line 16: rule 'blood-thinners', when.contains.values: "
            "unknown key 'values'; allowed keys: field, value",
        ],
        id="operator-with-the-wrong-arguments",
    ),
    pytest.param(
        [
            Edit(
                "rules.yaml",
                "      contains: {field: red_flags, value: saddle_numbness}\n",
                "      contains: {field: red_flags, value: saddle_numbness}\n"
                '      equals: {field: diabetes, value: "yes"}\n',
            )
        ],
        [
            "rules.yaml, line 30: rule 'red-flag-saddle', when: a condition has exactly one "
            f"operator, but this one has 2 keys: contains, equals; operators: {OPERATOR_LIST}"
        ],
        id="two-operator-keys",
    ),
    pytest.param(
        [Edit("rules.yaml", "at_least: {field: pain_score", "greater: {field: pain_score")],
        [
            "rules.yaml, line 44: rule 'high-pain', when: unknown operator 'greater'; "
            f"operators: {OPERATOR_LIST}"
        ],
        id="unknown-operator",
    ),
    pytest.param(
        [Edit("rules.yaml", "sections: [basics]", "sections: [basic]")],
        [
            "rules.yaml, line 7: rule 'core', add.sections[0]: unknown section 'basic' "
            "(not in guide.yaml)",
            "guide.yaml, line 6: section 'basics': no rule adds this section, "
            "so no patient can see it",
        ],
        id="unknown-section",
    ),
    pytest.param(
        [Edit("rules.yaml", "questions: [ask-pain-while-waiting]", "questions: [ask-pain]")],
        [
            "rules.yaml, line 47: rule 'high-pain', add.questions[0]: unknown question "
            "'ask-pain' (not in questions.yaml)",
            "questions.yaml, line 11: question 'ask-pain-while-waiting': no rule adds this "
            "question, so no patient can see it",
        ],
        id="unknown-question",
    ),
    pytest.param(
        [
            Edit(
                "rules.yaml",
                "care_team_notes: [tell-urgent-symptoms]",
                "care_team_notes: [tell-urgent]",
            )
        ],
        [
            "rules.yaml, line 34: rule 'red-flag-saddle', add.care_team_notes[0]: unknown note "
            "'tell-urgent' (not in notes.yaml)",
            "notes.yaml, line 4: note 'tell-urgent-symptoms': no rule adds this note, "
            "so no patient can see it",
        ],
        id="unknown-note",
    ),
    pytest.param(
        [
            Edit(
                "guide.yaml",
                "  - id: blood-thinners\n",
                "  - id: basics\n    title: Again\n    seed_section: S\n    body: Text.\n"
                "  - id: blood-thinners\n",
            )
        ],
        ["guide.yaml, line 10: section 'basics', id: duplicate section id 'basics'"],
        id="duplicate-section-id",
    ),
    pytest.param(
        [Edit("questionnaire.yaml", "      - id: driver", "      - id: diabetes")],
        [
            "questionnaire.yaml, line 74: page 'getting-home', question 'diabetes', id: "
            "duplicate question id 'diabetes'"
        ],
        id="duplicate-form-question-id",
    ),
    pytest.param(
        [
            Edit(
                "questionnaire.yaml",
                "{id: 6_to_12_weeks, label: 6 to 12 weeks}",
                "{id: 6_to_12_weeks, label: Less than 6 weeks}",
            )
        ],
        [
            "questionnaire.yaml, line 10: page 'your-pain', question 'pain_duration', "
            "choice '6_to_12_weeks', label: another choice of this question has the label "
            "'Less than 6 weeks'"
        ],
        id="duplicate-choice-label",
    ),
    pytest.param(
        [
            Edit(
                "questions.yaml",
                "  - id: ask-pain-while-waiting\n",
                "  - id: ask-right-for-me\n    category: general\n    text: Again?\n"
                "  - id: ask-pain-while-waiting\n",
            )
        ],
        [
            "questions.yaml, line 11: question 'ask-right-for-me', id: "
            "duplicate question id 'ask-right-for-me'"
        ],
        id="duplicate-bank-question-id",
    ),
    pytest.param(
        [Edit("notes.yaml", "  - id: tell-urgent-symptoms", "  - id: tell-blood-thinners")],
        [
            "notes.yaml, line 4: note 'tell-blood-thinners', id: "
            "duplicate note id 'tell-blood-thinners'",
            "rules.yaml, line 34: rule 'red-flag-saddle', add.care_team_notes[0]: unknown note "
            "'tell-urgent-symptoms' (not in notes.yaml)",
        ],
        id="duplicate-note-id",
    ),
    pytest.param(
        [Edit("rules.yaml", "  - id: high-pain", "  - id: core")],
        ["rules.yaml, line 42: rule 'core', id: duplicate rule id 'core'"],
        id="duplicate-rule-id",
    ),
    pytest.param(
        [Edit("rules.yaml", "        - {pain_score: 6}", "        - {pain_score: 8}")],
        [
            "rules.yaml, line 53: rule 'high-pain', examples.does_not_fire[0]: the rule fires "
            "on this example, but it is listed under 'does_not_fire'"
        ],
        id="example-fires-but-listed-under-does-not-fire",
    ),
    pytest.param(
        [
            Edit(
                "rules.yaml",
                "        - {red_flags: [saddle_numbness]}",
                "        - {red_flags: [fever_or_chills]}",
            )
        ],
        [
            "rules.yaml, line 39: rule 'red-flag-saddle', examples.fires[0]: the rule does not "
            "fire on this example, but it is listed under 'fires'"
        ],
        id="example-does-not-fire-but-listed-under-fires",
    ),
    pytest.param(
        [Edit("rules.yaml", "        - {pain_score: 7}", "        - {pain_score: 70}")],
        [
            "rules.yaml, line 51: rule 'high-pain', examples.fires[0]: not a valid answer set: "
            "pain_score: Your answer to 'How bad is your pain from 0 to 10?' must be a number "
            "from 0 to 10"
        ],
        id="example-not-a-valid-answer-set",
    ),
    pytest.param(
        [Edit("rules.yaml", "        - {pain_score: 7}", "        - {pain_score: 7, mood: good}")],
        [
            "rules.yaml, line 51: rule 'high-pain', examples.fires[0]: not a valid answer set: "
            "mood: This is not a question of this form (allowed: blood_thinner_name, "
            "blood_thinners, conservative_care, diabetes, driver, infection, pain_duration, "
            "pain_score, red_flags)"
        ],
        id="example-with-unknown-field",
    ),
    pytest.param(
        [
            Edit(
                "rules.yaml",
                '        - {blood_thinners: "no"}',
                '        - {blood_thinners: "no", blood_thinner_name: aspirin}',
            )
        ],
        [
            "rules.yaml, line 27: rule 'blood-thinners', examples.does_not_fire[0]: answers to "
            "questions that are not asked here would be dropped: blood_thinner_name"
        ],
        id="example-answers-a-hidden-question",
    ),
    pytest.param(
        [Edit("rules.yaml", "      does_not_fire:\n        - {red_flags: [none]}\n", "")],
        [
            "rules.yaml, line 37: rule 'red-flag-saddle', examples: "
            "needs at least one 'does_not_fire' example"
        ],
        id="rule-without-does-not-fire",
    ),
    pytest.param(
        [Edit("ruleset.yaml", '  diabetes: "no"\n', "")],
        [
            "ruleset.yaml, line 4: example_base: not a valid answer: "
            "diabetes: Select an answer for 'Is diabetes one of your health conditions?' "
            "(allowed: yes, no, not_sure)"
        ],
        id="example-base-misses-a-contract-field",
    ),
    pytest.param(
        [Edit("rules.yaml", "sections: [basics]", "sections: []")],
        [
            "guide.yaml, line 6: section 'basics': no rule adds this section, "
            "so no patient can see it"
        ],
        id="unreached-section",
    ),
    pytest.param(
        [Edit("rules.yaml", "questions: [ask-pain-while-waiting]", "questions: []")],
        [
            "questions.yaml, line 11: question 'ask-pain-while-waiting': no rule adds this "
            "question, so no patient can see it"
        ],
        id="unreached-question",
    ),
    pytest.param(
        [Edit("rules.yaml", "care_team_notes: [tell-blood-thinners]", "care_team_notes: []")],
        [
            "notes.yaml, line 2: note 'tell-blood-thinners': no rule adds this note, "
            "so no patient can see it"
        ],
        id="unreached-note",
    ),
    pytest.param(
        [Remove("notes.yaml")],
        ["notes.yaml: file is missing"],
        id="missing-file",
    ),
    pytest.param(
        [Rewrite("notes.yaml", "# nothing yet\n")],
        ["notes.yaml, line 1: file is empty"],
        id="empty-file",
    ),
    pytest.param(
        [Edit("notes.yaml", "care_team_notes:\n", "# the key was lost\n")],
        ["notes.yaml, line 2: the top level must be a mapping of keys"],
        id="top-level-not-a-mapping",
    ),
    pytest.param(
        [Edit("ruleset.yaml", "format: 1\n", "format: 2\n")],
        ["ruleset.yaml, line 1: format: 2 is not allowed; allowed: 1"],
        id="unknown-format-number",
    ),
    pytest.param(
        [Edit("guide.yaml", "  - id: basics", "  - id: Basics")],
        [
            "guide.yaml, line 6: section 'Basics', id: 'Basics' is not a valid id: "
            "use lower-case letters, digits, '_' and '-'"
        ],
        id="id-not-lower-case",
    ),
    pytest.param(
        [
            Edit(
                "questionnaire.yaml",
                "          - {id: heat_or_cold, label: Heat or cold packs}\n",
                "",
            )
        ],
        [
            "questionnaire.yaml, line 19: page 'your-pain', question 'conservative_care': the "
            "contract field 'conservative_care' must be any_of with the choices physical_therapy, "
            "home_exercise, pain_medicine, rest_or_activity_change, heat_or_cold, none"
        ],
        id="contract-field-with-wrong-choices",
    ),
    pytest.param(
        [
            Edit(
                "questionnaire.yaml",
                "      - id: infection\n        kind: one_of\n        label: Are you ill",
                "      - id: infection\n        kind: one_of\n        required: false\n"
                "        label: Are you ill",
            )
        ],
        [
            "questionnaire.yaml, line 52: page 'safety', question 'infection': the contract "
            "field 'infection' must be required and always asked"
        ],
        id="contract-field-optional",
    ),
    pytest.param(
        [Edit("questionnaire.yaml", "      - id: infection\n", "      - id: infections\n")],
        [
            "questionnaire.yaml, line 1: pages: the contract field 'infection' is missing",
        ],
        id="contract-field-missing",
    ),
    pytest.param(
        [
            Edit(
                "questionnaire.yaml",
                'equals: {field: blood_thinners, value: "yes"}',
                'equals: {field: driver, value: "yes"}',
            )
        ],
        [
            "questionnaire.yaml, line 44: page 'safety', question 'blood_thinner_name', "
            "enable_when.equals: unknown field 'driver': no question with that id earlier in "
            "the questionnaire"
        ],
        id="enable-when-refers-to-a-later-question",
    ),
    pytest.param(
        [Edit("questionnaire.yaml", "        minimum: 0\n", "")],
        [
            "questionnaire.yaml, line 13: page 'your-pain', question 'pain_score': "
            "a number question needs 'minimum' and 'maximum'"
        ],
        id="number-question-without-minimum",
    ),
    pytest.param(
        [Edit("questionnaire.yaml", "        minimum: 0\n", "        minimum: 11\n")],
        [
            "questionnaire.yaml, line 17: page 'your-pain', question 'pain_score', minimum: "
            "'minimum' must not be greater than 'maximum'"
        ],
        id="number-question-minimum-above-maximum",
    ),
    pytest.param(
        [
            Edit(
                "questionnaire.yaml",
                "        label: Which blood thinner do you take?\n",
                "        label: Which blood thinner do you take?\n"
                "        short_label: the blood thinner you should stop\n",
            )
        ],
        [
            "questionnaire.yaml, line 42: page 'safety', question 'blood_thinner_name', "
            "short_label: unsafe wording, tells the patient what they need or should do: "
            f"'you should'. {SAFE_INSTEAD}"
        ],
        id="unsafe-wording-short-label",
    ),
    pytest.param(
        [
            Edit(
                "questionnaire.yaml",
                "        label: Which blood thinner do you take?\n",
                "        label: Which blood thinner do you take?\n        short_label: ''\n",
            )
        ],
        [
            "questionnaire.yaml, line 42: page 'safety', question 'blood_thinner_name', "
            "short_label: string should have at least 1 character",
        ],
        id="empty-short-label",
    ),
    pytest.param(
        [
            Edit(
                "questionnaire.yaml",
                "        label: Which blood thinner do you take?\n",
                "        label: Which blood thinner do you take?\n"
                f"        short_label: the name {'and dose ' * 7}of your blood thinner\n",
            )
        ],
        [
            "questionnaire.yaml, line 42: page 'safety', question 'blood_thinner_name', "
            "short_label: string should have at most 60 characters",
        ],
        id="short-label-too-long",
    ),
    pytest.param(
        [
            Edit(
                "questionnaire.yaml",
                "        label: Which blood thinner do you take?\n",
                "        label: Which blood thinner do you take?\n"
                "        error_required: You need to stop your blood thinner\n",
            )
        ],
        [
            "questionnaire.yaml, line 42: page 'safety', question 'blood_thinner_name', "
            "error_required: unsafe wording, tells the patient what they need or should do: "
            f"'You need'. {SAFE_INSTEAD}",
            "questionnaire.yaml, line 42: page 'safety', question 'blood_thinner_name', "
            "error_required: unsafe wording, tells the patient to start, stop or change a "
            f"medicine: 'stop your blood thinner'. {SAFE_INSTEAD}",
        ],
        id="unsafe-wording-error-required",
    ),
    pytest.param(
        [Edit("guide.yaml", "body: Back pain is common.", "body: You have a herniated disc.")],
        [
            "guide.yaml, line 9: section 'basics', body: unsafe wording, states that the patient "
            f"has a condition: 'You have'. {SAFE_INSTEAD}"
        ],
        id="unsafe-wording-diagnosis",
    ),
    pytest.param(
        [
            Edit(
                "notes.yaml",
                "text: Tell your care team the name and dose of each blood thinner you take.",
                "text: Stop taking your blood thinner a week before.",
            )
        ],
        [
            "notes.yaml, line 3: note 'tell-blood-thinners', text: unsafe wording, tells the "
            f"patient to start, stop or change a medicine: 'Stop taking'. {SAFE_INSTEAD}"
        ],
        id="unsafe-wording-medicine",
    ),
    pytest.param(
        [
            Edit(
                "rules.yaml",
                "because: You rated your pain 7 or more.",
                "because: You need an injection soon.",
            )
        ],
        [
            "rules.yaml, line 48: rule 'high-pain', because: unsafe wording, tells the patient "
            f"what they need or should do: 'You need'. {SAFE_INSTEAD}"
        ],
        id="unsafe-wording-treatment",
    ),
]


def nested(opening: str, closing: str, levels: int, inner: str = "{all: []}") -> str:
    return opening * levels + inner + closing * levels


# YAML that a rule file never needs, refused with its line before it can cost time or memory
# (each used to end in a traceback, or in minutes of work).
YAML_CASES = [
    pytest.param(
        [Edit("rules.yaml", "all: []", nested("{any: [", "]}", 400))],
        [f"rules.yaml, line 5: {TOO_DEEP}"],
        id="conditions-nested-400-deep",
    ),
    pytest.param(
        [Edit("rules.yaml", "all: []", nested("{not: ", "}", 990))],
        [f"rules.yaml, line 5: {TOO_DEEP}"],
        id="not-nested-990-deep",
    ),
    pytest.param(
        [Rewrite("notes.yaml", "care_team_notes:\n  - " + nested("[", "]", 600, "") + "\n")],
        [f"notes.yaml, line 2: {TOO_DEEP}"],
        id="list-nested-600-deep",
    ),
    pytest.param(
        [Rewrite("notes.yaml", "care_team_notes: &a [*a]\n")],
        [
            f"notes.yaml, line 1: the anchor '&a' is not allowed: {NO_REFERENCES}",
            f"notes.yaml, line 1: the alias '*a' is not allowed: {NO_REFERENCES}",
        ],
        id="list-holding-itself",
    ),
    pytest.param(
        [Rewrite("notes.yaml", "care_team_notes: &a {x: *a}\n")],
        [
            f"notes.yaml, line 1: the anchor '&a' is not allowed: {NO_REFERENCES}",
            f"notes.yaml, line 1: the alias '*a' is not allowed: {NO_REFERENCES}",
        ],
        id="mapping-holding-itself",
    ),
    pytest.param(
        [
            Edit(
                "notes.yaml",
                "  - id: tell-urgent-symptoms\n    text:",
                "  - id: tell-urgent-symptoms\n    text: &same Tell.\n    hint: *same\n    note:",
            )
        ],
        [
            f"notes.yaml, line 5: the anchor '&same' is not allowed: {NO_REFERENCES}",
            f"notes.yaml, line 6: the alias '*same' is not allowed: {NO_REFERENCES}",
        ],
        id="text-repeated-by-an-alias",
    ),
    pytest.param(
        [Edit("ruleset.yaml", "format: 1", "format: " + "1" * 5000)],
        [
            "ruleset.yaml, line 1: a number with 5000 digits is too long: "
            f"at most {MAX_NUMBER_DIGITS} digits are allowed"
        ],
        id="integer-of-5000-digits",
    ),
    pytest.param(
        [Edit("questionnaire.yaml", "minimum: 0", "minimum: -" + "1" * 4301)],
        [
            "questionnaire.yaml, line 17: a number with 4301 digits is too long: "
            f"at most {MAX_NUMBER_DIGITS} digits are allowed"
        ],
        id="negative-integer-of-4301-digits",
    ),
    pytest.param(
        [
            Edit(
                "rules.yaml",
                "because: You rated your",
                "because: !!python/object:os.system You rated your",
            )
        ],
        [f"rules.yaml, line 48: the tag '!!python/object:os.system' is not allowed: {NO_TAG}"],
        id="python-object-tag",
    ),
    pytest.param(
        [
            Edit(
                "rules.yaml",
                "because: You rated your pain 7 or more.",
                "because: !!binary aGVsbG8=",
            )
        ],
        [f"rules.yaml, line 48: the tag '!!binary' is not allowed: {NO_TAG}"],
        id="binary-tag",
    ),
    pytest.param(
        [Edit("ruleset.yaml", 'version: "1.0.0"', 'version: !!int "5"')],
        [f"ruleset.yaml, line 2: the tag '!!int' is not allowed: {NO_TAG}"],
        id="int-tag-on-quoted-text",
    ),
    pytest.param(
        [Edit("ruleset.yaml", "example_base:\n", "example_base: !answers\n")],
        [f"ruleset.yaml, line 4: the tag '!answers' is not allowed: {NO_TAG}"],
        id="local-tag-on-a-mapping",
    ),
    pytest.param(
        [Edit("notes.yaml", "you take.\n", "you take.\n---\ncare_team_notes: []\n")],
        ["notes.yaml, line 4: a second YAML document starts here, but a rule file holds only one"],
        id="second-document",
    ),
]

# Values of the wrong type that a lax check would take for right ones.
VALUE_CASES = [
    pytest.param(
        [Edit("ruleset.yaml", "format: 1", "format: true")],
        ["ruleset.yaml, line 1: format: True is not allowed; allowed: 1"],
        id="format-true",
    ),
    pytest.param(
        [Edit("ruleset.yaml", "format: 1", "format: 1.0")],
        ["ruleset.yaml, line 1: format: 1.0 is not allowed; allowed: 1"],
        id="format-one-point-zero",
    ),
    pytest.param(
        [
            Edit(
                "questionnaire.yaml",
                "        required: false\n        minimum",
                "        required: no\n        minimum",
            )
        ],
        [
            "questionnaire.yaml, line 16: page 'your-pain', question 'pain_score', required: "
            "input should be a valid boolean"
        ],
        id="required-as-text",
    ),
    pytest.param(
        [
            Edit(
                "questionnaire.yaml",
                "label: Which blood thinner do you take?\n",
                'label: Which blood thinner do you take?\n        max_length: "80"\n',
            )
        ],
        [
            "questionnaire.yaml, line 42: page 'safety', question 'blood_thinner_name', "
            "max_length: input should be a valid integer"
        ],
        id="max-length-as-text",
    ),
    pytest.param(
        [
            Edit(
                "rules.yaml",
                "because: You rated your pain 7 or more.",
                'because: "You \\x07 rated your pain 7 or more."',
            )
        ],
        [
            "rules.yaml, line 48: rule 'high-pain', because: contains the control character "
            f"U+0007: remove it {CONTROL}"
        ],
        id="bell-in-patient-text",
    ),
    pytest.param(
        [
            Edit(
                "rules.yaml",
                "because: You rated your pain 7 or more.",
                'because: "You rated your pain \\u202e7 or more."',
            )
        ],
        [
            "rules.yaml, line 48: rule 'high-pain', because: contains the invisible formatting "
            "character U+202E: remove it (it does not show, or changes how the text around it "
            "shows)"
        ],
        id="right-to-left-override-in-patient-text",
    ),
    pytest.param(
        [Edit("guide.yaml", "title: About back pain", 'title: "About back\\u200b pain"')],
        [
            "guide.yaml, line 7: section 'basics', title: contains the invisible "
            "formatting character U+200B: remove it (it does not show, or changes how the text "
            "around it shows)"
        ],
        id="zero-width-space-in-a-title",
    ),
    pytest.param(
        [
            Edit(
                "guide.yaml",
                "body: Back pain is common. Most of it gets better within weeks.",
                'body: "Back pain is common.\\u0085Most of it gets better within weeks."',
            )
        ],
        [
            "guide.yaml, line 9: section 'basics', body: contains the control character "
            f"U+0085: remove it {CONTROL}"
        ],
        id="c1-control-in-guide",
    ),
    pytest.param(
        [
            Edit(
                "questionnaire.yaml",
                "label: Can someone drive you home?",
                'label: "Can\\r someone drive you home?"',
            )
        ],
        [
            "questionnaire.yaml, line 76: page 'getting-home', question 'driver', label: "
            f"contains the control character U+000D: remove it {CONTROL}"
        ],
        id="carriage-return-in-label",
    ),
    pytest.param(
        [Edit("rules.yaml", "description: For everyone.", 'description: "For\\x7f everyone."')],
        [
            "rules.yaml, line 3: rule 'core', description: contains the control character "
            f"U+007F: remove it {CONTROL}"
        ],
        id="delete-in-description",
    ),
    pytest.param(
        [Edit("ruleset.yaml", '  diabetes: "no"', '  diabetes: "no\\x00"')],
        [
            "ruleset.yaml, line 8: example_base.diabetes: not a valid answer: diabetes: Select one "
            "of the options shown for 'Is diabetes one of your health conditions?' "
            "(allowed: yes, no, not_sure)",
            "ruleset.yaml, line 8: example_base.diabetes: contains the control character "
            f"U+0000: remove it {CONTROL}",
        ],
        id="nul-in-example-answer",
    ),
]


def test_the_minimal_rule_set_is_valid() -> None:
    ruleset, problems = check_ruleset(MINIMAL)
    assert [str(p) for p in problems] == []
    assert ruleset is not None


@pytest.mark.parametrize(("edits", "expected"), CASES + YAML_CASES + VALUE_CASES)
def test_broken_rule_set_gives_exact_messages(
    tmp_path: Path, edits: list[Edit | Remove | Rewrite], expected: list[str]
) -> None:
    ruleset, problems = check_ruleset(broken_copy(tmp_path, edits))
    assert ruleset is None
    assert [str(problem) for problem in problems] == expected


def test_load_ruleset_raises_with_every_message(tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, [Edit("rules.yaml", "sections: [basics]", "sections: [basic]")])
    with pytest.raises(RulesetError) as raised:
        load_ruleset(folder)
    assert raised.value.errors == [
        "rules.yaml, line 7: rule 'core', add.sections[0]: unknown section 'basic' "
        "(not in guide.yaml)",
        "guide.yaml, line 6: section 'basics': no rule adds this section, so no patient can see it",
    ]
    assert str(raised.value) == "\n".join(raised.value.errors)


def test_three_mistakes_in_one_file_give_three_lines(tmp_path: Path) -> None:
    folder = broken_copy(
        tmp_path,
        [
            Edit(
                "questions.yaml",
                "{id: safety, title: My safety}",
                "{id: safety, title: Me, colour: red}",
            ),
            Edit("questions.yaml", "  - id: ask-right-for-me", "  - id: Ask-Right"),
            Edit(
                "questions.yaml",
                "    category: safety\n",
                "    category: safety\n    urgent: true\n",
            ),
        ],
    )
    assert messages(folder) == [
        "questions.yaml, line 3: category 'safety', colour: unknown key 'colour'; "
        "allowed keys: id, title",
        "questions.yaml, line 5: question 'Ask-Right', id: 'Ask-Right' is not a valid id: "
        "use lower-case letters, digits, '_' and '-'",
        "questions.yaml, line 10: question 'ask-blood-thinner-plan', urgent: unknown key "
        "'urgent'; allowed keys: id, category, text",
    ]


def test_mistakes_in_several_files_are_all_reported_in_one_run(tmp_path: Path) -> None:
    folder = broken_copy(
        tmp_path,
        [
            Edit("rules.yaml", "value: saddle_numbness}", "value: saddle}"),
            Edit("rules.yaml", "  - id: high-pain", "  - id: core"),
            Edit("guide.yaml", "body: Back pain is common.", "body: We recommend rest."),
            Edit(
                "notes.yaml",
                "text: Tell your care team about the",
                "txt: Tell your care team about the",
            ),
        ],
    )
    assert messages(folder) == [
        "notes.yaml, line 4: note 'tell-urgent-symptoms': missing required key 'text'",
        "notes.yaml, line 5: note 'tell-urgent-symptoms', txt: unknown key 'txt'; "
        "allowed keys: id, text",
        "guide.yaml, line 9: section 'basics', body: unsafe wording, recommends something: "
        f"'recommend'. {SAFE_INSTEAD}",
    ]
    # Cross-references need every file to be readable; once notes.yaml is, they are reported
    # with the wording, all in one run.
    (folder / "notes.yaml").write_text(
        (MINIMAL / "notes.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert messages(folder) == [
        "rules.yaml, line 42: rule 'core', id: duplicate rule id 'core'",
        "rules.yaml, line 31: rule 'red-flag-saddle', when.contains: 'saddle' is not a choice "
        f"of 'red_flags'; allowed: {RED_FLAG_CHOICES}",
        "guide.yaml, line 9: section 'basics', body: unsafe wording, recommends something: "
        f"'recommend'. {SAFE_INSTEAD}",
    ]


def test_an_alias_bomb_is_refused_without_being_expanded(tmp_path: Path) -> None:
    # Each line lists the one before it ten times: six lines stand for a million texts.
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 7)]
    folder = broken_copy(tmp_path, [Rewrite("notes.yaml", "\n".join(lines) + "\n")])
    assert messages(folder) == [
        f"notes.yaml, line {n + 1}: the {kind} '{sign}l{m}' is not allowed: {NO_REFERENCES}"
        for n in range(7)
        for kind, sign, m in (("anchor", "&", n), ("alias", "*", n - 1))
        if m >= 0
    ]


def test_a_condition_nested_up_to_the_limit_is_loaded_and_evaluated(tmp_path: Path) -> None:
    # rules > list > rule > {not: ...} x 44 > in > its arguments > values: MAX_DEPTH levels.
    levels = MAX_DEPTH - 6
    assert levels % 2 == 0, "an even number of 'not' keeps the rule's meaning"
    condition = 'in: {field: blood_thinners, values: ["yes", not_sure]}'
    folder = broken_copy(
        tmp_path,
        [Edit("rules.yaml", condition, nested("{not: ", "}", levels, "{" + condition + "}"))],
    )
    ruleset = load_ruleset(folder)
    answers = ruleset.validate({**ruleset.example_base, "blood_thinners": "yes"})
    assert [rule.id for rule in ruleset.fired(answers)] == ["core", "blood-thinners"]
    one_more = broken_copy(
        tmp_path / "deeper",
        [Edit("rules.yaml", condition, nested("{not: ", "}", levels + 1, "{" + condition + "}"))],
    )
    assert messages(one_more) == [f"rules.yaml, line 16: {TOO_DEEP}"]


def test_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    ruleset, problems = check_ruleset(tmp_path / "nowhere")
    assert ruleset is None
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'nowhere'}: is not a folder holding the rule files"
    ]


def test_every_file_missing_is_named(tmp_path: Path) -> None:
    assert messages(tmp_path) == [f"{name}: file is missing" for name in RULE_FILES]


# -- the check-rules and evaluate commands ----------------------------------------------


def test_check_rules_on_the_shipped_set_prints_a_summary() -> None:
    ruleset = load_ruleset(SHIPPED)
    result = CliRunner().invoke(cli, ["check-rules", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    summary = result.stdout.strip()
    assert summary.startswith("ok: ")
    for part in (
        f"{len(ruleset.pages)} pages",
        f"{len(ruleset.questions)} questions",
        f"{len(ruleset.guide)} guide sections",
        f"{len(ruleset.bank)} questions to ask",
        f"{len(ruleset.notes)} care-team notes",
        f"{len(ruleset.rules)} rules",
        f"version {ruleset.version}",
        f"sha256 {ruleset.sha256}",
    ):
        assert part in summary


def test_check_rules_without_argument_checks_the_shipped_set() -> None:
    result = CliRunner().invoke(cli, ["check-rules"])
    assert result.exit_code == 0, result.output
    assert f"sha256 {load_ruleset(SHIPPED).sha256}" in result.stdout


def test_check_rules_on_a_broken_set_exits_1_with_every_line_on_stderr(tmp_path: Path) -> None:
    folder = broken_copy(
        tmp_path,
        [
            Edit("rules.yaml", "sections: [basics]", "sections: [basic]"),
            Remove("notes.yaml"),
        ],
    )
    result = CliRunner().invoke(cli, ["check-rules", str(folder)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "notes.yaml: file is missing",
        f"1 problem(s) found in {folder}",
    ]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (Edit("rules.yaml", "all: []", nested("{not: ", "}", 990)), f"line 5: {TOO_DEEP}"),
        (
            Rewrite("notes.yaml", "care_team_notes: &a [*a]\n"),
            f"line 1: the anchor '&a' is not allowed: {NO_REFERENCES}",
        ),
        (
            Edit("ruleset.yaml", "format: 1", "format: " + "1" * 5000),
            "line 1: a number with 5000 digits is too long",
        ),
    ],
    ids=["deep", "alias", "long-number"],
)
def test_check_rules_reports_unreadable_yaml_without_a_traceback(
    tmp_path: Path, edit: Edit | Rewrite, expected: str
) -> None:
    folder = broken_copy(tmp_path, [edit])
    result = CliRunner().invoke(cli, ["check-rules", str(folder)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{edit.file}, {expected}" in result.stderr
    assert "Traceback" not in result.output


def test_check_rules_on_a_missing_folder_is_a_clear_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check-rules", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{tmp_path / 'nowhere'}: is not a folder holding the rule files"
    )
    assert "Traceback" not in result.output


def test_evaluate_with_a_missing_rules_folder_is_a_clear_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["evaluate", "-", "--rules", str(tmp_path / "nowhere")], input="{}"
    )
    assert result.exit_code == 1
    assert (
        result.stderr.strip() == f"{tmp_path / 'nowhere'}: is not a folder holding the rule files"
    )


def test_evaluate_with_a_missing_answers_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "answers.json")])
    assert result.exit_code == 2
    assert "answers.json" in result.stderr
    assert "No such file or directory" in result.stderr
    assert "Traceback" not in result.output


def test_evaluate_with_bad_json_names_the_problem() -> None:
    result = CliRunner().invoke(cli, ["evaluate", "-"], input="{not json")
    assert result.exit_code == 1
    assert result.stderr.startswith("<stdin>: not valid JSON: ")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            "[" * 100_000 + "]" * 100_000,
            "The body is nested too deeply: at most 8 levels are allowed.",
            id="nested-100000-deep",
        ),
        pytest.param(
            '{"red_flags": ' + "[" * 20 + "]" * 20 + "}",
            "The body is nested too deeply: at most 8 levels are allowed.",
            id="nested-deeper-than-an-answer-set",
        ),
        pytest.param(
            '{"pain_duration": ' + "9" * 5000 + "}",
            "A number in the body is 5000 characters long; at most 32 allowed.",
            id="integer-of-5000-digits",
        ),
        pytest.param(
            '{"pain_score": NaN}',
            "The body contains NaN, which is not allowed. Use a finite number.",
            id="not-a-number",
        ),
        pytest.param(
            '{"diabetes": "no", "diabetes": "yes"}',
            'The key "diabetes" appears more than once in one object. Give each answer once.',
            id="duplicate-key",
        ),
        pytest.param(
            '{"anything_else": "half \\ud800 a character"}',
            "The body contains a \\u escape that is not a whole character (a lone surrogate). "
            "Send text as real Unicode characters.",
            id="lone-surrogate",
        ),
    ],
)
def test_evaluate_holds_the_answers_file_to_the_apis_limits(
    tmp_path: Path, content: str, message: str
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", str(answers)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stderr == f"{answers}: {message}\n"


def test_evaluate_stops_reading_at_the_apis_size_limit() -> None:
    # An endless input such as /dev/zero would otherwise be read until memory runs out.
    result = CliRunner().invoke(cli, ["evaluate", "-"], input=b" " * (MAX_ANSWERS_BYTES + 1))
    assert result.exit_code == 1
    assert result.stderr == (
        "<stdin>: the file is larger than 256 KiB, the most allowed for one answer set\n"
    )
    blank = CliRunner().invoke(cli, ["evaluate", "-"], input=b" " * MAX_ANSWERS_BYTES)
    assert blank.stderr.startswith("<stdin>: not valid JSON: Expecting value")


def test_evaluate_names_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_bytes(b'{"anything_else": "caf\xe9"}')
    result = CliRunner().invoke(cli, ["evaluate", str(answers)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{answers}: not UTF-8 text (bad byte at position 22); save it as UTF-8\n"
    )


def test_evaluate_with_bad_answers_names_each_field() -> None:
    result = CliRunner().invoke(
        cli,
        ["evaluate", "-"],
        input='{"pain_duration": "forever", "conservative_care": ["none"], "blood_thinners": "no",'
        ' "diabetes": "no", "infection": "no", "red_flags": ["none"], "mood": "fine"}',
    )
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "pain_duration: Select one of the options shown for how long you have had this pain "
        "(allowed: under_6_weeks, 6_to_12_weeks, 3_to_6_months, over_6_months)"
    )
    assert lines[1].startswith("mood: This is not a question of this form (allowed: ")
    assert len(lines) == 2
