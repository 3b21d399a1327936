"""A gunicorn server for a benchmark: on a free port of 127.0.0.1, up before use, stopped after;
and the environment the app runs in there.

The benchmarks are run as scripts (``.venv/bin/python benchmarks/web_bench.py``), so this
folder is the first entry of ``sys.path`` and they import this module as ``serving``.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

CPUS = os.cpu_count() or 1
# Every benchmark serves its apps alike: gthread workers, two per CPU with two threads each.
# On 2 cores this gave sends a shorter tail than one worker per CPU with four threads, whose
# threads wait on one another for the GIL while one of them holds the database's write lock.
WORKERS = 2 * CPUS
THREADS = 2
# A worker takes at most two connections per thread, as in production (docs/deployment.md):
# without a cap, the eight connections a load tool opens at once often all went to the one
# worker that woke first, which Python's interpreter lock holds to one core: slices at half
# speed.
CONNECTIONS_PER_THREAD = 2


def gunicorn_settings(workers: int = WORKERS, threads: int = THREADS) -> list[str]:
    connections = CONNECTIONS_PER_THREAD * threads
    return [
        *("-w", str(workers), "-k", "gthread", "--threads", str(threads)),
        *("--worker-connections", str(connections)),
    ]


def app_environment(instance: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment the app runs in: this one, with plain HTTP, the instance folder
    ``instance``, a new secret key and warnings only in the log; no Redis, and SQLite in
    ``instance`` unless ``database_url`` is given."""
    env = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        {
            "SECURE_COOKIES": "0",  # plain HTTP on 127.0.0.1
            "QUESTIONNAIRE_INSTANCE_PATH": str(instance),
            "SECRET_KEY": secrets.token_hex(32),
            "LOG_LEVEL": "WARNING",
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


class BenchError(RuntimeError):
    """The benchmark cannot measure what it was asked to: the message says why."""


def run_command(env: Mapping[str, str], *arguments: str) -> None:
    """Run an operator's command (``questionnaire init-db``, ...) in ``env``, as an operator
    does before starting the server."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "questionnaire"), *arguments],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"questionnaire {arguments[0]} failed:\n{done.stderr}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def gunicorn(
    target: str,
    env: Mapping[str, str],
    log_path: Path,
    options: Sequence[str] = (),
    *,
    cwd: Path | None = None,
    start_seconds: float = 30,
) -> Iterator[str]:
    """Serve ``target`` with gunicorn ``options``; yields the base URL once ``/`` answers.

    The server's output goes to ``log_path``, whose end is shown when it fails to start. It
    is stopped with SIGTERM on leaving, and killed if it has not ended 15 s later.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gunicorn", *options, "-b", f"127.0.0.1:{port}", target]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=dict(env), stdout=log, stderr=subprocess.STDOUT, cwd=cwd
        )
    try:
        _wait_until_up(base, process, log_path, target, start_seconds)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(
    base: str, process: subprocess.Popen[bytes], log_path: Path, target: str, seconds: float
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited early:\n{log_path.read_text()[-3000:]}")
        try:
            requests.get(base + "/", timeout=5, allow_redirects=False)
            return
        except (requests.ConnectionError, requests.Timeout):
            # Not listening yet, or listening while its workers still import the app.
            time.sleep(0.1)
    tail = log_path.read_text()[-3000:]
    raise BenchError(f"gunicorn ({target}) did not answer within {seconds:.0f} s:\n{tail}")
