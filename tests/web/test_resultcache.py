"""What is made from a Result is made once per Result object, found only for that very object,
and kept within a bound."""

from __future__ import annotations

import json

from flask import Flask
from support.answer_sets import TYPICAL

from questionnaire.engine import RuleSet
from questionnaire.engine.result import Result
from questionnaire.web.resultcache import ResultMemo, result_data, result_json


def evaluated(ruleset: RuleSet) -> Result:
    return ruleset.evaluate(ruleset.validate(TYPICAL))


def test_the_data_and_json_are_the_results_own_and_made_once(app: Flask, ruleset: RuleSet) -> None:
    result = evaluated(ruleset)
    with app.app_context():
        data = result_data(result)
        text = result_json(result)
        assert data == result.model_dump(mode="json")
        assert json.loads(text) == data
        assert result_data(result) is data
        assert result_json(result) is text


def test_an_equal_but_rebuilt_result_gets_an_entry_of_its_own() -> None:
    memo = ResultMemo()
    first = Result.model_validate({**_minimal(), "urgent": False})
    rebuilt = first.model_copy()
    assert rebuilt == first and rebuilt is not first
    assert memo.get(first, "k", lambda: "first") == "first"
    assert memo.get(rebuilt, "k", lambda: "rebuilt") == "rebuilt"
    assert memo.get(first, "k", lambda: "again") == "first"


def test_the_least_recently_used_entries_go_first() -> None:
    memo = ResultMemo(max_entries=2)
    results = [Result.model_validate({**_minimal(), "urgent_reasons": [str(n)]}) for n in range(3)]
    memo.get(results[0], "k", lambda: 0)
    memo.get(results[1], "k", lambda: 1)
    memo.get(results[0], "k", lambda: -1)  # used again: now the most recent
    memo.get(results[2], "k", lambda: 2)
    assert len(memo) == 2
    assert memo.get(results[0], "k", lambda: -1) == 0
    assert memo.get(results[1], "k", lambda: "made again") == "made again"


def _minimal() -> dict[str, object]:
    return {
        "urgent": False,
        "urgent_reasons": [],
        "sections": [],
        "questions": [],
        "care_team_notes": [],
        "disclaimer": "Talk to your doctor.",
        "ruleset": {"version": "1", "sha256": "0" * 64},
        "fired_rules": [],
    }
