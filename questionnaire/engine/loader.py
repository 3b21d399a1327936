"""Reads rules/, checks every file and every cross-reference, and builds a RuleSet.

Every mistake is collected (not just the first), each as a Problem naming file and line.
"""

from __future__ import annotations

import hashlib
import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from questionnaire.engine import conditions as cond
from questionnaire.engine.answers import CONTRACT, CONTROL_CHARACTERS, AnswersError
from questionnaire.engine.definition import (
    NONE_CHOICE,
    GuideFile,
    NotesFile,
    Question,
    QuestionBankFile,
    QuestionnaireFile,
    RulesetFile,
    RulesFile,
)
from questionnaire.engine.ruleset import RuleSet
from questionnaire.engine.safety import lint_sources
from questionnaire.engine.yamlsource import Path_, Problem, SourceFile, load_yaml

# The files of a rule set, in the order their bytes enter the sha256.
FILES: dict[str, type[BaseModel]] = {
    "ruleset.yaml": RulesetFile,
    "questionnaire.yaml": QuestionnaireFile,
    "guide.yaml": GuideFile,
    "questions.yaml": QuestionBankFile,
    "notes.yaml": NotesFile,
    "rules.yaml": RulesFile,
}

_SINGULAR = {
    "pages": "page",
    "questions": "question",
    "choices": "choice",
    "sections": "section",
    "categories": "category",
    "care_team_notes": "note",
    "rules": "rule",
    "fires": "fires",
    "does_not_fire": "does_not_fire",
}


class RulesetError(ValueError):
    """The rule set has mistakes; ``problems`` lists every one with file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.errors = [str(p) for p in problems]
        super().__init__("\n".join(self.errors))


def load_ruleset(directory: str | Path) -> RuleSet:
    """Load and compile the rule set in ``directory``, or raise RulesetError."""
    ruleset, problems = check_ruleset(directory)
    if problems or ruleset is None:
        raise RulesetError(problems)
    return ruleset


def ruleset_sha256(directory: str | Path) -> str:
    digest = hashlib.sha256()
    for name in FILES:
        digest.update(name.encode() + b"\0")
        digest.update((Path(directory) / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def check_ruleset(directory: str | Path) -> tuple[RuleSet | None, list[Problem]]:
    """Check everything; return the RuleSet (when there is no problem) and the problems."""
    root = Path(directory)
    problems: list[Problem] = []
    if not root.is_dir():
        return None, [Problem(str(root), None, "is not a folder holding the rule files")]
    sources: dict[str, SourceFile] = {}
    models: dict[str, Any] = {}
    for name, model in FILES.items():
        source = load_yaml(root / name, name, problems)
        if source is None:
            continue
        sources[name] = source
        if not isinstance(source.data, Mapping):
            problems.append(source.problem((), "the top level must be a mapping of keys"))
            continue
        try:
            models[name] = model.model_validate(source.data)
        except ValidationError as error:
            problems.extend(_model_problems(source, model, error))
    ruleset = None
    if len(models) == len(FILES):
        ruleset, problems = _cross_check(root, sources, models, problems)
    # Characters and wording need no cross-reference, so they are checked even when other
    # mistakes stop the rest.
    check = _Checker(sources, problems)
    for name, source in sources.items():
        for path, message in _control_characters(source.data, ()):
            check.add(name, path, message)
    for file, path, message in lint_sources({name: s.data for name, s in sources.items()}):
        check.add(file, path, message)
    return (None if problems else ruleset), problems


# Characters that do not show, or change how the text around them shows: the soft hyphen,
# zero-width spaces and joiners, direction marks, embeddings, overrides and isolates, word
# joiners and invisible operators, the byte order mark, interlinear annotation marks. A
# patient would read something other than what a clinician reviewed.
FORMAT_CHARACTERS = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)


def _control_characters(data: Any, path: Path_) -> Iterator[tuple[Path_, str]]:
    """Every text (key or value) holding a control character, as answers refuse them too,
    or an invisible formatting character."""
    if isinstance(data, str):
        found = CONTROL_CHARACTERS.search(data)
        if found:
            yield path, _control_message("contains", found.group())
        hidden = FORMAT_CHARACTERS.search(data)
        if hidden:
            yield (
                path,
                (
                    f"contains the invisible formatting character U+{ord(hidden.group()):04X}: "
                    "remove it (it does not show, or changes how the text around it shows)"
                ),
            )
    elif isinstance(data, Mapping):
        for key, value in data.items():
            found = CONTROL_CHARACTERS.search(key)
            if found:
                yield path, _control_message(f"the key {key!r} contains", found.group())
            yield from _control_characters(value, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _control_characters(item, (*path, index))


def _control_message(what: str, character: str) -> str:
    return (
        f"{what} the control character U+{ord(character):04X}: remove it "
        "(the only control characters allowed in text are line breaks and tabs)"
    )


# -- pydantic errors with file and line -------------------------------------------------


def _model_problems(
    source: SourceFile, model: type[BaseModel], error: ValidationError
) -> list[Problem]:
    result = []
    scalar_unions: set[tuple] = set()
    for item in error.errors():
        loc = tuple(item["loc"])
        path = _data_path(source.data, loc)
        if loc and loc[-1] in _SCALAR_TAGS:
            # A value that is neither text nor a number fails each member of the union:
            # one mistake, so one line.
            if loc[:-1] in scalar_unions:
                continue
            scalar_unions.add(loc[:-1])
            kinds = [
                _SCALAR_TAGS[other["loc"][-1]]
                for other in error.errors()
                if tuple(other["loc"][:-1]) == loc[:-1] and other["loc"][-1] in _SCALAR_TAGS
            ]
            message = f"{item['input']!r} is not allowed; use {' or '.join(dict.fromkeys(kinds))}"
        elif item["type"] == "condition_operator":
            message = _operator_message(item["input"])
        elif item["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            message = f"unknown key '{loc[-1]}'"
            if allowed:
                message += f"; allowed keys: {', '.join(allowed)}"
        elif item["type"] == "missing":
            message = f"missing required key '{loc[-1]}'"
        elif item["type"] == "literal_error":
            expected = item.get("ctx", {}).get("expected", "")
            message = f"{item['input']!r} is not allowed; allowed: {expected}"
        elif item["type"] == "string_pattern_mismatch":
            message = (
                f"{item['input']!r} is not a valid id: use lower-case letters, digits, '_' and '-'"
                if (loc and loc[-1] in ("id", "category")) or _is_id_list(loc)
                else f"{item['input']!r} does not match {item['ctx']['pattern']}"
            )
        elif item["type"] == "too_short":
            message = "must not be empty"
        else:
            message = f"{item['msg'][0].lower()}{item['msg'][1:]}"
        result.append(source.problem(path, f"{_describe(source.data, path)}{message}"))
    return result


_SCALAR_TAGS = {"str": "text", "int": "a number", "float": "a number"}


def _operator_message(value: Any) -> str:
    operators = f"operators: {cond.OPERATOR_LIST}"
    if isinstance(value, Mapping) and len(value) > 1:
        keys = ", ".join(str(key) for key in value)
        return (
            f"a condition has exactly one operator, but this one has {len(value)} keys: "
            f"{keys}; {operators}"
        )
    if isinstance(value, Mapping) and len(value) == 1:
        return f"unknown operator '{next(iter(value))}'; {operators}"
    return f"a condition is a mapping with exactly one key, the operator; {operators}"


def _is_id_list(loc: tuple) -> bool:
    return (
        len(loc) >= 2
        and isinstance(loc[-1], int)
        and loc[-2] in ("sections", "questions", "care_team_notes")
    )


def _data_path(data: Any, loc: tuple) -> Path_:
    """The part of a pydantic location that exists in the data (union tags are skipped)."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if (isinstance(current, Mapping) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        ):
            current = current[part]
            path.append(part)
        elif (
            isinstance(current, Mapping)
            and isinstance(part, str)
            and part.endswith("_")
            and part[:-1] in current
        ):
            current = current[part[:-1]]  # fields named after Python keywords (in_, not_)
            path.append(part[:-1])
    return tuple(path)


def _describe(data: Any, path: Path_) -> str:
    """A reader's name for where a path points, e.g. "rule 'x', when.equals: "."""
    words: list[str] = []
    current = data
    tail: list[str] = []
    for index, part in enumerate(path):
        parent_key = path[index - 1] if index else None
        current = current[part]
        if (
            isinstance(part, int)
            and isinstance(current, Mapping)
            and isinstance(current.get("id"), str)
        ):
            words.append(f"{_SINGULAR.get(str(parent_key), str(parent_key))} '{current['id']}'")
            tail = []
        elif isinstance(part, int):
            tail.append(f"[{part}]")
        else:
            tail.append(("." if tail else "") + str(part))
    text = ", ".join(words)
    rest = "".join(tail).lstrip(".")
    if rest and words:
        text = f"{text}, {rest}"
    elif rest:
        text = rest
    return f"{text}: " if text else ""


def _allowed_keys(model: Any, loc: tuple) -> list[str]:
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is typing.Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _step(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap(annotation)
    origin = get_origin(annotation)
    if origin in (list, tuple) and isinstance(part, int):
        return get_args(annotation)[0]
    if origin is dict:
        return get_args(annotation)[1]
    if origin in (typing.Union, types.UnionType) and isinstance(part, str):
        return cond.OPERATORS.get(part)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
    return None


# -- cross-references -------------------------------------------------------------------


@dataclass
class _Checker:
    sources: dict[str, SourceFile]
    problems: list[Problem]

    def add(self, file: str, path: Path_, message: str) -> None:
        source = self.sources[file]
        path = _data_path(source.data, path)  # a missing key is named by the message instead
        self.problems.append(source.problem(path, f"{_describe(source.data, path)}{message}"))

    def unique(self, file: str, items: Iterable[Any], path: Path_, what: str) -> None:
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.id in seen:
                self.add(file, (*path, index, "id"), f"duplicate {what} id '{item.id}'")
            seen.add(item.id)


def _cross_check(
    root: Path,
    sources: dict[str, SourceFile],
    models: dict[str, Any],
    problems: list[Problem],
) -> tuple[RuleSet | None, list[Problem]]:
    check = _Checker(sources, problems)
    header: RulesetFile = models["ruleset.yaml"]
    form: QuestionnaireFile = models["questionnaire.yaml"]
    guide: GuideFile = models["guide.yaml"]
    bank: QuestionBankFile = models["questions.yaml"]
    notes: NotesFile = models["notes.yaml"]
    rules: RulesFile = models["rules.yaml"]

    check.unique("questionnaire.yaml", form.pages, ("pages",), "page")
    flat: list[tuple[Path_, Question]] = [
        (("pages", p, "questions", i), question)
        for p, page in enumerate(form.pages)
        for i, question in enumerate(page.questions)
    ]
    by_id: dict[str, Question] = {}
    for path, question in flat:
        if question.id in by_id:
            check.add("questionnaire.yaml", (*path, "id"), f"duplicate question id '{question.id}'")
        _check_question_shape(check, path, question)
        if question.enable_when is not None:
            _check_condition(
                check, "questionnaire.yaml", (*path, "enable_when"), question.enable_when, by_id
            )
        by_id.setdefault(question.id, question)
    _check_contract(check, by_id)

    check.unique("guide.yaml", guide.sections, ("sections",), "section")
    check.unique("questions.yaml", bank.categories, ("categories",), "category")
    check.unique("questions.yaml", bank.questions, ("questions",), "question")
    check.unique("notes.yaml", notes.care_team_notes, ("care_team_notes",), "note")
    check.unique("rules.yaml", rules.rules, ("rules",), "rule")
    category_ids = [c.id for c in bank.categories]
    for index, item in enumerate(bank.questions):
        if item.category not in category_ids:
            check.add(
                "questions.yaml",
                ("questions", index, "category"),
                f"unknown category '{item.category}'; allowed: {', '.join(category_ids)}",
            )

    targets = {
        "sections": ("guide.yaml", {s.id for s in guide.sections}),
        "questions": ("questions.yaml", {q.id for q in bank.questions}),
        "care_team_notes": ("notes.yaml", {n.id for n in notes.care_team_notes}),
    }
    used: dict[str, set[str]] = {key: set() for key in targets}
    for index, rule in enumerate(rules.rules):
        rule_path: Path_ = ("rules", index)
        _check_condition(check, "rules.yaml", (*rule_path, "when"), rule.when, by_id)
        for key, (file, known) in targets.items():
            for position, ref in enumerate(getattr(rule.add, key)):
                used[key].add(ref)
                if ref not in known:
                    check.add(
                        "rules.yaml",
                        (*rule_path, "add", key, position),
                        f"unknown {_SINGULAR[key]} '{ref}' (not in {file})",
                    )
    listed: dict[str, list[Any]] = {
        "sections": list(guide.sections),
        "questions": list(bank.questions),
        "care_team_notes": list(notes.care_team_notes),
    }
    for key, (file, _) in targets.items():
        for index, item in enumerate(listed[key]):
            if item.id not in used[key]:
                check.add(
                    file,
                    (key, index),
                    f"no rule adds this {_SINGULAR[key]}, so no patient can see it",
                )

    if problems:
        return None, problems
    ruleset = RuleSet(
        version=header.version,
        sha256=ruleset_sha256(root),
        disclaimer=header.disclaimer,
        pages=form.pages,
        guide=guide.sections,
        categories=bank.categories,
        bank=bank.questions,
        notes=notes.care_team_notes,
        rules=rules.rules,
        example_base=header.example_base,
    )
    _check_examples(check, ruleset, header.example_base)
    return (None if problems else ruleset), problems


def _check_question_shape(check: _Checker, path: Path_, question: Question) -> None:
    file = "questionnaire.yaml"
    has_choices = question.kind in ("one_of", "any_of")
    if has_choices and not question.choices:
        check.add(file, path, f"a {question.kind} question needs 'choices'")
    if not has_choices and question.choices is not None:
        check.add(
            file,
            (*path, "choices"),
            f"'choices' is only allowed on one_of and any_of questions, not {question.kind}",
        )
    if question.choices:
        seen: set[str] = set()
        labels: set[str] = set()
        for index, choice in enumerate(question.choices):
            if choice.id in seen:
                check.add(
                    file, (*path, "choices", index, "id"), f"duplicate choice id '{choice.id}'"
                )
            seen.add(choice.id)
            # A patient could not tell two such choices apart, nor "Check your answers" which
            # one was chosen (its Change link goes to the chosen radio).
            if choice.label in labels:
                check.add(
                    file,
                    (*path, "choices", index, "label"),
                    f"another choice of this question has the label '{choice.label}'",
                )
            labels.add(choice.label)
            if choice.id == NONE_CHOICE and question.kind != "any_of":
                check.add(
                    file,
                    (*path, "choices", index, "id"),
                    "the choice 'none' is only for any_of questions",
                )
    numeric = (
        question.minimum is not None or question.maximum is not None or question.unit is not None
    )
    if question.kind == "number":
        if question.minimum is None or question.maximum is None:
            check.add(file, path, "a number question needs 'minimum' and 'maximum'")
        elif question.minimum > question.maximum:
            check.add(file, (*path, "minimum"), "'minimum' must not be greater than 'maximum'")
    elif numeric:
        check.add(file, path, "'minimum', 'maximum' and 'unit' are only for number questions")
    if question.max_length is not None and question.kind != "short_text":
        check.add(file, (*path, "max_length"), "'max_length' is only for short_text questions")


def _check_contract(check: _Checker, by_id: Mapping[str, Question]) -> None:
    for field, (kind, choices) in CONTRACT.items():
        question = by_id.get(field)
        if question is None:
            check.add("questionnaire.yaml", ("pages",), f"the contract field '{field}' is missing")
            continue
        if question.kind != kind or question.choice_ids != choices:
            check.add(
                "questionnaire.yaml",
                _question_path(check, field),
                f"the contract field '{field}' must be {kind} "
                f"with the choices {', '.join(choices)}",
            )
        if question.enable_when is not None or not question.required:
            check.add(
                "questionnaire.yaml",
                _question_path(check, field),
                f"the contract field '{field}' must be required and always asked",
            )


def _question_path(check: _Checker, qid: str) -> Path_:
    data = check.sources["questionnaire.yaml"].data
    for p, page in enumerate(data.get("pages", [])):
        for i, question in enumerate(page.get("questions", [])):
            if question.get("id") == qid:
                return ("pages", p, "questions", i)
    return ("pages",)


_FITS = {
    "equals": ("one_of", "yes_no", "number"),
    "not_equals": ("one_of", "yes_no", "number"),
    "in": ("one_of", "yes_no"),
    "contains": ("any_of",),
    "at_least": ("number",),
    "at_most": ("number",),
    "answered": ("one_of", "any_of", "number", "yes_no", "short_text"),
}


def _check_condition(
    check: _Checker, file: str, path: Path_, condition: Any, known: Mapping[str, Question]
) -> None:
    for leaf, inner in cond.leaves(condition):
        operator = cond.operator_name(leaf)
        leaf_path = (*path, *inner, operator)
        field = cond.field_of(leaf)
        question = known.get(field)
        if question is None:
            where = (
                "earlier in the questionnaire"
                if file == "questionnaire.yaml"
                else "in questionnaire.yaml"
            )
            check.add(file, leaf_path, f"unknown field '{field}': no question with that id {where}")
            continue
        if question.kind not in _FITS[operator]:
            check.add(
                file,
                leaf_path,
                f"'{operator}' does not fit the {question.kind} field '{field}'; "
                f"it fits: {', '.join(_FITS[operator])}",
            )
            continue
        for value in cond.values_of(leaf):
            if question.kind == "number":
                if (
                    question.minimum is None
                    or question.maximum is None
                    or question.minimum > question.maximum
                ):
                    continue  # the question's own bounds are already reported as wrong
                if (
                    not isinstance(value, int | float)
                    or not question.minimum <= value <= question.maximum
                ):
                    check.add(
                        file,
                        leaf_path,
                        f"{value!r} is not a number from {question.minimum} "
                        f"to {question.maximum} (field '{field}')",
                    )
            elif value not in question.choice_ids:
                check.add(
                    file,
                    leaf_path,
                    f"{value!r} is not a choice of '{field}'; "
                    f"allowed: {', '.join(question.choice_ids)}",
                )


def _check_examples(check: _Checker, ruleset: RuleSet, base: dict[str, Any]) -> None:
    try:
        ruleset.validate(base)
    except AnswersError as error:
        for item in error.errors:
            check.add(
                "ruleset.yaml",
                ("example_base", item.field),
                f"not a valid answer: {item.as_line()}",
            )
        return
    for index, rule in enumerate(ruleset.rules):
        always = isinstance(rule.when, cond.All) and not rule.when.all
        if not rule.examples.does_not_fire and not always:
            check.add(
                "rules.yaml",
                ("rules", index, "examples"),
                "needs at least one 'does_not_fire' example",
            )
        for expected, key in ((True, "fires"), (False, "does_not_fire")):
            for position, example in enumerate(getattr(rule.examples, key)):
                path: Path_ = ("rules", index, "examples", key, position)
                try:
                    answers = ruleset.validate({**base, **example})
                except AnswersError as error:
                    for item in error.errors:
                        check.add("rules.yaml", path, f"not a valid answer set: {item.as_line()}")
                    continue
                hidden = sorted(set(example) - set(answers))
                if hidden:
                    check.add(
                        "rules.yaml",
                        path,
                        "answers to questions that are not asked here would be dropped: "
                        + ", ".join(hidden),
                    )
                if ruleset.rule_fires(index, answers) != expected:
                    verb = "does not fire" if expected else "fires"
                    check.add(
                        "rules.yaml",
                        path,
                        f"the rule {verb} on this example, but it is listed under '{key}'",
                    )
