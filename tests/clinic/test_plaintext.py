"""Clinic names and slugs, staff names and addresses: nothing that hides or bends text.

A slug or address once let through a trailing new line (``$`` matches before one), and
names took bells and right-to-left overrides, which then showed on every page and export."""

from __future__ import annotations

import pytest
from flask import Flask

from questionnaire.clinic import store
from questionnaire.clinic.passwords import hash_password
from questionnaire.clinic.plaintext import has_hidden_characters


@pytest.mark.parametrize(
    "text", ["a\x07b", "a\nb", "a\tb", "Abc\u202eevil", "zero\u200bwidth", "\ud800", "\ue000"]
)
def test_controls_formats_surrogates_and_private_use_are_hidden_characters(text: str) -> None:
    assert has_hidden_characters(text)


@pytest.mark.parametrize(
    "text", ["Ada Lovelace", "Zo\u00eb O\u2019Brien-N\u00fa\u00f1ez", "\u674e\u5a1c"]
)
def test_names_in_any_script_are_not(text: str) -> None:
    assert not has_hidden_characters(text)


@pytest.mark.parametrize("slug", ["north\n", "north\r", "no rth", "North"])
def test_a_clinic_slug_is_refused_with_anything_after_or_inside_it(
    db_app: Flask, slug: str
) -> None:
    with pytest.raises(store.StoreError, match="is not allowed: use 1-64 lower-case letters"):
        store.create_clinic(slug, "North Clinic")


@pytest.mark.parametrize("name", ["Bad\x07name", "Bad\u202ename"])
def test_a_clinic_name_with_hidden_characters_is_refused(db_app: Flask, name: str) -> None:
    with pytest.raises(store.StoreError) as raised:
        store.create_clinic("north", name)
    assert str(raised.value) == (
        f"clinic name {name!r} is not allowed: use letters, digits, spaces and punctuation, "
        "with no control or format characters"
    )


@pytest.mark.parametrize(
    ("email", "name", "refused"),
    [
        ("x\x07@example.org", "Sam", "email 'x\\x07@example.org'"),
        ("sam@example.org\u200b", "Sam", "email 'sam@example.org\\u200b'"),
        ("sam@example.org", "A\x07B", "display name 'A\\x07B'"),
    ],
)
def test_a_staff_account_with_hidden_characters_is_refused(
    db_app: Flask, email: str, name: str, refused: str
) -> None:
    clinic = store.create_clinic("north", "North Clinic")
    with pytest.raises(store.StoreError) as raised:
        store.create_staff_user(clinic.id, email, name, "staff", hash_password("x" * 12))
    assert str(raised.value).startswith(f"{refused} is not allowed")
