"""The condition language: pydantic models chosen by their single key, and their compiler.

A condition is a mapping with exactly one key, the operator (``all``, ``any``, ``not``,
``equals``, ``not_equals``, ``in``, ``contains``, ``at_least``, ``at_most``, ``answered``).
Each validated condition is compiled once into a plain callable taking the answers dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictFloat, StrictInt, Tag

Answers = Mapping[str, Any]
Predicate = Callable[[Answers], bool]
Scalar = Annotated[str | StrictInt | StrictFloat, Field(union_mode="left_to_right")]


class ConditionNode(BaseModel):
    """Base of every condition model."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldValue(ConditionNode):
    field: str
    value: Scalar


class FieldValues(ConditionNode):
    field: str
    values: list[Scalar] = Field(min_length=1)


class FieldNumber(ConditionNode):
    field: str
    value: StrictInt | StrictFloat


class All(ConditionNode):
    all: list[Condition]


class AnyOf(ConditionNode):
    any: list[Condition] = Field(min_length=1)


class Not(ConditionNode):
    not_: Condition = Field(alias="not")


class Equals(ConditionNode):
    equals: FieldValue


class NotEquals(ConditionNode):
    not_equals: FieldValue


class In(ConditionNode):
    in_: FieldValues = Field(alias="in")


class Contains(ConditionNode):
    contains: FieldValue


class AtLeast(ConditionNode):
    at_least: FieldNumber


class AtMost(ConditionNode):
    at_most: FieldNumber


class Answered(ConditionNode):
    answered: str


OPERATORS: dict[str, type[ConditionNode]] = {
    "all": All,
    "any": AnyOf,
    "not": Not,
    "equals": Equals,
    "not_equals": NotEquals,
    "in": In,
    "contains": Contains,
    "at_least": AtLeast,
    "at_most": AtMost,
    "answered": Answered,
}
OPERATOR_LIST = ", ".join(OPERATORS)


def _operator_of(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        for name, model in OPERATORS.items():
            if isinstance(value, model):
                return name
        return None
    if isinstance(value, Mapping) and len(value) == 1:
        (key,) = value
        return key if key in OPERATORS else None
    return None


if TYPE_CHECKING:
    Condition: TypeAlias = ConditionNode
else:
    Condition = Annotated[
        Union[tuple(Annotated[model, Tag(name)] for name, model in OPERATORS.items())],  # noqa: UP007
        Discriminator(
            _operator_of,
            custom_error_type="condition_operator",
            custom_error_message=(
                f"a condition is a mapping with exactly one of the keys: {OPERATOR_LIST}"
            ),
        ),
    ]

for _model in (All, AnyOf, Not):
    _model.model_rebuild()


def operator_name(condition: ConditionNode) -> str:
    name = _operator_of(condition)
    assert name is not None
    return name


def children(condition: ConditionNode) -> list[ConditionNode]:
    if isinstance(condition, All):
        return list(condition.all)
    if isinstance(condition, AnyOf):
        return list(condition.any)
    if isinstance(condition, Not):
        return [condition.not_]
    return []


def leaves(
    condition: ConditionNode, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[ConditionNode, tuple]]:
    """Every field test in a condition, with its path inside the condition."""
    if isinstance(condition, All | AnyOf):
        key = operator_name(condition)
        for index, child in enumerate(children(condition)):
            yield from leaves(child, (*path, key, index))
    elif isinstance(condition, Not):
        yield from leaves(condition.not_, (*path, "not"))
    else:
        yield condition, path


def field_of(leaf: ConditionNode) -> str:
    if isinstance(leaf, Answered):
        return leaf.answered
    spec = getattr(leaf, _attr(leaf))
    field: str = spec.field
    return field


def _attr(leaf: ConditionNode) -> str:
    name = operator_name(leaf)
    return "in_" if name == "in" else name


def values_of(leaf: ConditionNode) -> list[Any]:
    """The values a field test compares against (empty for ``answered``)."""
    if isinstance(leaf, Answered):
        return []
    spec = getattr(leaf, _attr(leaf))
    if isinstance(spec, FieldValues):
        return list(spec.values)
    return [spec.value]


def to_json(condition: ConditionNode) -> dict[str, Any]:
    """The condition as it is written in the YAML files."""
    data: dict[str, Any] = condition.model_dump(by_alias=True, mode="json")
    return data


def compile_condition(condition: ConditionNode) -> Predicate:
    """Turn a validated condition into a plain callable over the answers dict."""
    if isinstance(condition, All):
        parts = tuple(compile_condition(child) for child in condition.all)
        if not parts:
            return _always
        if len(parts) == 1:
            return parts[0]

        def all_of(answers: Answers) -> bool:
            for part in parts:
                if not part(answers):
                    return False
            return True

        return all_of
    if isinstance(condition, AnyOf):
        options = tuple(compile_condition(child) for child in condition.any)
        if len(options) == 1:
            return options[0]

        def any_of(answers: Answers) -> bool:
            for option in options:
                if option(answers):
                    return True
            return False

        return any_of
    if isinstance(condition, Not):
        inner = compile_condition(condition.not_)
        return lambda answers: not inner(answers)
    if isinstance(condition, Answered):
        name = condition.answered
        return lambda answers: answers.get(name) is not None
    return _compile_test(condition)


def _always(answers: Answers) -> bool:
    return True


def _compile_test(leaf: ConditionNode) -> Predicate:
    name = field_of(leaf)
    if isinstance(leaf, Equals):
        expected = leaf.equals.value
        return lambda answers: answers.get(name) == expected
    if isinstance(leaf, NotEquals):
        other = leaf.not_equals.value

        def not_equals(answers: Answers) -> bool:
            value = answers.get(name)
            return value is not None and value != other

        return not_equals
    if isinstance(leaf, In):
        allowed = frozenset(leaf.in_.values)
        return lambda answers: answers.get(name) in allowed
    if isinstance(leaf, Contains):
        wanted = leaf.contains.value
        return lambda answers: wanted in answers.get(name, ())
    if isinstance(leaf, AtLeast):
        low = leaf.at_least.value

        def at_least(answers: Answers) -> bool:
            value = answers.get(name)
            return value is not None and value >= low

        return at_least
    if isinstance(leaf, AtMost):
        high = leaf.at_most.value

        def at_most(answers: Answers) -> bool:
            value = answers.get(name)
            return value is not None and value <= high

        return at_most
    raise TypeError(f"not a condition: {leaf!r}")
