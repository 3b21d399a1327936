"""The staff pages' forms: each posted form read into a pydantic model, its problems as
``FormError``s for the error summary and the fields, and the checks of a new password."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from flask import request
from pydantic import BaseModel, ConfigDict

from questionnaire.clinic.passwords import check_password_policy

# Spaces are part of a passphrase, so only the other fields are stripped.
PASSWORD_FIELDS = frozenset(
    {"password", "current_password", "new_password", "confirm_password", "sessions_password"}
)


@dataclass(frozen=True)
class FormError:
    """One problem with one form field, for the error summary and the field itself."""

    field: str
    message: str


class StaffForm(BaseModel):
    model_config = ConfigDict(extra="forbid")


FormT = TypeVar("FormT", bound=StaffForm)


def read_form(model: type[FormT]) -> FormT:
    """The posted values of ``model``'s fields (a missing one is empty; others are ignored)."""
    values = {}
    for name in model.model_fields:
        value = request.form.get(name, "")
        values[name] = value if name in PASSWORD_FIELDS else value.strip()
    return model.model_validate(values)


def new_password_errors(
    password: str,
    *,
    email: str,
    missing: str,
    field: str = "new_password",
    confirm: str | None = None,
) -> list[FormError]:
    """Every problem with a password someone is choosing: ``missing`` when it is empty, the
    policy's messages, and, when a ``confirm`` field was posted, whether the two match."""
    if not password:
        return [FormError(field, missing)]
    errors = [FormError(field, problem) for problem in check_password_policy(password, email=email)]
    if confirm is not None and confirm != password:
        errors.append(FormError("confirm_password", "Type the same new password in both boxes"))
    return errors
