"""Which questions a page of the form shows, and how follow-up questions are marked.

A follow-up whose ``enable_when`` refers to a question on the same page is always sent to the
browser, because the answer it depends on can change before the page is posted. It is
marked as conditional: with JavaScript off it stays visible with a note saying when to answer
it; with JavaScript on it is revealed by the choices listed in ``Reveal.values``. After the
post the engine drops its answer if it is not asked.

A follow-up asked by one choice of the question just above it is shown right under that
choice, inside the question's list of choices (the GOV.UK conditional reveal): it is kept in
``PageField.follow_ups`` of that question rather than in the page's own list. One asked by
several choices, or by answers to several questions, stays after the question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any

from questionnaire.engine.conditions import field_of, leaves
from questionnaire.engine.definition import Page, Question
from questionnaire.engine.ruleset import RuleSet

CHOICE_KINDS = ("one_of", "yes_no", "any_of")


@dataclass(frozen=True)
class Reveal:
    """How a follow-up question depends on an answer given on the same page."""

    parent: str | None  # the field whose choices reveal it; None when no single choice does
    values: tuple[str, ...]  # the parent's choice ids that ask the follow-up
    note: str  # shown with JavaScript off, e.g. "Answer only if you chose Yes"


@dataclass(frozen=True)
class PageField:
    question: Question
    reveal: Reveal | None = None
    # Follow-ups shown right under one of this question's choices (their ``under_choice``).
    follow_ups: tuple[PageField, ...] = ()

    @property
    def under_choice(self) -> str | None:
        """The one choice of the question above that asks this follow-up, if only one does."""
        reveal = self.reveal
        if reveal is not None and reveal.parent is not None and len(reveal.values) == 1:
            return reveal.values[0]
        return None

    @property
    def shape(self) -> tuple[Any, ...]:
        """What the drawn field depends on besides the answers (questions are not hashable)."""
        return (self.question.id, self.reveal, tuple(f.shape for f in self.follow_ups))


def page_fields(rs: RuleSet, page: Page, answers: Mapping[str, Any]) -> list[PageField]:
    """The fields of the page in order; a follow-up under a choice is in its question's
    ``follow_ups`` instead."""
    own = [question.id for question in page.questions]
    # Visibility may depend only on answers from other pages; this page's own come from the form.
    context = {key: value for key, value in answers.items() if key not in own}
    fields: list[PageField] = []
    for question in page.questions:
        parents = _same_page_parents(question, own)
        if not parents:
            if rs.is_visible(question, context):
                fields.append(PageField(question))
            continue
        reveal = _reveal(rs, question, parents, context)
        if reveal is not None:
            fields.append(PageField(question, reveal))
    return _nest(fields)


def _nest(fields: list[PageField]) -> list[PageField]:
    """Put each follow-up of a single choice under its question, when it comes right after
    that question, or after the question's other follow-ups, in the page's order (so the
    fields, and the error summary's links, keep the page's order)."""
    if not any(field.under_choice for field in fields):
        return fields  # most pages: nothing to nest, and nothing to copy
    top: list[_Node] = []
    chain: list[_Node] = []  # the last field placed, after the fields it is nested in
    for field in fields:
        parent = field.reveal.parent if field.reveal and field.under_choice else None
        while chain and chain[-1].field.question.id != parent:
            chain.pop()
        node = _Node(field)
        (chain[-1].children if chain else top).append(node)
        chain.append(node)
    return [node.frozen() for node in top]


@dataclass
class _Node:
    field: PageField
    children: list[_Node] = dataclass_field(default_factory=list)

    def frozen(self) -> PageField:
        if not self.children:
            return self.field
        return replace(self.field, follow_ups=tuple(child.frozen() for child in self.children))


def _same_page_parents(question: Question, own: list[str]) -> list[str]:
    if question.enable_when is None:
        return []
    referenced = {field_of(leaf) for leaf, _ in leaves(question.enable_when)}
    return [qid for qid in own if qid in referenced and qid != question.id]


def _reveal(
    rs: RuleSet, question: Question, parents: list[str], context: Mapping[str, Any]
) -> Reveal | None:
    parent = rs.question_by_id[parents[0]]
    # Asked even with the parent unanswered (e.g. "not equals"): no single choice reveals it.
    if len(parents) > 1 or parent.kind not in CHOICE_KINDS or rs.is_visible(question, context):
        # Too many combinations to list: keep the question, with a general note.
        return Reveal(None, (), "Answer only if it applies to you, given your answers above.")
    # Try each choice on its own: the ones that make the question asked are its triggers.
    values = tuple(
        choice.id
        for choice in parent.options
        if rs.is_visible(question, {**context, parent.id: _as_answer(parent, choice.id)})
    )
    if not values:
        return None  # no answer on this page can ask it, given the other pages' answers
    labels = [parent.label_of(value) for value in values]
    verb = "ticked" if parent.kind == "any_of" else "chose"
    return Reveal(parent.id, values, f"Answer only if you {verb} {_or_list(labels)}")


def _as_answer(parent: Question, choice_id: str) -> Any:
    return [choice_id] if parent.kind == "any_of" else choice_id


def _or_list(labels: list[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " or " + labels[-1]
