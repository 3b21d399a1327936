"""The signed-cookie session, made cheap for pages that only read it.

Flask builds a new serializer for every request that opens or saves a session; building one
also test-encodes a value. The serializer holds no per-request state, so one per secret key
(and fallback keys) serves every request and thread.

Opening a session (checking the cookie's signature and age, inflating and decoding it) took a
fifth of a question page. The serializer remembers, for each cookie value it signed or checked
lately, what the value holds and when it was signed: a patient's next page, which sends back
the cookie the last answer set, is then opened without the work. A remembered value is the
whole signed cookie, so only a browser that holds the cookie can reach its entry; the age
limit is applied to it as to any cookie; each request gets its own copy of the data. The
entries live only in this worker's memory, like the cookie in the request itself, and are
never written anywhere.

The JSON API and the static files read no cookie and keep nothing between requests: they get
Flask's null session, so the cookie is neither opened nor sent back (nor ``Vary: Cookie``).

Flask-Login's own template hook loads the user for every page drawn, and its session
protection then writes a flag into a patient's cookie, though patients never sign in. Templates
get ``current_user`` as a proxy instead, so the user is loaded only where a page uses it
(the clinic's pages, whose views load it anyway).
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user
from itsdangerous import URLSafeTimedSerializer

# Keys change only when an operator rotates them; a few entries cover any rotation in flight.
_MAX_KEYS = 4
# Cookie values remembered per serializer; past the bound the map starts again from empty.
MAX_REMEMBERED = 4096
# Paths that never use the session.
SESSIONLESS = ("/api/", "/static/")


def register_sessions(app: Flask) -> None:
    """Call with Flask-Login set up by ``init_app(app, add_context_processor=False)``."""
    app.session_interface = SignedCookieSessions()
    app.context_processor(_current_user)


def _current_user() -> dict[str, Any]:
    return {"current_user": current_user}


class SignedCookieSessions(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._serializers: dict[tuple[object, ...], URLSafeTimedSerializer] = {}

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(SESSIONLESS):
            return None  # Flask then uses a null session: readable, empty, never saved
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        key = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            made = super().get_signing_serializer(app)
            if made is None:
                return None
            serializer = RememberingSerializer.like(made)
            if len(self._serializers) >= _MAX_KEYS:
                self._serializers.clear()
            self._serializers[key] = serializer
        return serializer


class RememberingSerializer(URLSafeTimedSerializer):
    """A URLSafeTimedSerializer that remembers what the values it lately signed or checked
    hold (see the module's docstring). Only the default salt's values are remembered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # value -> (data, the earliest time it can have been signed, in whole seconds)
        self._known: dict[str | bytes, tuple[Any, int]] = {}
        self._lock = threading.Lock()

    @classmethod
    def like(cls, other: URLSafeTimedSerializer) -> RememberingSerializer:
        """One with the keys, salt, payload serializer and signer settings of ``other``."""
        return cls(
            other.secret_keys,
            salt=other.salt,
            serializer=other.serializer,
            serializer_kwargs=other.serializer_kwargs,
            signer=other.signer,
            signer_kwargs=other.signer_kwargs,
            fallback_signers=other.fallback_signers,
        )

    def dumps(self, obj: Any, salt: str | bytes | None = None) -> Any:
        # Taken before signing: the signature's own time is the same second or later, so the
        # remembered value never outlives the cookie.
        signed_at = int(time.time())
        value = super().dumps(obj, salt)
        if salt is None:
            self._remember(value, obj, signed_at)
        return value

    def loads(  # type: ignore[override]  # as TimedSerializer.loads itself
        self,
        s: str | bytes,
        max_age: int | None = None,
        return_timestamp: bool = False,
        salt: str | bytes | None = None,
    ) -> Any:
        if salt is not None or return_timestamp:
            return super().loads(s, max_age, return_timestamp, salt)
        known = self._known.get(s)
        if known is not None:
            data, signed_at = known
            age = int(time.time()) - signed_at
            if max_age is None or 0 <= age <= max_age:
                return _copy(data)
        data, signed = super().loads(s, max_age, True, salt)
        self._remember(s, data, int(signed.timestamp()))
        return data

    def _remember(self, value: str | bytes, data: Any, signed_at: int) -> None:
        kept = _copy(data)
        with self._lock:
            if len(self._known) >= MAX_REMEMBERED:
                self._known.clear()
            self._known[value] = (kept, signed_at)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _copy(value: Any) -> Any:
    """A deep copy of session data: its dicts and lists are new, its plain values shared (they
    cannot change); anything else the session may hold is copied by copy.deepcopy."""
    kind = type(value)
    if kind is dict:
        return {key: _copy(item) for key, item in value.items()}
    if kind is list:
        return [_copy(item) for item in value]
    if kind in _PLAIN:
        return value
    return copy.deepcopy(value)
