"""Staff passwords: the policy, the common-password list, and argon2id hashing.

The list in ``data/common-passwords.txt.gz`` is the 20,000 most common passwords list shipped
with Django 5.2 (``django/contrib/auth/common-passwords.txt.gz``, BSD-3-Clause), all lower-case.
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = "common-passwords.txt.gz"

# argon2id with the library's RFC 9106 "low memory" defaults; a change of parameters here
# makes needs_rehash() true, and the next successful login stores a fresh hash.
hasher = PasswordHasher()

# Verified when the account does not exist, so that answer takes as long as a wrong password.
_DUMMY_HASH = hasher.hash("no account has this password, it only spends the same time")


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("questionnaire.clinic").joinpath("data", COMMON_PASSWORDS_FILE)
    text = gzip.decompress(data.read_bytes()).decode("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def check_password_policy(password: str, *, email: str | None = None) -> list[str]:
    """Every way ``password`` breaks the policy, as messages for the person choosing it."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Password must be {MIN_LENGTH} characters or more")
    elif len(password) > MAX_LENGTH:
        problems.append(f"Password must be {MAX_LENGTH} characters or fewer")
    if password.strip().lower() in common_passwords():
        problems.append(
            "Password is too common: choose one that is not on a list of common passwords"
        )
    local_part = (email or "").partition("@")[0].strip().lower()
    if len(local_part) >= 3 and local_part in password.lower():
        problems.append("Password must not contain the first part of the email address")
    return problems


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def spend_verify_time(password: str) -> None:
    """Run one verify against a fixed hash so an unknown account answers in the same time."""
    verify_password(_DUMMY_HASH, password)


def needs_rehash(password_hash: str) -> bool:
    try:
        return hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
