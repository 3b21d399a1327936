"""Sealed search terms: what the staff list's addresses carry instead of a typed name."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask

from questionnaire import create_app
from questionnaire.clinic import sealing
from questionnaire.clinic.sealing import seal, unseal

NAME = "Ada Lovelace-Ñúñez 李"
OWNER = 7  # the staff member who typed it


def app_with_keys(tmp_path: Path, key: str, fallbacks: list[str] | None = None) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": key,
            "SECRET_KEY_FALLBACKS": fallbacks or [],
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        }
    )


def test_a_sealed_term_opens_to_what_was_typed_and_shows_nothing_of_it(app: Flask) -> None:
    with app.test_request_context():
        sealed = seal(NAME, OWNER)
        assert unseal(sealed, OWNER) == NAME
        assert "ada" not in sealed.lower() and "lovelace" not in sealed.lower()
        assert sealed.isascii() and len(sealed) < sealing.MAX_SEALED_LENGTH
        assert seal(NAME, OWNER) != sealed  # a fresh IV each time: equal searches do not look alike


@pytest.mark.parametrize(
    "changed",
    [
        lambda token: token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
        lambda token: token[:20] + token[21:],
        lambda token: "",
        lambda token: "Ada",
        lambda token: token + "x" * sealing.MAX_SEALED_LENGTH,
        lambda token: "é" + token,
    ],
    ids=["tampered", "cut", "empty", "plain text", "too long", "not ascii"],
)
def test_a_changed_or_foreign_term_opens_to_nothing(app: Flask, changed: object) -> None:
    with app.test_request_context():
        assert unseal(changed(seal(NAME, OWNER)), OWNER) is None  # type: ignore[operator]


def test_a_term_outlives_no_staff_session(app: Flask) -> None:
    lifetime = app.config["STAFF_ABSOLUTE_TIMEOUT_SECONDS"]
    with app.test_request_context():
        fernet = sealing._app_sealer()
        plain = f"{OWNER}:{NAME}".encode()
        fresh = fernet.encrypt_at_time(plain, int(time.time()) - lifetime + 60)
        stale = fernet.encrypt_at_time(plain, int(time.time()) - lifetime - 60)
        assert unseal(fresh.decode(), OWNER) == NAME
        assert unseal(stale.decode(), OWNER) is None


def test_keys_come_from_the_secret_key_and_survive_a_rotation(tmp_path: Path) -> None:
    old, new = "o" * 64, "n" * 64
    with app_with_keys(tmp_path / "a", old).test_request_context():
        sealed = seal(NAME, OWNER)
    with app_with_keys(tmp_path / "b", new).test_request_context():
        assert unseal(sealed, OWNER) is None  # another key opens nothing
    with app_with_keys(tmp_path / "c", new, [old]).test_request_context():
        assert unseal(sealed, OWNER) == NAME  # the old key, kept as a fallback, still opens it


def test_a_sealed_nul_opens_to_nothing(app: Flask) -> None:
    with app.test_request_context():
        assert unseal(seal("a\x00b", OWNER), OWNER) is None


def test_a_term_opens_only_for_the_staff_member_who_sealed_it(app: Flask) -> None:
    with app.test_request_context():
        sealed = seal(NAME, OWNER)
        assert unseal(sealed, OWNER + 1) is None
        assert unseal(sealed, 70) is None  # not a prefix match either
        assert unseal(seal(NAME, 70), OWNER) is None
        assert unseal(sealed, OWNER) == NAME
