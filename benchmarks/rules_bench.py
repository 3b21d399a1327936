"""How fast the shipped rule set loads and evaluates, against JSON Logic as a baseline.

The same rules are translated from the engine's condition models into JSON Logic and run through
the ``json-logic-modernized`` package over the same answer sets in the same run; both must agree
on which rules fire for every set. Goals: load and compile <= 100 ms, median evaluate <= 10 us,
at least 50 times faster than JSON Logic.

Run: .venv/bin/python benchmarks/rules_bench.py
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from json_logic import jsonLogic

from questionnaire.engine import RuleSet, load_ruleset
from questionnaire.engine import conditions as cond
from questionnaire.engine.definition import NONE_CHOICE, Question

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
LOADS = 20
ANSWER_SETS = 400
ROUNDS = 30
SEED = 20261124
GOALS = {"median_us": 10.0, "ratio_vs_jsonlogic": 50.0, "load_ms": 100.0}


# -- the baseline: JSON Logic -------------------------------------------------------------


def to_json_logic(condition: Any) -> Any:
    """The engine's condition model as a JSON Logic rule with the same meaning."""
    if isinstance(condition, cond.All):
        return {"and": [to_json_logic(child) for child in condition.all]}
    if isinstance(condition, cond.AnyOf):
        return {"or": [to_json_logic(child) for child in condition.any]}
    if isinstance(condition, cond.Not):
        return {"!": [to_json_logic(condition.not_)]}
    if isinstance(condition, cond.Answered):
        return {"!=": [{"var": condition.answered}, None]}
    field = {"var": cond.field_of(condition)}
    if isinstance(condition, cond.Equals):
        return {"==": [field, condition.equals.value]}
    if isinstance(condition, cond.NotEquals):
        # Only an answered field differs from a value.
        return {"and": [{"!=": [field, None]}, {"!=": [field, condition.not_equals.value]}]}
    if isinstance(condition, cond.In):
        return {"in": [field, list(condition.in_.values)]}
    if isinstance(condition, cond.Contains):
        return {"in": [condition.contains.value, field]}
    if isinstance(condition, cond.AtLeast):
        return {">=": [field, condition.at_least.value]}
    if isinstance(condition, cond.AtMost):
        return {"<=": [field, condition.at_most.value]}
    raise TypeError(f"no JSON Logic form for {condition!r}")


# -- answer sets --------------------------------------------------------------------------


def random_answer(question: Question, rng: random.Random) -> Any:
    if question.kind == "any_of":
        others = [c for c in question.choice_ids if c != NONE_CHOICE]
        if NONE_CHOICE in question.choice_ids and rng.random() < 0.4:
            return [NONE_CHOICE]
        return rng.sample(others, rng.randint(1, min(3, len(others))))
    if question.kind in ("one_of", "yes_no"):
        return rng.choice(question.choice_ids)
    if question.kind == "number":
        assert question.minimum is not None and question.maximum is not None
        return rng.randint(question.minimum, question.maximum)
    return rng.choice(["warfarin", "a slipped disc", "penicillin", "I get dizzy with needles"])


def answer_sets(ruleset: RuleSet, count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` different validated answer sets: every contract field, most others, and the
    follow-ups whenever their parent makes them asked."""
    rng = random.Random(seed)
    found: dict[str, dict[str, Any]] = {}
    while len(found) < count:
        raw: dict[str, Any] = {}
        for question in ruleset.questions:
            optional = not question.required and question.enable_when is None
            if optional and rng.random() < 0.3:
                continue
            if ruleset.is_visible(question, raw):
                raw[question.id] = random_answer(question, rng)
        answers = ruleset.validate(raw)
        found.setdefault(repr(sorted(answers.items())), answers)
    return list(found.values())


def coverage(sets: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "with red flags": sum(a["red_flags"] != [NONE_CHOICE] for a in sets),
        "with yes/not_sure on a safety topic": sum(
            any(a[f] != "no" for f in ("blood_thinners", "diabetes", "infection")) for a in sets
        ),
        "with a follow-up answered": sum(
            any(
                f in a
                for f in (
                    "blood_thinner_name",
                    "diabetes_control",
                    "injection_relief",
                    "allergy_other",
                )
            )
            for a in sets
        ),
    }


# -- timing -------------------------------------------------------------------------------


def timer_overhead_ns() -> float:
    """What reading the clock twice costs, taken off every sample."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(20000):
        start = clock()
        samples.append(clock() - start)
    return statistics.median(samples)


def time_each(
    sets: list[dict[str, Any]],
    run: Callable[[dict[str, Any]], Any],
    rounds: int,
    overhead_ns: float,
) -> list[float]:
    """Microseconds per call, one sample per call."""
    clock = time.perf_counter_ns
    samples: list[float] = []
    gc.disable()
    try:
        for _ in range(rounds):
            for answers in sets:
                start = clock()
                run(answers)
                samples.append(max(0.0, clock() - start - overhead_ns) / 1000)
    finally:
        gc.enable()
    return samples


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def main() -> int:
    load_ms = []
    for _ in range(LOADS):
        start = time.perf_counter()
        ruleset = load_ruleset(RULES_DIR)
        load_ms.append((time.perf_counter() - start) * 1000)
    load = statistics.median(load_ms)
    print(
        f"load+compile of rules/ (median of {LOADS} fresh loads): {load:.1f} ms "
        f"(min {min(load_ms):.1f} ms)"
    )

    sets = answer_sets(ruleset, ANSWER_SETS, SEED)
    print(
        f"answer sets: {len(sets)} different, seed {SEED}; "
        + ", ".join(f"{v} {k}" for k, v in coverage(sets).items())
    )

    logic = [(rule.id, to_json_logic(rule.when)) for rule in ruleset.rules]
    for answers in sets:
        ours = [rule.id for rule in ruleset.evaluate(answers).fired_rules]
        theirs = [rule_id for rule_id, rule in logic if jsonLogic(rule, answers)]
        assert ours == theirs, f"the engines disagree on {answers}: {ours} != {theirs}"
    print(f"agreement: both fire the same rules on all {len(sets)} sets ({len(logic)} rules each)")

    # The result of a combination of fired rules is built once and shared; the first round warms
    # that cache exactly as the first patients with those answers would.
    overhead = timer_overhead_ns()
    print(f"clock overhead taken off each sample: {overhead:.0f} ns")
    evaluate = time_each(sets, ruleset.evaluate, ROUNDS, overhead)
    fired = time_each(sets, ruleset.fired, ROUNDS, overhead)

    def json_logic_fired(answers: dict[str, Any]) -> list[str]:
        return [rule_id for rule_id, rule in logic if jsonLogic(rule, answers)]

    baseline = time_each(sets, json_logic_fired, max(1, ROUNDS // 10), overhead)

    median_us, p99_us = statistics.median(evaluate), p99(evaluate)
    baseline_us = statistics.median(baseline)
    ratio = baseline_us / median_us
    print(f"rs.evaluate: median {median_us:.2f} us, p99 {p99_us:.2f} us ({len(evaluate)} calls)")
    print(
        f"rs.fired (the fired rules only): median {statistics.median(fired):.2f} us, "
        f"p99 {p99(fired):.2f} us"
    )
    print(
        f"JSON Logic, same rules and sets: median {baseline_us:.2f} us, p99 {p99(baseline):.2f} us"
    )
    print(f"ratio JSON Logic / rs.evaluate: {ratio:.1f}x")

    figures = {"median_us": median_us, "ratio_vs_jsonlogic": ratio, "load_ms": load}
    missed = [
        f"{name} {figures[name]:.2f} (goal {'>=' if name.startswith('ratio') else '<='} {goal})"
        for name, goal in GOALS.items()
        if (figures[name] < goal if name.startswith("ratio") else figures[name] > goal)
    ]
    print("goals: " + ("all met" if not missed else "MISSED " + "; ".join(missed)))
    print(
        f"median_us={median_us:.2f} p99_us={p99_us:.2f} "
        f"ratio_vs_jsonlogic={ratio:.1f} load_ms={load:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
