"""The six files a rule set is made of, in the order their bytes enter its sha256 and a
missing one is reported."""

from __future__ import annotations

RULE_FILES = (
    "ruleset.yaml",
    "questionnaire.yaml",
    "guide.yaml",
    "questions.yaml",
    "notes.yaml",
    "rules.yaml",
)
