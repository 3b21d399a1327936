"""What each operator of the condition language means, on the compiled callables."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from questionnaire.engine import RuleSet
from questionnaire.engine.conditions import Condition, Predicate, compile_condition, to_json
from questionnaire.engine.definition import Rule
from questionnaire.engine.ruleset import FiringIndex

CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)


def compiled(data: dict[str, Any]) -> Predicate:
    return compile_condition(CONDITION.validate_python(data))


YES = {"equals": {"field": "blood_thinners", "value": "yes"}}
NO = {"equals": {"field": "blood_thinners", "value": "no"}}
SADDLE = {"contains": {"field": "red_flags", "value": "saddle_numbness"}}
ALWAYS: dict[str, Any] = {"all": []}
NEVER = {"not": ALWAYS}

# (condition, answers, expected): answers are shaped as validate() leaves them, so an
# unanswered question is absent, never None.
TABLE = [
    # equals
    (YES, {"blood_thinners": "yes"}, True),
    (YES, {"blood_thinners": "not_sure"}, False),
    (YES, {}, False),
    ({"equals": {"field": "pain_score", "value": 7}}, {"pain_score": 7}, True),
    ({"equals": {"field": "pain_score", "value": 7}}, {"pain_score": 8}, False),
    # not_equals: only an answered field can differ
    ({"not_equals": {"field": "diabetes", "value": "no"}}, {"diabetes": "yes"}, True),
    ({"not_equals": {"field": "diabetes", "value": "no"}}, {"diabetes": "not_sure"}, True),
    ({"not_equals": {"field": "diabetes", "value": "no"}}, {"diabetes": "no"}, False),
    ({"not_equals": {"field": "diabetes", "value": "no"}}, {}, False),
    # in
    ({"in": {"field": "infection", "values": ["yes", "not_sure"]}}, {"infection": "yes"}, True),
    (
        {"in": {"field": "infection", "values": ["yes", "not_sure"]}},
        {"infection": "not_sure"},
        True,
    ),
    ({"in": {"field": "infection", "values": ["yes", "not_sure"]}}, {"infection": "no"}, False),
    ({"in": {"field": "infection", "values": ["yes", "not_sure"]}}, {}, False),
    # contains: among the ticked choices of an any_of answer
    (SADDLE, {"red_flags": ["saddle_numbness"]}, True),
    (SADDLE, {"red_flags": ["bladder_or_bowel_change", "saddle_numbness"]}, True),
    (SADDLE, {"red_flags": ["bladder_or_bowel_change"]}, False),
    (SADDLE, {"red_flags": ["none"]}, False),
    (SADDLE, {}, False),
    # at_least / at_most: bounds included, unanswered never holds
    ({"at_least": {"field": "pain_score", "value": 7}}, {"pain_score": 7}, True),
    ({"at_least": {"field": "pain_score", "value": 7}}, {"pain_score": 10}, True),
    ({"at_least": {"field": "pain_score", "value": 7}}, {"pain_score": 6}, False),
    ({"at_least": {"field": "pain_score", "value": 7}}, {}, False),
    ({"at_least": {"field": "pain_score", "value": 0}}, {"pain_score": 0}, True),
    ({"at_most": {"field": "pain_score", "value": 3}}, {"pain_score": 3}, True),
    ({"at_most": {"field": "pain_score", "value": 3}}, {"pain_score": 0}, True),
    ({"at_most": {"field": "pain_score", "value": 3}}, {"pain_score": 4}, False),
    ({"at_most": {"field": "pain_score", "value": 3}}, {}, False),
    ({"at_least": {"field": "pain_score", "value": 6.5}}, {"pain_score": 7}, True),
    ({"at_least": {"field": "pain_score", "value": 6.5}}, {"pain_score": 6}, False),
    # answered: any kind, including 0 and text
    ({"answered": "pain_score"}, {"pain_score": 0}, True),
    ({"answered": "anything_else"}, {"anything_else": "a note"}, True),
    ({"answered": "allergies"}, {"allergies": ["none"]}, True),
    ({"answered": "pain_score"}, {}, False),
    # all: every one holds; an empty all always holds
    (ALWAYS, {}, True),
    (ALWAYS, {"blood_thinners": "no"}, True),
    ({"all": [YES]}, {"blood_thinners": "yes"}, True),
    ({"all": [YES, SADDLE]}, {"blood_thinners": "yes", "red_flags": ["saddle_numbness"]}, True),
    ({"all": [YES, SADDLE]}, {"blood_thinners": "yes", "red_flags": ["none"]}, False),
    ({"all": [YES, SADDLE]}, {"red_flags": ["saddle_numbness"]}, False),
    # any: at least one holds
    ({"any": [YES]}, {"blood_thinners": "yes"}, True),
    ({"any": [YES, SADDLE]}, {"red_flags": ["saddle_numbness"]}, True),
    ({"any": [YES, SADDLE]}, {"blood_thinners": "yes"}, True),
    ({"any": [YES, SADDLE]}, {"blood_thinners": "no", "red_flags": ["none"]}, False),
    ({"any": [YES, SADDLE]}, {}, False),
    # not: the condition does not hold, which includes "not answered"
    ({"not": YES}, {"blood_thinners": "no"}, True),
    ({"not": YES}, {}, True),
    ({"not": YES}, {"blood_thinners": "yes"}, False),
    (NEVER, {}, False),
    ({"not": {"not": YES}}, {"blood_thinners": "yes"}, True),
    # nesting
    (
        {
            "all": [
                {"any": [YES, {"equals": {"field": "blood_thinners", "value": "not_sure"}}]},
                {"not": SADDLE},
            ]
        },
        {"blood_thinners": "not_sure", "red_flags": ["none"]},
        True,
    ),
    (
        {
            "all": [
                {"any": [YES, {"equals": {"field": "blood_thinners", "value": "not_sure"}}]},
                {"not": SADDLE},
            ]
        },
        {"blood_thinners": "not_sure", "red_flags": ["saddle_numbness"]},
        False,
    ),
    ({"any": [NO, {"all": []}]}, {}, True),
]


@pytest.mark.parametrize(("condition", "answers", "expected"), TABLE)
def test_operator_semantics(
    condition: dict[str, Any], answers: dict[str, Any], expected: bool
) -> None:
    result = compiled(condition)(answers)
    assert result is expected


def test_compiled_conditions_only_read_the_answers() -> None:
    answers = {"blood_thinners": "yes", "red_flags": ["saddle_numbness"]}
    before = {
        key: list(value) if isinstance(value, list) else value for key, value in answers.items()
    }
    compiled({"all": [YES, SADDLE, {"not": NO}, {"answered": "pain_score"}]})(answers)
    assert answers == before


def test_a_condition_is_compiled_once_and_reused() -> None:
    predicate = compiled({"any": [YES, SADDLE]})
    assert [predicate({"blood_thinners": value}) for value in ("yes", "no", "yes")] == [
        True,
        False,
        True,
    ]


def test_conditions_round_trip_to_their_yaml_form() -> None:
    data = {"all": [{"in": {"field": "infection", "values": ["yes", "not_sure"]}}, {"not": SADDLE}]}
    assert to_json(CONDITION.validate_python(data)) == data


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            {"equals": {"field": "x", "value": "a"}, "contains": {"field": "x", "value": "a"}},
            id="two-operators",
        ),
        pytest.param({"greater": {"field": "x", "value": 1}}, id="unknown-operator"),
        pytest.param({}, id="no-operator"),
        pytest.param("equals", id="not-a-mapping"),
        pytest.param({"any": []}, id="empty-any"),
        pytest.param({"in": {"field": "x", "values": []}}, id="empty-in"),
        pytest.param({"equals": {"field": "x"}}, id="missing-value"),
        pytest.param({"equals": {"field": "x", "value": "a", "extra": 1}}, id="extra-key"),
        pytest.param({"equals": {"field": "x", "value": True}}, id="boolean-value"),
        pytest.param({"equals": {"field": "x", "value": None}}, id="null-value"),
        pytest.param({"at_least": {"field": "x", "value": "7"}}, id="number-as-text"),
        pytest.param({"not": [YES]}, id="not-with-a-list"),
        pytest.param({"all": YES}, id="all-without-a-list"),
        pytest.param({"answered": {"field": "x"}}, id="answered-takes-a-field-id"),
    ],
)
def test_malformed_conditions_are_refused(data: Any) -> None:
    with pytest.raises(ValidationError):
        CONDITION.validate_python(data)


# -- the firing index used by RuleSet.evaluate -----------------------------------------------

# Conditions over the shipped questionnaire: table-driven ones (single-field tests and ``any``
# of them) and ones left to their callables (``not``, ``all`` of several, text fields).
INDEXED_AND_NOT = [
    {"all": []},
    YES,
    {"not_equals": {"field": "diabetes", "value": "no"}},
    {"in": {"field": "infection", "values": ["yes", "not_sure"]}},
    SADDLE,
    {"at_least": {"field": "pain_score", "value": 7}},
    {"at_most": {"field": "pain_score", "value": 2}},
    {"at_least": {"field": "pain_score", "value": 6.5}},
    {"equals": {"field": "pain_score", "value": 0}},
    {"not_equals": {"field": "pain_score", "value": 5}},
    {"answered": "pain_score"},
    {"answered": "allergies"},
    {"answered": "anything_else"},
    {"any": [SADDLE, {"contains": {"field": "red_flags", "value": "fever_or_chills"}}]},
    {"any": [YES, {"equals": {"field": "diabetes", "value": "yes"}}]},
    {"any": [YES, {"answered": "blood_thinner_name"}]},
    {"all": [YES]},
    {"all": [YES, {"equals": {"field": "diabetes", "value": "yes"}}]},
    {"not": SADDLE},
    {"not": {"answered": "pain_score"}},
]


def random_answer_sets(ruleset: RuleSet, count: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    sets = []
    for _ in range(count):
        raw: dict[str, Any] = {}
        for question in ruleset.questions:
            if rng.random() < 0.3 and not question.required:
                continue
            if not ruleset.is_visible(question, raw):
                continue
            if question.kind == "any_of":
                choices = [c for c in question.choice_ids if c != "none"]
                raw[question.id] = (
                    ["none"]
                    if "none" in question.choice_ids and rng.random() < 0.3
                    else rng.sample(choices, rng.randint(1, len(choices)))
                )
            elif question.kind == "number":
                assert question.minimum is not None and question.maximum is not None
                raw[question.id] = rng.randint(question.minimum, question.maximum)
            elif question.kind == "short_text":
                raw[question.id] = "some words"
            else:
                raw[question.id] = rng.choice(question.choice_ids)
        sets.append(ruleset.validate(raw))
    return sets


def test_the_firing_index_agrees_with_every_compiled_condition(ruleset: RuleSet) -> None:
    rules = [
        Rule.model_validate(
            {
                "id": f"rule-{index}",
                "description": "A test.",
                "when": when,
                "add": {},
                "because": "A test.",
                "examples": {"fires": [{}]},
            }
        )
        for index, when in enumerate(INDEXED_AND_NOT)
    ]
    tests = [compile_condition(rule.when) for rule in rules]
    index = FiringIndex(rules, tests, ruleset.question_by_id)
    assert len(index.fallback) == 5, "the not, all-of-several and text conditions keep callables"
    seen_fired = set()
    for answers in [{}, *random_answer_sets(ruleset, 500)]:
        mask = index.mask(answers)
        expected = [test(answers) for test in tests]
        assert [bool(mask >> bit & 1) for bit in range(len(rules))] == expected, answers
        seen_fired |= {bit for bit, fired in enumerate(expected) if fired}
    assert seen_fired == set(range(len(rules))), "every condition fired at least once"


def test_the_shipped_rules_fire_the_same_through_the_index(ruleset: RuleSet) -> None:
    tests = [compile_condition(rule.when) for rule in ruleset.rules]
    for answers in random_answer_sets(ruleset, 300):
        assert [rule.id for rule in ruleset.fired(answers)] == [
            rule.id for rule, test in zip(ruleset.rules, tests, strict=True) if test(answers)
        ]
        assert [r.id for r in ruleset.evaluate(answers).fired_rules] == [
            r.id for r in ruleset.fired(answers)
        ]
