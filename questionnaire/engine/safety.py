"""A lint over every patient-facing text in the rule set.

The product never tells a patient they have a condition, that they need a procedure, or that
they should start, stop or change a medicine. These patterns catch the usual ways such a
sentence gets written; ``check-rules`` refuses any text that matches one.

A sentence that asks is not one that tells: "Ask your doctor whether you need a scan" and
"Is this injection right for me?" are what the product should say. So the rules that catch
telling (what a patient needs, should do or take, what is right for them) let a match pass
when its clause asks: the sentence is a question, or "whether" or "if" comes earlier in the
same clause. "If you take a blood thinner, you should stop it" still fails: the comma ends
the clause that asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from questionnaire.engine.yamlsource import Path_

# Keys whose values a patient reads. "description" is for reviewers, ids are not prose.
PATIENT_KEYS = frozenset(
    {
        "label",
        "short_label",
        "hint",
        "error_required",
        "intro",
        "title",
        "body",
        "text",
        "because",
        "urgent_reason",
        "disclaimer",
    }
)

# What a sentence about changing a medicine names: a kind of medicine, or a common one.
_MEDICINE = (
    r"(?:medicines?|medications?|tablets?|pills?|blood thinners?|insulin|doses?|treatment"
    r"|painkillers?|aspirin|warfarin|apixaban|rivaroxaban|dabigatran|clopidogrel|heparin"
    r"|metformin|steroids?)\b"
)


def _not_after_conditional(word: str) -> str:
    """``word``, unless a conditional comes just before it ("if you have" asks, not states).

    The look-behinds follow the word so that the search can skip ahead to the word itself.
    """
    conditionals = ("if", "whether", "when", "unless", "that", "what")
    return rf"\b{word}" + "".join(rf"(?<!\b{c} {word})" for c in conditionals)


@dataclass(frozen=True)
class SafetyRule:
    pattern: re.Pattern[str]
    reason: str
    # Passes where the clause asks rather than tells (see the module's docstring).
    tells: bool = False


RULES: tuple[SafetyRule, ...] = (
    SafetyRule(
        re.compile(
            _not_after_conditional("you")
            + r"(?:'ve| have| (?:probably|likely|most likely) have| are suffering from"
            r"|'re suffering from| suffer from)\b"
            r"(?! (?:to|had|tried|taken|been told|questions|any|the right|a right|someone"
            r"|a driver|pain)\b)",
            re.I,
        ),
        "states that the patient has a condition",
    ),
    SafetyRule(
        re.compile(r"\byou(?:'ll| will)? (?:need|should|must|ought to)\b", re.I),
        "tells the patient what they need or should do",
        tells=True,
    ),
    SafetyRule(
        re.compile(
            r"\b(?:stop|start|skip|quit|pause|halt|change|reduce|increase|double|hold off|hold)\b"
            r"(?: taking| using| your\b[\w\s-]{0,20}?\b" + _MEDICINE + r")"
            r"|\btake (?:less|more|half|extra)\b[\w\s-]{0,20}?\b" + _MEDICINE,
            re.I,
        ),
        "tells the patient to start, stop or change a medicine",
        tells=True,
    ),
    SafetyRule(
        re.compile(r"\b(?:do not|don't|never) take\b", re.I),
        "tells the patient not to take something",
        tells=True,
    ),
    SafetyRule(re.compile(r"\brecommend", re.I), "recommends something"),
    SafetyRule(
        re.compile(r"\byou are (?:a |an )?(?:good |ideal |suitable )?candidate\b", re.I),
        "says who is a candidate",
    ),
    SafetyRule(
        re.compile(
            r"\b(?:is|are|would be|will be)(?: (?:the|a|an))?"
            r" (?:right|best|ideal|perfect|safe|suitable|good)"
            r"(?: (?:choice|option|treatment|thing|step|fit|match))? for you\b"
            r"|\byou are (?:a )?(?:good |great |perfect )?(?:fit|match) for\b"
            r"|\b(?:will|is going to|is sure to)"
            r" (?:(?:fix|cure|heal|end|stop|help) you\b|(?:fix|cure|heal|end|stop) your)",
            re.I,
        ),
        "says what is right for the patient or promises a result",
        tells=True,
    ),
    SafetyRule(
        re.compile(
            r"\byour diagnosis is\b|\byou (?:are|were|have been) diagnosed\b|"
            + _not_after_conditional("your")
            + r" (?:back )?(?:pain|symptoms?) (?:is|are) (?:caused by|due to|coming from)\b",
            re.I,
        ),
        "states a diagnosis",
    ),
    SafetyRule(
        re.compile(
            r"\byou (?:are|were) (?:not )?(?:eligible|suitable)\b"
            r"|\byou (?:do not |don't )?qualify\b",
            re.I,
        ),
        "decides eligibility",
    ),
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_END = re.compile(r"[,;:()]")
_ASKING = re.compile(r"\b(?:whether|if)\b", re.I)


def lint_text(text: str) -> list[str]:
    """The reasons this text breaks the safety rules (empty when it is fine)."""
    found = []
    for rule in RULES:
        for sentence in _SENTENCE_END.split(text):
            match = next(
                (
                    m
                    for m in rule.pattern.finditer(sentence)
                    if not (rule.tells and _asks(sentence, m.start()))
                ),
                None,
            )
            if match is not None:
                found.append(f"{rule.reason}: '{match.group(0).strip()}'")
                break
    return found


def _asks(sentence: str, start: int) -> bool:
    """Whether the clause around ``start`` asks: a question, or after "whether" or "if"."""
    if sentence.rstrip().endswith("?"):
        return True
    clause = _CLAUSE_END.split(sentence[:start])[-1]
    return _ASKING.search(clause) is not None


def patient_texts(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    """Every patient-facing string in a file's data, with its path."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key in PATIENT_KEYS and isinstance(value, str):
                yield (*path, key), value
            elif key != "examples":
                yield from patient_texts(value, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from patient_texts(item, (*path, index))


def lint_sources(sources: Mapping[str, Any]) -> Iterator[tuple[str, Path_, str]]:
    """(file, path, message) for every unsafe text in the parsed rule files."""
    for file, data in sources.items():
        for path, text in patient_texts(data):
            for reason in lint_text(text):
                yield (
                    file,
                    path,
                    f"unsafe wording, {reason}. "
                    "Say 'ask your doctor' or 'tell your care team' instead",
                )
