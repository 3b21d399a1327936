"""The signed-cookie session, made cheap for pages that only read it.

Flask builds a new serializer for every request that opens or saves a session; building one
also test-encodes a value. The serializer holds no per-request state, so one per secret key
(and fallback keys) serves every request and thread.

Flask-Login's own template hook loads the user for every page drawn, and its session
protection then writes a flag into a patient's cookie, though patients never sign in. Templates
get ``current_user`` as a proxy instead, so the user is loaded only where a page uses it
(the clinic's pages, whose views load it anyway).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from itsdangerous import URLSafeTimedSerializer

# Keys change only when an operator rotates them; a few entries cover any rotation in flight.
_MAX_KEYS = 4


def register_sessions(app: Flask) -> None:
    """Call with Flask-Login set up by ``init_app(app, add_context_processor=False)``."""
    app.session_interface = SignedCookieSessions()
    app.context_processor(_current_user)


def _current_user() -> dict[str, Any]:
    return {"current_user": current_user}


class SignedCookieSessions(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._serializers: dict[tuple[object, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        key = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            if serializer is None:
                return None
            if len(self._serializers) >= _MAX_KEYS:
                self._serializers.clear()
            self._serializers[key] = serializer
        return serializer
