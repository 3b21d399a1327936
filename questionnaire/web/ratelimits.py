"""Rate limits: per view, per client address, at the cost of one counter update.

Flask-Limiter keeps the counters (in memory, or in Redis with ``REDIS_URL`` so that every app
instance shares them) and applies the limits that cover the whole app, if an operator sets
any. The views with a limit of their own (the API, the PDF, sign-in, sending) are marked with
``rate_limited``, which hits that limit through Flask-Limiter's strategy and storage directly.
Flask-Limiter's own ``@limiter.limit`` does the same hit, but first works through exemptions,
meta limits, deferred deductions and header bookkeeping that this app does not use: on the API
that took 200 us, twice what the evaluation itself costs.

When the storage cannot be reached (Redis down, or a network fault), each worker counts in its
own memory instead and tries the storage again every ``RETRY_SECONDS``: the limits then hold
per worker rather than across every instance, which is looser, but a patient can still send
and staff can still sign in (the lockout is counted in the database, not here). Flask-Limiter
does the same for its own decorator (``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``); this module
does not go through that decorator, so it does it here.

Flask-Limiter also checks app-wide limits in a ``before_request`` hook on every request. With
no app-wide limit configured the hook finds nothing to check, yet it costs as much as a fifth
of a page; it is taken out when, and only when, no app-wide limit is configured.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.strategies import STRATEGIES, RateLimiter
from werkzeug.exceptions import TooManyRequests

from questionnaire.extensions import limiter
from questionnaire.web.ratestorage import WorkerMemoryStorage

log = logging.getLogger(__name__)

# Seconds a worker counts on its own after the storage failed, before it tries the storage again.
RETRY_SECONDS = 10.0
FALLBACK = "rate_limit_fallback"

View = TypeVar("View", bound=Callable[..., Any])


class RateLimited(TooManyRequests):
    """A view's own limit refused the request; ``wait_seconds`` until it lets one through."""

    def __init__(self, wait_seconds: int) -> None:
        super().__init__()
        self.wait_seconds = wait_seconds


def rate_limited(
    limit: str | Callable[[], str], *, methods: Collection[str] | None = None
) -> Callable[[View], View]:
    """Limit the view per client address: ``limit`` in Flask-Limiter's syntax ("10 per
    minute"), or a function that reads it from the config. With ``methods``, only requests
    with those methods count. Over the limit the view is not called: RateLimited is raised.
    """

    def decorate(view: View) -> View:
        scope = f"{view.__module__}.{view.__name__}"

        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if (methods is None or request.method in methods) and current_app.config[
                "RATELIMIT_ENABLED"
            ]:
                hit(limit() if callable(limit) else limit, scope)
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


def hit(limit: str, scope: str) -> None:
    """Count this request against ``limit`` for its client address in ``scope``."""
    item = _parsed(limit)
    address = request.remote_addr or "127.0.0.1"
    fallback: StorageFallback = current_app.extensions[FALLBACK]
    strategy = fallback.strategy(limiter.limiter)
    try:
        allowed = strategy.hit(item, address, scope)
        reset = None if allowed else strategy.get_window_stats(item, address, scope).reset_time
    except StorageError as error:
        strategy = fallback.failed(error)
        allowed = strategy.hit(item, address, scope)
        reset = None if allowed else strategy.get_window_stats(item, address, scope).reset_time
    else:
        fallback.succeeded(strategy)
    if reset is not None:
        raise RateLimited(max(1, math.ceil(reset - time.time())))


class StorageFallback:
    """This worker's own counts, used while the configured storage cannot be reached."""

    def __init__(self, strategy_class: type[RateLimiter]) -> None:
        self.local = strategy_class(WorkerMemoryStorage())
        # While the storage is out: when to try it again (time.monotonic()); else None.
        self.retry_at: float | None = None

    def strategy(self, shared: RateLimiter) -> RateLimiter:
        retry_at = self.retry_at
        if retry_at is None or time.monotonic() >= retry_at:
            return shared
        return self.local

    def failed(self, error: StorageError) -> RateLimiter:
        if self.retry_at is None:
            # The error's kind only: its text may hold the storage's address and password.
            log.warning(
                "rate-limit storage unreachable (%s): counting in this worker until it is back",
                type(error.storage_error).__name__,
            )
        self.retry_at = time.monotonic() + RETRY_SECONDS
        return self.local

    def succeeded(self, strategy: RateLimiter) -> None:
        if self.retry_at is not None and strategy is not self.local:
            self.retry_at = None
            log.warning("rate-limit storage reachable again: counting there")


def install_storage_fallback(app: Flask) -> None:
    """Give the app its fallback counts, with the strategy Flask-Limiter is configured with
    (read from the config: with limits off, Flask-Limiter makes no strategy)."""
    name = app.config.get("RATELIMIT_STRATEGY") or "fixed-window"
    app.extensions[FALLBACK] = StorageFallback(STRATEGIES[name])


@functools.lru_cache(maxsize=64)
def _parsed(limit: str) -> RateLimitItem:
    # The configured limits are checked when the app starts (config.py).
    return parse(limit)


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
    """Take out Flask-Limiter's every-request hooks when they have nothing to do: no app-wide
    limit is set, and rate-limit headers are off (the after-request hook only adds those, and
    deducts the ``deduct_when`` limits this app does not use; the teardown hook only clears
    what those hooks kept). Call after every blueprint is registered (a blueprint may carry
    limits)."""
    if has_app_wide_limits(app):
        return
    hooks = app.before_request_funcs.get(None, [])
    # Bound methods compare equal when they are the same method of the same limiter.
    app.before_request_funcs[None] = [
        hook for hook in hooks if hook != limiter._check_request_limit
    ]
    if app.config.get("RATELIMIT_HEADERS_ENABLED"):
        return
    after = app.after_request_funcs.get(None, [])
    app.after_request_funcs[None] = [hook for hook in after if not _is_header_hook(hook)]
    # The two hooks above fill the request's limiter context; this one empties it.
    teardown = app.teardown_request_funcs.get(None, [])
    app.teardown_request_funcs[None] = [
        hook
        for hook in teardown
        if hook != limiter._Limiter__release_context  # type: ignore[attr-defined]
    ]


def _is_header_hook(hook: Callable[..., Any]) -> bool:
    # Flask-Limiter registers it as partial(Limiter.__inject_headers, limiter).
    return (
        isinstance(hook, functools.partial)
        and hook.args == (limiter,)
        and getattr(hook.func, "__name__", "") == "__inject_headers"
    )
