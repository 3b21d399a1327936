"""Several processes sending sheets at the same time, each through the real pages.

Run by tests/security/test_concurrency.py. The script imports the app once, then forks
``--processes`` children; each child walks the form once through an in-process test client,
waits until every child is ready, and sends ``--count`` sheets through ``/send``. Each child
writes the reference of every acknowledged submission, one per line, to
``<out-dir>/worker-<n>.txt``. Exits 0 only when every child finished cleanly.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # patientflow, harness

from harness import base_config
from patientflow import fill_in, send

from questionnaire import create_app
from questionnaire.extensions import db


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--instance", required=True, type=Path)
    parser.add_argument("--clinic", required=True, help="slug of an existing clinic")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--count", type=int, default=300, help="sheets per process")
    parser.add_argument("--out-dir", required=True, type=Path)
    args = parser.parse_args()

    app = create_app(base_config(args.instance, args.database_url))
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(args.processes)
    children = [
        context.Process(target=_child, args=(app, args, number, ready))
        for number in range(args.processes)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
    failed = [n for n, child in enumerate(children) if child.exitcode != 0]
    if failed:
        print(f"workers {failed} failed", file=sys.stderr)
        return 1
    return 0


def _child(app: Any, args: argparse.Namespace, number: int, ready: Any) -> None:
    with app.app_context():
        # Connections are never shared across a fork: each child opens its own.
        db.engine.dispose(close=False)
    client = app.test_client()
    assert client.get(f"/c/{args.clinic}/").status_code == 302
    fill_in(client, app.extensions["ruleset"])
    ready.wait(timeout=120)
    with (args.out_dir / f"worker-{number}.txt").open("w", encoding="utf-8") as out:
        for index in range(args.count):
            reference = send(client, f"Worker{number} Patient{index}")
            out.write(reference + "\n")
            out.flush()


if __name__ == "__main__":
    sys.exit(main())
