"""Search terms sealed for addresses: what staff type into the list's search (often a
patient's name) travels in the page's address only encrypted, so browser history, a proxy's
log and a bookmark hold no name. A sealed search belongs to the staff member who typed it:
it opens for no one else, so an address seen in a log or passed on tells another account
nothing, not even one of another clinic.

Fernet (AES-128-CBC with an HMAC-SHA256 tag) from the ``cryptography`` package seals the
text with a key derived from the app's ``SECRET_KEY`` (HKDF-SHA256); keys from
``SECRET_KEY_FALLBACKS`` still open addresses made before a rotation. A sealed search lasts
as long as a staff session can: older addresses, and any that were changed, open to nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_INFO = b"questionnaire: sealed staff search terms"
_KEY_BYTES = 32
# A sealed search of 200 characters is under 500; anything much longer was not made here.
MAX_SEALED_LENGTH = 1000


def _fernet_key(secret: str | bytes) -> bytes:
    material = secret.encode("utf-8") if isinstance(secret, str) else secret
    derived = HKDF(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None, info=_INFO).derive(
        material
    )
    return base64.urlsafe_b64encode(derived)


def _sealer(secrets: Iterable[str | bytes]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(secret)) for secret in secrets])


def _app_sealer() -> MultiFernet:
    config = current_app.config
    secrets = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ())]
    cache = current_app.extensions.setdefault("search_sealers", {})
    key = tuple(secrets)
    sealer = cache.get(key)
    if sealer is None:
        cache.clear()  # keys change only when an operator rotates them
        sealer = cache[key] = _sealer(secrets)
    return sealer


def seal(text: str, owner: int) -> str:
    """``text``, typed by the staff member ``owner`` (their id), encrypted as URL-safe ASCII."""
    return _app_sealer().encrypt(f"{owner}:{text}".encode()).decode("ascii")


def unseal(sealed: str, owner: int) -> str | None:
    """The text ``seal`` sealed for ``owner``, or None: not sealed here, changed, sealed for
    someone else, or older than a staff session can last."""
    if not sealed or len(sealed) > MAX_SEALED_LENGTH or not sealed.isascii():
        return None
    lifetime = int(current_app.config["STAFF_ABSOLUTE_TIMEOUT_SECONDS"])
    try:
        opened = _app_sealer().decrypt(sealed.encode("ascii"), ttl=lifetime).decode("utf-8")
    except (InvalidToken, UnicodeDecodeError):
        return None
    sealed_for, _, text = opened.partition(":")
    if sealed_for != str(owner):
        return None
    # Every request holding NUL is refused before this (web.requestguard), so a sealed NUL
    # was not made by this service's forms; it would also break PostgreSQL's text.
    return None if "\x00" in text else text
