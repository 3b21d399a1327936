"""The mail server that security notices go through, from one setting, ``MAIL_URL``, in the
form of ``DATABASE_URL`` and ``REDIS_URL``:

- ``smtps://user:password@mail.example.org`` TLS from the start (port 465 unless given);
- ``smtp+starttls://user:password@mail.example.org`` plain, then STARTTLS (port 587);
- ``smtp://relay.internal`` plain SMTP (port 25), for a relay on the same host or network.

A user name or password with ``@``, ``:`` or ``/`` in it is percent-encoded, as in any URL.
``MAIL_FROM`` is the address notices come from. ``mail_settings`` turns the two into
Flask-Mailman's settings, or says what is wrong.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

# scheme: (default port, STARTTLS, TLS from the start)
SCHEMES = {
    "smtps": (465, False, True),
    "smtp+starttls": (587, True, False),
    "smtp": (25, False, False),
}
EXAMPLE = "smtps://user:password@mail.example.org"


class MailSettingError(ValueError):
    """MAIL_URL or MAIL_FROM has a value that is not allowed: the message says which."""


def mail_settings(url: str, sender: str | None) -> dict[str, Any]:
    """Flask-Mailman's settings for sending through ``url`` from ``sender``."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise MailSettingError(
            f"MAIL_URL is not a mail server's address: write it like {EXAMPLE}, with a port "
            "from 1 to 65535 if you give one"
        ) from None
    if parts.scheme not in SCHEMES:
        raise MailSettingError(
            f"MAIL_URL starting {parts.scheme or url[:10]!r} is not allowed: start it with "
            "smtps://, smtp+starttls:// or smtp://"
        )
    if not parts.hostname:
        raise MailSettingError(f"MAIL_URL names no server: write it like {EXAMPLE}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise MailSettingError(
            "MAIL_URL must end after the server's name and port: no path, ? or # part"
        )
    default_port, starttls, tls = SCHEMES[parts.scheme]
    return {
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": parts.hostname,
        "MAIL_PORT": port or default_port,
        "MAIL_USERNAME": unquote(parts.username) if parts.username else None,
        "MAIL_PASSWORD": unquote(parts.password) if parts.password else None,
        "MAIL_USE_TLS": starttls,
        "MAIL_USE_SSL": tls,
        "MAIL_DEFAULT_SENDER": checked_sender(sender),
    }


def checked_sender(sender: str | None) -> str:
    """``sender`` if it is one email address (with or without a name before it)."""
    text = (sender or "").strip()
    _name, address = parseaddr(text)
    local, at, domain = address.partition("@")
    if not text or any(char in text for char in "\r\n") or not (local and at and "." in domain):
        raise MailSettingError(
            f"MAIL_FROM={sender!r} is not allowed: give the address notices come from, like "
            "'Clinic security <security@clinic.example.org>' or security@clinic.example.org"
        )
    return text
