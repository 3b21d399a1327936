"""Redis going away: patients still send and limits still hold, counted in each worker until
Redis is back, and then counted there again.

Redis keeps only the rate-limit counts. The app reaches it through a TCP proxy owned by the
test, so the outage is played by closing the proxy; the shared server keeps running.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from harness import (
    REDIS,
    REDIS_DB,
    REDIS_HOST,
    REDIS_PORT,
    build_app,
    redis_reachable,
    seed_clinics,
)
from patientflow import fill_in, send
from sqlalchemy import func, select
from support.answer_sets import TYPICAL
from tcpproxy import TcpProxy

from questionnaire.clinic.models import Submission
from questionnaire.extensions import db
from questionnaire.web import ratelimits

EVALUATE = "/api/v1/evaluate"
DOWN = "rate-limit storage unreachable (ConnectionError): counting in this worker until it is back"
BACK = "rate-limit storage reachable again: counting there"

Require = Callable[[bool, str], None]


def shared_counts() -> list[bytes]:
    """The rate-limit counts kept in Redis, read on the server itself, not via the proxy."""
    server = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    return list(server.scan_iter("LIMITS*"))


@pytest.fixture
def proxy(require: Require) -> Iterator[TcpProxy]:
    require(redis_reachable(), REDIS)
    redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB).flushdb()
    proxy = TcpProxy(REDIS_HOST, REDIS_PORT)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def app(tmp_path: Path, proxy: TcpProxy) -> Flask:
    app = build_app(
        tmp_path,
        RATELIMIT_ENABLED=True,
        REDIS_URL=f"redis://:not-for-logs@{REDIS_HOST}:{proxy.port}/{REDIS_DB}",
        API_RATE_LIMIT="3 per minute",
    )
    seed_clinics(app)
    return app


def submissions(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Submission)) or 0


@pytest.mark.redis
def test_patients_send_and_limits_hold_while_redis_is_down(
    app: Flask, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    client = app.test_client()
    assert client.post(EVALUATE, json=TYPICAL).status_code == 200
    assert shared_counts(), "the count did not go to Redis"

    proxy.stop()
    client.get("/c/alpha/")
    fill_in(client, app.extensions["ruleset"])
    send(client, "Outage Patient")  # asserts the 303
    assert submissions(app) == 1

    # The API's limit of 3 a minute still holds, counted in this worker from the outage on.
    answers = [client.post(EVALUATE, json=TYPICAL).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]

    logged = [record.getMessage() for record in caplog.records]
    assert logged.count(DOWN) == 1, logged
    assert not any("not-for-logs" in message for message in logged)


@pytest.mark.redis
def test_counts_go_back_to_redis_once_it_is_back(
    app: Flask, proxy: TcpProxy, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimits, "RETRY_SECONDS", 0.0)  # try Redis again at once
    client = app.test_client()
    proxy.stop()
    assert client.post(EVALUATE, json=TYPICAL).status_code == 200
    assert client.post(EVALUATE, json=TYPICAL).status_code == 200
    assert shared_counts() == []

    proxy.start()
    assert client.post(EVALUATE, json=TYPICAL).status_code == 200

    assert len(shared_counts()) == 1
    logged = [record.getMessage() for record in caplog.records]
    assert logged.count(DOWN) == 1, logged
    assert logged.count(BACK) == 1, logged


def test_a_redis_that_never_answers_is_given_up_on_within_seconds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that takes the connection and says nothing (a hung Redis) holds a request
    until the socket times out: the app's is a second, where the Redis client's own
    default is five (and older clients' none at all)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the backlog; nothing ever answers
        port = silent.getsockname()[1]
        app = build_app(tmp_path, RATELIMIT_ENABLED=True, REDIS_URL=f"redis://127.0.0.1:{port}/0")
        client = app.test_client()
        started = time.monotonic()
        assert client.post(EVALUATE, json=TYPICAL).status_code == 200
        assert time.monotonic() - started < 3
        # Later requests count in the worker at once, without waiting on the silent server.
        assert client.post(EVALUATE, json=TYPICAL).status_code == 200
    logged = [record.getMessage() for record in caplog.records]
    assert any(message.startswith("rate-limit storage unreachable (") for message in logged)
