"""The JSON Schema of the answers says what validation checks for ticked lists: each choice at
most once, and "none" only on its own. Schema and validator must agree, both ways."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from support.answer_sets import TYPICAL

from questionnaire.engine import AnswersError, RuleSet


def accepted(ruleset: RuleSet, answers: dict[str, Any]) -> bool:
    try:
        ruleset.validate(answers)
    except AnswersError:
        return False
    return True


@pytest.mark.parametrize(
    ("field", "ticked", "valid"),
    [
        ("red_flags", ["none"], True),
        ("red_flags", ["cancer_history", "saddle_numbness"], True),
        ("red_flags", ["none", "cancer_history"], False),
        ("red_flags", ["cancer_history", "none"], False),
        ("red_flags", ["cancer_history", "cancer_history"], False),
        ("red_flags", ["none", "none"], False),
        ("conservative_care", ["home_exercise", "none"], False),
        ("conservative_care", ["home_exercise", "heat_or_cold"], True),
        # An optional any_of question (no "none" choice) still takes each choice once only.
        ("pain_location", ["neck", "neck"], False),
        ("pain_location", ["neck", "lower_back"], True),
    ],
)
def test_schema_and_validation_agree_on_ticked_lists(
    ruleset: RuleSet, field: str, ticked: list[str], valid: bool
) -> None:
    answers = {**TYPICAL, field: ticked}
    schema = Draft202012Validator(ruleset.answers_json_schema())

    assert schema.is_valid(answers) is valid
    assert accepted(ruleset, answers) is valid


def test_every_ticked_list_is_unique_and_none_stands_alone_in_the_schema(
    ruleset: RuleSet,
) -> None:
    properties = ruleset.answers_json_schema()["properties"]
    for question in ruleset.questions:
        if question.kind != "any_of":
            continue
        schema = properties[question.id]
        # An optional question is "array or null".
        options = [schema] if schema.get("type") == "array" else schema["anyOf"]
        array = next(option for option in options if option.get("type") == "array")
        assert array["uniqueItems"] is True, question.id
        alone = {"anyOf": [{"not": {"contains": {"const": "none"}}}, {"maxItems": 1}]}
        if "none" in question.choice_ids:
            assert array["anyOf"] == alone["anyOf"], question.id
        else:
            assert "anyOf" not in array, question.id
