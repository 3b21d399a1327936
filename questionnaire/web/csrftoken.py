"""The CSRF token of a form, as flask-wtf makes it, signed once per session and then reused.

Signing a session's token (``flask_wtf.csrf.generate_csrf``) costs more than putting the rest of
a question page together. With no time limit on tokens (``WTF_CSRF_TIME_LIMIT = None``, this
app's default) a token signed earlier for the same session is exactly as valid as a new one, so
the signed form is kept, per session token, in a bounded map. With a time limit set, every
page gets a freshly signed token, as flask-wtf gives it.
"""

from __future__ import annotations

import threading

from flask import current_app, g, session
from flask_wtf.csrf import generate_csrf

# One entry per browser session in use; past the bound the map starts again from empty.
MAX_TOKENS = 4096
_EXTENSION = "questionnaire.csrf_tokens"


class SignedTokens:
    def __init__(self, max_tokens: int = MAX_TOKENS) -> None:
        self._max = max_tokens
        self._tokens: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> str | None:
        return self._tokens.get(key)

    def put(self, key: tuple[str, str], token: str) -> None:
        with self._lock:
            if len(self._tokens) >= self._max:
                self._tokens.clear()
            self._tokens[key] = token


def csrf_token() -> str:
    """The same token ``generate_csrf()`` gives, and valid wherever its token is."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    if field in g or config.get("WTF_CSRF_TIME_LIMIT") is not None:
        # Already made for this request, or tokens expire: flask-wtf's own.
        made: str = generate_csrf()
        return made
    secret = str(config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key)
    tokens: SignedTokens | None = current_app.extensions.get(_EXTENSION)
    if tokens is None:
        tokens = current_app.extensions.setdefault(_EXTENSION, SignedTokens())
    raw = session.get(field)
    token = tokens.get((secret, raw)) if isinstance(raw, str) else None
    if token is not None:
        # As generate_csrf does: later calls in this request give the same token.
        setattr(g, field, token)
        return token
    token = generate_csrf()  # also puts a new session token in the session if it had none
    raw = session.get(field)
    if isinstance(raw, str):
        tokens.put((secret, raw), token)
    return token
