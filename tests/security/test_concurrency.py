"""Eight processes sending at once: every acknowledged submission is stored exactly once.

Each process is a patient's browser session driven through the real pages (/send with its
CSRF token and idempotency key) against one shared database, as several app workers or
instances would be in production. SQLite relies on WAL and BEGIN IMMEDIATE so writers wait
for each other instead of failing; PostgreSQL on its own locking.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from harness import WORKERS_DIR, postgres_url, seed_database
from sqlalchemy import create_engine, text

PROCESSES = 8
SHEETS_EACH = 300


def run_senders(tmp_path: Path, database_url: str) -> list[str]:
    """Run the eight senders to the end; every reference they acknowledged."""
    out_dir = tmp_path / "acknowledged"
    out_dir.mkdir()
    command = [sys.executable, str(WORKERS_DIR / "send_workers.py")]
    command += ["--database-url", database_url, "--instance", str(tmp_path), "--clinic", "alpha"]
    command += ["--processes", str(PROCESSES), "--count", str(SHEETS_EACH)]
    command += ["--out-dir", str(out_dir)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert finished.returncode == 0, finished.stderr[-4000:]
    references: list[str] = []
    for path in sorted(out_dir.glob("worker-*.txt")):
        references.extend(path.read_text(encoding="utf-8").splitlines())
    return references


def assert_stored_exactly_once(database_url: str, acknowledged: list[str]) -> None:
    assert len(acknowledged) == PROCESSES * SHEETS_EACH
    duplicates = [ref for ref, count in Counter(acknowledged).items() if count > 1]
    assert not duplicates, f"one reference acknowledged to several patients: {duplicates}"
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT reference, patient_name FROM submissions"))
            stored = {reference: name for reference, name in rows}
            audited = connection.execute(
                text("SELECT count(*) FROM audit_log WHERE action = 'submission_create'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert len(stored) == len(acknowledged), "stored submissions differ from acknowledgements"
    assert set(stored) == set(acknowledged)
    # Each sheet has its own patient name, so a sheet stored twice shows as a repeated name.
    names = Counter(stored.values())
    assert [name for name, count in names.items() if count > 1] == []
    assert audited == len(stored)


@pytest.mark.slow
def test_concurrent_senders_on_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    seed_database(tmp_path, url)
    assert_stored_exactly_once(url, run_senders(tmp_path, url))


@pytest.mark.slow
@pytest.mark.postgres
def test_concurrent_senders_on_postgresql(tmp_path: Path, pg_database: str) -> None:
    url = postgres_url(pg_database)
    seed_database(tmp_path, url)
    engine_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    assert_stored_exactly_once(engine_url, run_senders(tmp_path, url))
