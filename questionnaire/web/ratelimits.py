"""Rate limiting without a check on every request that no limit applies to.

Flask-Limiter checks limits in two places: a ``before_request`` hook for limits that cover the
whole app (``RATELIMIT_DEFAULT``, ``RATELIMIT_APPLICATION``, limits on a blueprint, meta
limits), and the ``@limiter.limit`` decorator of each limited view, which checks that view's
own limits when it is called. This app sets only per-view limits (the API, the PDF, sign-in,
sending), so the hook finds nothing to check, yet it costs as much as a fifth of a page. It is
taken out when, and only when, no app-wide limit is configured.
"""

from __future__ import annotations

from flask import Flask

from questionnaire.extensions import limiter

# Config keys that ask Flask-Limiter for limits on every request.
APP_WIDE_KEYS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")


def has_app_wide_limits(app: Flask) -> bool:
    manager = limiter.limit_manager
    return bool(
        any(app.config.get(key) for key in APP_WIDE_KEYS)
        or manager.default_limits
        or manager.application_limits
        or any(manager.blueprint_limits(app, name) for name in app.blueprints)
    )


def drop_idle_limit_check(app: Flask) -> None:
    """Call after every blueprint is registered (a blueprint may carry limits)."""
    if has_app_wide_limits(app):
        return
    hooks = app.before_request_funcs.get(None, [])
    # Bound methods compare equal when they are the same method of the same limiter.
    app.before_request_funcs[None] = [
        hook for hook in hooks if hook != limiter._check_request_limit
    ]
