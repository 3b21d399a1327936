"""Security headers added to every response, error pages included."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# No inline script or style anywhere: every script and stylesheet is a file under /static/.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"

_EVERY_RESPONSE = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
)
# Pages show health answers: no browser or proxy may keep a copy. Static files may be cached.
_NOT_STORED = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
_HTTPS_ONLY = (("Strict-Transport-Security", HSTS),)

# The header sets, worked out once: (static?, https?) -> headers.
_HEADER_SETS = {
    (False, False): _EVERY_RESPONSE + _NOT_STORED,
    (False, True): _EVERY_RESPONSE + _NOT_STORED + _HTTPS_ONLY,
    (True, False): _EVERY_RESPONSE,
    (True, True): _EVERY_RESPONSE + _HTTPS_ONLY,
}
_SECURE_SCHEMES = ("https", "wss")  # as Werkzeug's Request.is_secure
_OURS = frozenset(name.lower() for name, _ in _HEADER_SETS[False, True])


def register_security(app: Flask) -> None:
    """Call before anything that sets the URL scheme (ProxyFix) wraps ``app.wsgi_app``."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]


class SecurityHeaders:
    """Adds the headers to every response the app answers with, error pages included.

    A WSGI layer rather than an ``after_request`` hook: it appends fixed pairs to the plain
    header list, where Werkzeug's ``Headers`` would check each value again on every request
    (a fifteenth of a question page's time), and it also covers any answer that does not pass
    through the hooks.
    """

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        chosen = _HEADER_SETS[
            environ.get("PATH_INFO", "").startswith("/static/"),
            environ.get("wsgi.url_scheme") in _SECURE_SCHEMES,
        ]

        def with_headers(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            if any(name.lower() in _OURS for name, _ in headers):
                # A view already set one of them: replace, so none is ever sent twice.
                headers = [pair for pair in headers if pair[0].lower() not in _OURS]
            return start_response(status, [*headers, *chosen], exc_info)

        return self.wsgi_app(environ, with_headers)
