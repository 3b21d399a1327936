"""A writer killed at any moment loses no acknowledged submission and leaves SQLite intact.

A patient who saw a reference code must find it at the clinic, whatever happens to the server
process afterwards: the submission and its audit row are committed before the code is shown,
and a process killed mid-transaction leaves nothing half-written behind.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import WORKERS_DIR, seed_database

KILLS = 40
# How long a writer runs before it is killed: long enough for several sends, and random so
# kills land at every step of a request (reading, validating, inserting, committing).
RUN_SECONDS = (0.05, 0.6)


def acknowledged(path: Path) -> list[str]:
    """The references a writer acknowledged: complete lines only."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]


@pytest.mark.slow
def test_killed_writers_lose_no_acknowledged_submission(tmp_path: Path) -> None:
    database = tmp_path / "crash.sqlite3"
    url = f"sqlite:///{database}"
    seed_database(tmp_path, url)
    command = [sys.executable, str(WORKERS_DIR / "crash_writer.py"), "--database-url", url]
    command += ["--instance", str(tmp_path), "--clinic", "alpha"]
    rng = random.Random()
    acked: list[str] = []
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as zygote:
        assert zygote.stdin is not None and zygote.stdout is not None
        try:
            assert zygote.stdout.readline().strip() == "ready"
            for kill in range(KILLS):
                out = tmp_path / f"writer-{kill}.txt"
                zygote.stdin.write(f"start {out}\n")
                zygote.stdin.flush()
                pid = int(zygote.stdout.readline())
                # The writer walks the form once first; wait until it is sending.
                deadline = time.monotonic() + 30
                while not acknowledged(out) and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert acknowledged(out), f"writer {kill} acknowledged nothing within 30 s"
                time.sleep(rng.uniform(*RUN_SECONDS))
                os.kill(pid, signal.SIGKILL)
                acked.extend(acknowledged(out))
        finally:
            zygote.stdin.write("quit\n")
            zygote.stdin.flush()
            zygote.wait(timeout=30)

    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = [row[0] for row in connection.execute("SELECT reference FROM submissions")]
        audited = connection.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'submission_create'"
        ).fetchone()[0]
    assert len(acked) == len(set(acked)), "a reference was acknowledged twice"
    missing = set(acked) - set(stored)
    assert not missing, f"{len(missing)} acknowledged submissions are not stored: {missing}"
    # At most one commit per kill can land after its code was shown and before it was written.
    assert len(stored) - len(acked) <= KILLS
    assert audited == len(stored), "a submission and its audit row were not stored together"
