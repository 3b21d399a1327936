"""Writer processes for the crash test, started on demand so each costs no start-up time.

Run by tests/security/test_crash.py. The script imports and builds the app once, then reads
commands from standard input:

``start <file>``  forks a writer and prints its process id. The writer walks the form once
                  and then sends sheets through ``/send`` in a loop, appending the reference
                  of each acknowledged submission to ``<file>`` as one line, flushed at once.
``quit``          reaps every writer and exits.

The test kills writers with SIGKILL at random moments; the forked writer is a separate
process with its own database connection, so a kill is a real crash of a writing process.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import traceback
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
    args = parser.parse_args()
    app = create_app(base_config(args.instance, args.database_url))
    print("ready", flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        _reap()
        if command == "start":
            pid = os.fork()
            if pid == 0:
                _write_forever(app, args.clinic, Path(argument))
            print(pid, flush=True)
        elif command == "quit":
            break
    with contextlib.suppress(ChildProcessError):
        while True:
            os.wait()
    return 0


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _write_forever(app: Any, clinic: str, path: Path) -> None:
    try:
        with app.app_context():
            # Connections are never shared across a fork: the writer opens its own.
            db.engine.dispose(close=False)
        client = app.test_client()
        assert client.get(f"/c/{clinic}/").status_code == 302
        fill_in(client, app.extensions["ruleset"])
        with path.open("a", encoding="utf-8") as out:
            for index in itertools.count():
                reference = send(client, f"Crash Patient{os.getpid()}x{index}")
                out.write(reference + "\n")
                out.flush()
    except BaseException:
        traceback.print_exc()
    finally:
        # The loop ends only by a kill or an error; never return into the command loop.
        os._exit(1)


if __name__ == "__main__":
    sys.exit(main())
