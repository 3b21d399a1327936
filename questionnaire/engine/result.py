"""The result of an evaluation: the JSON of PRODUCT.md, shared by the API, CLI and exports."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Because(_Model):
    """Why an item is on the sheet: the rules that added it and their plain-language reasons."""

    rule_ids: list[str]
    reason: str


class SectionOut(_Model):
    id: str
    title: str
    body: str
    because: Because


class QuestionOut(_Model):
    id: str
    text: str
    category: str
    because: Because


class NoteOut(_Model):
    id: str
    text: str
    because: Because


class FiredRule(_Model):
    id: str
    because: str


class RulesetStamp(_Model):
    version: str
    sha256: str


class Result(_Model):
    urgent: bool
    urgent_reasons: list[str]
    sections: list[SectionOut]
    questions: list[QuestionOut]
    care_team_notes: list[NoteOut]
    disclaimer: str
    ruleset: RulesetStamp
    fired_rules: list[FiredRule]
