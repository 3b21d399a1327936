"""A loaded, compiled rule set: validates answers and turns them into a Result."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from questionnaire.engine import conditions as cond
from questionnaire.engine.answers import (
    CONTRACT,
    AnswersError,
    FieldError,
    build_model,
    required_message,
    translate,
)
from questionnaire.engine.conditions import Predicate, compile_condition
from questionnaire.engine.definition import (
    BankQuestion,
    Category,
    Note,
    Page,
    Question,
    Rule,
    Section,
)
from questionnaire.engine.result import (
    Because,
    FiredRule,
    NoteOut,
    QuestionOut,
    Result,
    RulesetStamp,
    SectionOut,
)


@dataclass(frozen=True)
class CompiledRule:
    id: str
    test: Predicate
    because: str
    sections: tuple[int, ...]
    questions: tuple[int, ...]
    notes: tuple[int, ...]
    urgent_reason: str | None


# Results kept, one per combination of fired rules; patients share a few hundred at most.
RESULTS_KEPT = 4096
T = TypeVar("T")
# A number question with a wider range than this keeps its rules as callables.
_MAX_TABLE_RANGE = 1000


class FiringIndex:
    """Which rules fire, as a bit mask (bit i for rule i), found with one table lookup per
    field instead of one call per rule.

    A rule that tests one field (equals, not_equals, in, contains, at_least, at_most,
    answered), or is ``any`` of such tests, is entered in the table of each field it tests:
    answer value -> the rules that value makes fire. Any other rule runs its compiled callable.

    ``mask`` is a function written out for this rule set when it loads: one line per field,
    with no loop over the fields, which makes it about a fifth faster than walking a list
    of tables. Every table holds every value a validated answer can take, so answers must
    come from ``RuleSet.validate`` (choice ids, whole numbers in range); anything else is
    refused with ValueError.
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        tests: Sequence[Predicate],
        questions: Mapping[str, Question],
        present: frozenset[str] = frozenset(),
    ) -> None:
        """``present``: the fields that every validated answer set holds, which the mask
        function reads without a default."""
        self.present = present
        self.always = 0
        tables: dict[str, dict[Any, int]] = {}
        fallback: list[tuple[int, Predicate]] = []
        for index, (rule, test) in enumerate(zip(rules, tests, strict=True)):
            bit = 1 << index
            if isinstance(rule.when, cond.All) and not rule.when.all:
                self.always |= bit
                continue
            entries = _entries(rule.when, questions)
            if entries is None:
                fallback.append((bit, test))
                continue
            for field, values in entries:
                table = tables.setdefault(field, {})
                for value in values:
                    table[value] = table.get(value, 0) | bit
        self.fallback = tuple(fallback)
        lists = {f: t for f, t in tables.items() if questions[f].kind == "any_of"}
        scalars = {f: t for f, t in tables.items() if f not in lists}
        # Complete the tables: every value an answer can take, and an unanswered scalar.
        self.lists = {
            f: {v: t.get(v, 0) for v in _possible(questions[f])} for f, t in lists.items()
        }
        self.scalars = {
            f: {None: t.get(None, 0)} | {v: t.get(v, 0) for v in _possible(questions[f])}
            for f, t in scalars.items()
        }
        self.mask: Callable[[Mapping[str, Any]], int] = self.write()

    def write(
        self, known: Mapping[int, T] | None = None, make: Callable[[int], T] | None = None
    ) -> Callable[[Mapping[str, Any]], Any]:
        """The mask function as source, compiled; given ``known`` and ``make``, a function
        that returns ``known[mask]``, or ``make(mask)`` when it is not there, in the same call.

        The source names fields only through repr() of ids the loader has checked, and
        reaches tables and callables through its namespace.
        """
        namespace: dict[str, Any] = {"ALWAYS": self.always, "KNOWN": known, "MAKE": make}
        lines = ["def mask(answers):", "    get = answers.get", "    try:", "        mask = ALWAYS"]
        for number, (field, table) in enumerate(self.scalars.items()):
            namespace[f"S{number}"] = table
            value = f"answers[{field!r}]" if field in self.present else f"get({field!r})"
            lines.append(f"        mask |= S{number}[{value}]")
        for number, (field, table) in enumerate(self.lists.items()):
            namespace[f"L{number}"] = table
            ticked = f"answers[{field!r}]" if field in self.present else f"get({field!r}) or ()"
            lines.append(f"        for choice in {ticked}:")
            lines.append(f"            mask |= L{number}[choice]")
        lines.append("    except (KeyError, TypeError):")
        lines.append("        raise ValueError(NOT_VALIDATED) from None")
        for number, (bit, test) in enumerate(self.fallback):
            namespace[f"T{number}"], namespace[f"B{number}"] = test, bit
            lines.append(f"    if T{number}(answers):")
            lines.append(f"        mask |= B{number}")
        if make is None:
            lines.append("    return mask")
        else:
            lines.append("    try:")
            lines.append("        return KNOWN[mask]")
            lines.append("    except KeyError:")
            lines.append("        return MAKE(mask)")
        namespace["NOT_VALIDATED"] = (
            "these answers were not validated: pass them through RuleSet.validate first"
        )
        # The source holds no text from the data files but quoted field ids (checked
        # against ^[a-z0-9][a-z0-9_-]*$ by the loader), so there is nothing to inject.
        exec(compile("\n".join(lines), "<firing index>", "exec"), namespace)  # noqa: S102  # nosec B102
        function: Callable[[Mapping[str, Any]], Any] = namespace["mask"]
        return function


def _possible(question: Question) -> list[Any]:
    """Every value a validated answer to the question can hold (one choice of an any-of)."""
    if question.kind == "number":
        assert question.minimum is not None and question.maximum is not None
        return list(range(question.minimum, question.maximum + 1))
    return list(question.choice_ids)


def _entries(
    condition: Any, questions: Mapping[str, Question]
) -> list[tuple[str, list[Any]]] | None:
    """(field, the answer values that make the condition hold), or None when the condition
    is not a plain test of field values."""
    if isinstance(condition, cond.AnyOf):
        found: list[tuple[str, list[Any]]] = []
        for child in condition.any:
            entries = _entries(child, questions)
            if entries is None:
                return None
            found += entries
        return found
    if isinstance(condition, cond.All) and len(condition.all) == 1:
        return _entries(condition.all[0], questions)
    if isinstance(condition, cond.All | cond.Not):
        return None
    question = questions[cond.field_of(condition)]
    if question.kind == "short_text":
        return None
    if question.kind == "number" and (
        question.minimum is None
        or question.maximum is None
        or question.maximum - question.minimum > _MAX_TABLE_RANGE
    ):
        return None
    possible = _possible(question)
    test = compile_condition(condition)
    field = question.id
    if question.kind == "any_of":
        # Each ticked choice is looked up on its own: a value holds when ticking it alone does.
        return [(field, [value for value in possible if test({field: [value]})])]
    return [(field, [value for value in possible if test({field: value})])]


class RuleSet:
    """Everything in rules/, validated and compiled once; immutable and thread-safe to share."""

    def __init__(
        self,
        *,
        version: str,
        sha256: str,
        disclaimer: str,
        pages: list[Page],
        guide: list[Section],
        categories: list[Category],
        bank: list[BankQuestion],
        notes: list[Note],
        rules: list[Rule],
        example_base: dict[str, Any],
    ) -> None:
        self.version = version
        self.sha256 = sha256
        self.disclaimer = disclaimer
        self.pages = pages
        self.guide = guide
        self.categories = categories
        self.bank = bank
        self.notes = notes
        self.rules = rules
        self.example_base = example_base
        self.stamp = RulesetStamp(version=version, sha256=sha256)

        self.questions: list[Question] = [q for page in pages for q in page.questions]
        self.question_by_id = {q.id: q for q in self.questions}
        self.page_by_id = {page.id: page for page in pages}
        self.page_of_question = {q.id: page.id for page in pages for q in page.questions}
        self.section_by_id = {s.id: s for s in guide}
        self._visible_when: dict[str, Predicate] = {
            q.id: compile_condition(q.enable_when)
            for q in self.questions
            if q.enable_when is not None
        }
        self.answers_model: type[BaseModel] = build_model(
            "Answers", self.questions, lambda q: q.id in CONTRACT
        )
        # Pages are validated field by field, so one model with every question optional
        # serves them all (a model per page would only add start-up time).
        self._field_model = build_model("AnswerFields", self.questions, lambda q: False)
        section_index = {s.id: i for i, s in enumerate(guide)}
        bank_index = {q.id: i for i, q in enumerate(bank)}
        note_index = {n.id: i for i, n in enumerate(notes)}
        self._compiled = tuple(
            CompiledRule(
                id=rule.id,
                test=compile_condition(rule.when),
                because=rule.because,
                sections=tuple(section_index[s] for s in rule.add.sections),
                questions=tuple(bank_index[q] for q in rule.add.questions),
                notes=tuple(note_index[n] for n in rule.add.care_team_notes),
                urgent_reason=rule.add.urgent_reason,
            )
            for rule in rules
        )
        self._index = FiringIndex(
            rules,
            [rule.test for rule in self._compiled],
            self.question_by_id,
            present=frozenset(
                q.id for q in self.questions if q.id in CONTRACT and q.enable_when is None
            ),
        )
        self._mask = self._index.mask
        # The result depends only on the mask: built once per combination of fired rules.
        self._results: dict[int, Result] = {}
        # Turn validated answers (from ``validate``) into the personalised result. The
        # result is shared by every answer set that fires the same rules: treat it as
        # read-only. One generated function, as it runs for every sheet and API call.
        self.evaluate: Callable[[Mapping[str, Any]], Result] = self._index.write(
            self._results, self._build_and_keep
        )

    # -- the questionnaire -------------------------------------------------------------

    @property
    def questionnaire(self) -> RuleSet:
        """Kept for readability at call sites: ``rs.questionnaire.pages``."""
        return self

    def is_visible(self, question: Question | str, answers: Mapping[str, Any]) -> bool:
        """Whether the question is asked, given the answers to the questions before it."""
        qid = question if isinstance(question, str) else question.id
        test = self._visible_when.get(qid)
        return test is None or test(answers)

    def visible_questions(self, answers: Mapping[str, Any]) -> list[Question]:
        return [q for q in self.questions if self.is_visible(q, answers)]

    def prune(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Drop answers to questions that their enable_when hides (in definition order)."""
        kept: dict[str, Any] = {}
        for question in self.questions:
            if question.id in answers and self.is_visible(question, kept):
                kept[question.id] = answers[question.id]
        return kept

    def missing_required(self, answers: Mapping[str, Any]) -> list[Question]:
        """Questions marked required that are asked but not answered yet."""
        return [
            q for q in self.visible_questions(answers) if q.required and answers.get(q.id) is None
        ]

    # -- validation --------------------------------------------------------------------

    def validate(self, raw: Any) -> dict[str, Any]:
        """Validate a whole answer set; hidden answers are dropped, never used."""
        if not isinstance(raw, Mapping):
            raise AnswersError(
                [FieldError("answers", "The answers must be an object of field ids")]
            )
        try:
            model = self.answers_model.model_validate(raw)
        except ValidationError as error:
            errors = translate(error, self.question_by_id, self.question_by_id)
            raise AnswersError(sorted(errors, key=self._field_order)) from None
        return self.prune(model.model_dump(exclude_none=True))

    def validate_page(
        self, page_id: str, raw: Mapping[str, Any], answers_so_far: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Validate one page of the web form against the answers given before it.

        Returns the page's cleaned answers (only questions that are asked); raises
        AnswersError with one FieldError per field otherwise.
        """
        page = self.page_by_id[page_id]
        own = {q.id for q in page.questions}
        model = self._field_model
        values: dict[str, Any] = {}
        problems: dict[str, FieldError] = {}
        # Field by field, so one bad answer does not hide the others from branching.
        for question in page.questions:
            if question.id not in raw:
                continue
            try:
                parsed = model.model_validate({question.id: raw[question.id]})
            except ValidationError as error:
                problems.update((e.field, e) for e in translate(error, self.question_by_id, own))
                continue
            values.update(parsed.model_dump(exclude_none=True))
        context = {k: v for k, v in answers_so_far.items() if k not in own}
        cleaned: dict[str, Any] = {}
        errors: list[FieldError] = []
        for question in page.questions:
            # A question hidden by the answers above it is not asked: its answer and any
            # error in it are dropped.
            if not self.is_visible(question, {**context, **cleaned}):
                continue
            if question.id in problems:
                errors.append(problems[question.id])
            elif question.id in values:
                cleaned[question.id] = values[question.id]
            elif question.required:
                errors.append(
                    FieldError(
                        question.id, required_message(question), list(question.choice_ids) or None
                    )
                )
        if errors:
            raise AnswersError(errors)
        return cleaned

    def _field_order(self, error: FieldError) -> int:
        question = self.question_by_id.get(error.field)
        return self.questions.index(question) if question else len(self.questions)

    def answers_json_schema(self) -> dict[str, Any]:
        return self.answers_model.model_json_schema()

    # -- evaluation --------------------------------------------------------------------

    def fired(self, answers: Mapping[str, Any]) -> list[CompiledRule]:
        """The rules whose conditions hold for these (validated) answers."""
        return self._rules_of(self._mask(answers))

    def rule_fires(self, index: int, answers: Mapping[str, Any]) -> bool:
        return bool(self._mask(answers) >> index & 1)

    def _build_and_keep(self, mask: int) -> Result:
        result = self._build(mask)
        if len(self._results) < RESULTS_KEPT:
            # A plain dict, shared by threads: setting one key is atomic, and two threads
            # that build the same result at once store equal values.
            self._results[mask] = result
        return result

    def _rules_of(self, mask: int) -> list[CompiledRule]:
        return [rule for index, rule in enumerate(self._compiled) if mask >> index & 1]

    def _build(self, mask: int) -> Result:
        fired = self._rules_of(mask)
        sections: dict[int, list[CompiledRule]] = {}
        questions: dict[int, list[CompiledRule]] = {}
        notes: dict[int, list[CompiledRule]] = {}
        urgent_reasons: list[str] = []
        for rule in fired:
            for index in rule.sections:
                sections.setdefault(index, []).append(rule)
            for index in rule.questions:
                questions.setdefault(index, []).append(rule)
            for index in rule.notes:
                notes.setdefault(index, []).append(rule)
            if rule.urgent_reason is not None:
                urgent_reasons.append(rule.urgent_reason)
        construct = Result.model_construct
        return construct(
            urgent=bool(urgent_reasons),
            urgent_reasons=urgent_reasons,
            sections=[
                SectionOut.model_construct(
                    id=(s := self.guide[i]).id, title=s.title, body=s.body, because=_because(by)
                )
                for i, by in sorted(sections.items())
            ],
            questions=[
                QuestionOut.model_construct(
                    id=(q := self.bank[i]).id,
                    text=q.text,
                    category=q.category,
                    because=_because(by),
                )
                for i, by in sorted(questions.items())
            ],
            care_team_notes=[
                NoteOut.model_construct(
                    id=(n := self.notes[i]).id, text=n.text, because=_because(by)
                )
                for i, by in sorted(notes.items())
            ],
            disclaimer=self.disclaimer,
            ruleset=self.stamp,
            fired_rules=[FiredRule.model_construct(id=r.id, because=r.because) for r in fired],
        )


def _because(rules: list[CompiledRule]) -> Because:
    reasons: list[str] = []
    for rule in rules:
        if rule.because not in reasons:
            reasons.append(rule.because)
    return Because.model_construct(rule_ids=[r.id for r in rules], reason=" ".join(reasons))
