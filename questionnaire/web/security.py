"""Security headers added to every response, error pages included."""

from __future__ import annotations

from flask import Flask, Response, request

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
_OURS = frozenset(name.lower() for name, _ in _HEADER_SETS[False, True])


def register_security(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    chosen = _HEADER_SETS[_is_static(request.path), request.is_secure]
    headers = response.headers
    if any(name.lower() in _OURS for name, _ in headers):
        # A view already set one of them: replace, so none is ever sent twice.
        for name, value in chosen:
            headers[name] = value
    else:
        headers.extend(chosen)
    return response


def _is_static(path: str) -> bool:
    return path.startswith("/static/")
