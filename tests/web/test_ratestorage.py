"""Rate-limit counts in the worker's memory: limits hold, old counts go, no thread is started."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from limits import parse
from limits.strategies import FixedWindowRateLimiter
from support.testapp import app_with

from questionnaire.extensions import limiter
from questionnaire.web import ratestorage
from questionnaire.web.ratestorage import WorkerMemoryStorage


@pytest.fixture
def threads_started(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    started: list[threading.Thread] = []
    original = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        started.append(thread)
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    return started


def test_limits_hold_and_counting_starts_no_thread(
    threads_started: list[threading.Thread],
) -> None:
    storage = WorkerMemoryStorage()
    threads_started.clear()  # the one the library's constructor starts
    strategy = FixedWindowRateLimiter(storage)
    item = parse("3 per minute")

    answers = [strategy.hit(item, "192.0.2.1", "send") for _ in range(4)]
    others = [strategy.hit(item, f"192.0.2.{n}", "send") for n in range(2, 200)]

    assert answers == [True, True, True, False]
    assert all(others)
    assert threads_started == []


def test_counts_past_their_window_are_freed_by_a_later_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratestorage, "EXPIRY_INTERVAL", 0.0)
    storage = WorkerMemoryStorage()
    strategy = FixedWindowRateLimiter(storage)
    strategy.hit(parse("5 per second"), "192.0.2.1", "api")
    assert len(storage.storage) == 1
    time.sleep(1.1)

    strategy.hit(parse("5 per minute"), "192.0.2.2", "api")

    assert list(storage.storage) == [key for key in storage.storage if "192.0.2.2" in key]
    assert len(storage.storage) == 1


def test_the_app_counts_in_worker_memory_without_redis(tmp_path: Path) -> None:
    app_with(tmp_path, RATELIMIT_ENABLED=True)

    assert isinstance(limiter.storage, WorkerMemoryStorage)
