"""Sending sheets to a clinic under gunicorn, against a bare Flask hello in the same run.

The send path runs with everything production has: CSRF checks, security headers, rate
limits, and a database whose tables are made by ``questionnaire init-db``: SQLite in WAL
mode (the default), PostgreSQL (a fresh database on 127.0.0.1:5432, dropped afterwards), or
each in turn, with its own hello baseline. Eight client
threads, each a patient's browser (a ``requests.Session``) that walked the form once, send
again and again: GET /send (a fresh CSRF token and idempotency key), then POST /send. The
hello app is loaded by the same client code with the same gunicorn settings, so the ratio of
the two request rates shows what sending costs, whatever the machine.

Rate limits stay on: every request is checked against its limit. Real patients each send from
their own address, so each simulated send comes from its own address too (set by a small WSGI
wrapper from a request header); no limit is reached, and none is switched off. For the same
reason each send has its own connection, closed after the POST: a gunicorn worker keeps the
connections it accepts, and eight connections opened once and kept would often all land on
one of the two workers, which then measures how they happened to be shared out rather than
the app. The hello clients close theirs after every second request, so both make the same
number of connections per request.

At the end, every acknowledged send (a 303 answer) is looked up by its idempotency key in the
database: a send acknowledged but not stored is lost.

Goals: ratio >= 0.4, p99 < 30 ms, lost = 0. Each database ends with the line
``database=... send_rps=... hello_rps=... ratio=... p99_ms=... lost=...``; rates count HTTP
requests (a send is two of them).

Run: .venv/bin/python benchmarks/send_bench.py [--database sqlite|postgresql|both]
     [--seconds 12] [--clients 8] [--postgres "host=127.0.0.1 port=5432 user=postgres"]
"""

from __future__ import annotations

import argparse
import itertools
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests"))  # support.pgdatabase, shared with the tests

import serving  # noqa: E402
from serving import BenchError  # noqa: E402
from support.pgdatabase import database_url, fresh_postgres_database  # noqa: E402

BIN = Path(sys.executable).parent
# Keep-alive outlasts the pauses between slices, so no client finds its connection closed.
GUNICORN_SETTINGS = ["-w", "2", "-k", "gthread", "--threads", "4", "--keep-alive", "30"]
CLINIC = "bench"
CLIENT_HEADER = "X-Bench-Client"

GOAL_RATIO = 0.4
GOAL_P99_MS = 30.0

DATABASES = ("sqlite", "postgresql")
POSTGRES_ADMIN = "host=127.0.0.1 port=5432 user=postgres"

# One patient's answers as the form posts them: a full sheet with no red flag.
FORM_ANSWERS: dict[str, str | list[str]] = {
    "pain_duration": "3_to_6_months",
    "pain_location": ["lower_back"],
    "limb_pain": "leg",
    "pain_score": "7",
    "red_flags": ["none"],
    "conservative_care": ["physical_therapy", "pain_medicine"],
    "earlier_injections": "no",
    "diagnosis_given": "no",
    "imaging_done": "yes",
    "blood_thinners": "not_sure",
    "bleeding_disorder": "no",
    "diabetes": "yes",
    "diabetes_control": "not_sure",
    "infection": "no",
    "allergies": ["contrast_dye"],
    "pregnancy": "not_applicable",
    "driver": "yes",
}
# Asks the server to close the connection after answering.
CLOSE = {"Connection": "close"}
HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"')
REDIRECTS = {301, 302, 303, 307, 308}


# --- the app as gunicorn serves it ------------------------------------------------------------


def wsgi_app() -> Callable[..., Any]:
    """The real app, with each request's client address taken from ``X-Bench-Client``.

    gunicorn loads this factory (``send_bench:wsgi_app()``); the header stands for the
    address a patient's own connection would come from.
    """
    from questionnaire import create_app

    app = create_app()

    def with_client_address(environ: dict[str, Any], start_response: Any) -> Any:
        address = environ.get("HTTP_X_BENCH_CLIENT")
        if address:
            environ["REMOTE_ADDR"] = address
        return app(environ, start_response)

    return with_client_address


def gunicorn(target: str, env: Mapping[str, str], log_path: Path) -> AbstractContextManager[str]:
    """A server with GUNICORN_SETTINGS that imports ``target`` from this folder."""
    options = [*GUNICORN_SETTINGS, "--chdir", str(BENCH_DIR)]
    return serving.gunicorn(target, env, log_path, options, start_seconds=60)


@contextmanager
def postgres_database(admin: str) -> Iterator[str]:
    """A new, empty database on the server of ``admin`` (a libpq DSN), dropped afterwards."""
    with ExitStack() as stack:
        try:
            name = stack.enter_context(fresh_postgres_database("send_bench", admin))
        except psycopg.Error as error:
            raise BenchError(
                f"cannot create a database on PostgreSQL ({admin}): {error}. "
                "Start the server, pass --postgres, or run with --database sqlite."
            ) from None
        yield database_url(name, admin)


def prepare_database(env: Mapping[str, str]) -> None:
    """The operator's commands: tables by migration, then the clinic patients send to."""
    for command in (
        ["init-db"],
        ["create-clinic", "--slug", CLINIC, "--name", "Bench Clinic"],
    ):
        done = subprocess.run(
            [str(BIN / "questionnaire"), *command],
            env=dict(env),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"questionnaire {command[0]} failed:\n{done.stderr}")


# --- the clients ------------------------------------------------------------------------------


_addresses = itertools.count(1)
_addresses_lock = threading.Lock()


def next_address() -> str:
    """A new client address for each send, from 10.0.0.0/8."""
    with _addresses_lock:
        number = next(_addresses)
    return f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"


def hidden_fields(html: str) -> dict[str, str]:
    return dict(HIDDEN.findall(html))


def walk_form(base: str, ruleset: Any) -> requests.Session:
    """A patient who came through the clinic's link and answered every page."""
    session = requests.Session()
    session.headers[CLIENT_HEADER] = next_address()
    session.get(f"{base}/c/{CLINIC}/", allow_redirects=False, timeout=10)
    for page in ruleset.questionnaire.pages:
        url = f"{base}/questions/{page.id}"
        shown = session.get(url, allow_redirects=False, timeout=10)
        if shown.status_code in REDIRECTS:
            continue  # every question on it is hidden by earlier answers
        data: list[tuple[str, str]] = [("csrf_token", hidden_fields(shown.text)["csrf_token"])]
        for question in page.questions:
            value = FORM_ANSWERS.get(question.id)
            values = value if isinstance(value, list) else [] if value is None else [value]
            data.extend((question.id, item) for item in values)
        sent = session.post(url, data=data, allow_redirects=False, timeout=10)
        if sent.status_code not in REDIRECTS:
            raise BenchError(f"POST {url} answered {sent.status_code}: the answers do not fit")
    return session


def send_details(number: int) -> dict[str, str]:
    return {
        "consent": "yes",
        "patient_name": f"Bench Patient {number}",
        "dob-day": "7",
        "dob-month": "3",
        "dob-year": "1956",
        "appointment-day": "1",
        "appointment-month": "1",
        "appointment-year": str(time.gmtime().tm_year + 1),
    }


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    post_latencies: list[float] = field(default_factory=list)
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # idempotency keys answered 303
    elapsed: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def merge(
        self, latencies: list[float], posts: list[float], failures: list[str], keys: list[str]
    ) -> None:
        with self.lock:
            self.latencies.extend(latencies)
            self.post_latencies.extend(posts)
            self.requests += len(latencies)
            self.failures.extend(failures)
            self.acknowledged.extend(keys)


def send_loop(base: str, session: requests.Session, until: float, tally: Tally) -> None:
    latencies: list[float] = []
    posts: list[float] = []
    failures: list[str] = []
    keys: list[str] = []
    number = 0
    try:
        while time.perf_counter() < until:
            session.headers[CLIENT_HEADER] = next_address()
            start = time.perf_counter()
            form = session.get(f"{base}/send", allow_redirects=False, timeout=10)
            middle = time.perf_counter()
            latencies.append(middle - start)
            if form.status_code != 200:
                failures.append(f"GET /send {form.status_code}")
                continue
            hidden = hidden_fields(form.text)
            number += 1
            answer = session.post(
                f"{base}/send",
                data={**send_details(number), **hidden},
                allow_redirects=False,
                timeout=10,
                headers=CLOSE,
            )
            posts.append(time.perf_counter() - middle)
            latencies.append(posts[-1])
            if answer.status_code == 303:
                keys.append(hidden["idempotency_key"])
            else:
                failures.append(f"POST /send {answer.status_code}")
    except requests.RequestException as error:
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        tally.merge(latencies, posts, failures, keys)


def hello_loop(base: str, session: requests.Session, until: float, tally: Tally) -> None:
    latencies: list[float] = []
    failures: list[str] = []
    try:
        for number in itertools.count(1):
            if time.perf_counter() >= until:
                break
            session.headers[CLIENT_HEADER] = next_address()
            start = time.perf_counter()
            # Two requests per connection, as a send makes (see the module's docstring).
            closing = CLOSE if number % 2 == 0 else None
            answer = session.get(f"{base}/", allow_redirects=False, timeout=10, headers=closing)
            latencies.append(time.perf_counter() - start)
            if answer.status_code != 200:
                failures.append(f"GET / {answer.status_code}")
    except requests.RequestException as error:
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        tally.merge(latencies, [], failures, [])


Loop = Callable[[str, requests.Session, float, Tally], None]


def run_slice(base: str, sessions: list[requests.Session], loop: Loop, seconds: float) -> Tally:
    tally = Tally()
    until = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=loop, args=(base, session, until, tally)) for session in sessions
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.elapsed = time.perf_counter() - started
    return tally


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


STORED_KEYS = "SELECT idempotency_key FROM submissions"


def stored_keys(instance: Path, database_url: str | None) -> set[str]:
    """Every idempotency key the database holds, read without the app."""
    if database_url:
        with psycopg.connect(database_url) as server:
            return {key for (key,) in server.execute(STORED_KEYS)}
    local = sqlite3.connect(instance / "questionnaire.sqlite3")
    try:
        return {key for (key,) in local.execute(STORED_KEYS)}
    finally:
        local.close()


# --- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    database: str
    ratio: float
    p99_ms: float
    lost: int
    failures: int


def measure(
    database: str, database_url: str | None, ruleset: Any, args: argparse.Namespace
) -> Outcome:
    """Run the slices against one database and print its figures."""
    with tempfile.TemporaryDirectory(prefix="send-bench-") as folder:
        instance = Path(folder) / "instance"
        instance.mkdir()
        env = serving.app_environment(instance, database_url)
        prepare_database(env)
        with (
            gunicorn("send_bench:wsgi_app()", env, Path(folder) / "send.log") as send_base,
            gunicorn("hello_app:app", env, Path(folder) / "hello.log") as hello_base,
        ):
            patients = [walk_form(send_base, ruleset) for _ in range(args.clients)]
            visitors = [requests.Session() for _ in range(args.clients)]
            # Warm up both: connections open, templates compiled, caches filled.
            warm_up = run_slice(send_base, patients, send_loop, 1.5)
            run_slice(hello_base, visitors, hello_loop, 1.5)
            sends: list[Tally] = []
            hellos: list[Tally] = []
            slice_seconds = args.seconds / args.rounds
            # Alternating slices share out whatever else the machine is doing.
            for _ in range(args.rounds):
                sends.append(run_slice(send_base, patients, send_loop, slice_seconds))
                hellos.append(run_slice(hello_base, visitors, hello_loop, slice_seconds))
            time.sleep(0.5)  # let the last commits land before counting
            stored = stored_keys(instance, database_url)
        for session in patients + visitors:
            session.close()

    # The warm-up sends count for "lost" too: every acknowledged send must be stored.
    acknowledged = [key for tally in [warm_up, *sends] for key in tally.acknowledged]
    lost = len(set(acknowledged) - stored)
    send_requests = sum(tally.requests for tally in sends)
    hello_requests = sum(tally.requests for tally in hellos)
    send_rps = send_requests / sum(tally.elapsed for tally in sends)
    hello_rps = hello_requests / sum(tally.elapsed for tally in hellos)
    send_latencies = [value for tally in sends for value in tally.latencies]
    hello_latencies = [value for tally in hellos for value in tally.latencies]
    failures = [failure for tally in sends + hellos for failure in tally.failures]
    ratio = send_rps / hello_rps
    p99_ms = percentile(send_latencies, 0.99) * 1000

    print(f"--- {database}")
    print(
        f"send:  {send_requests} requests, {len(acknowledged)} sheets sent, "
        f"{send_rps:.0f} req/s, p50 {percentile(send_latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {p99_ms:.1f} ms"
    )
    print(
        f"hello: {hello_requests} requests, {hello_rps:.0f} req/s, "
        f"p50 {percentile(hello_latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(hello_latencies, 0.99) * 1000:.1f} ms"
    )
    posts = [value for tally in sends for value in tally.post_latencies]
    print(
        f"  of which POST /send: p50 {percentile(posts, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(posts, 0.99) * 1000:.1f} ms"
    )
    print(f"stored {len(stored)} submissions; acknowledged {len(acknowledged)}; lost {lost}")
    if failures:
        print(f"unexpected answers: {len(failures)}, first: {failures[:5]}")
    goals = {
        f"ratio >= {GOAL_RATIO}": ratio >= GOAL_RATIO,
        f"p99 < {GOAL_P99_MS:.0f} ms": p99_ms < GOAL_P99_MS,
        "lost = 0": lost == 0,
        "no unexpected answer": not failures,
    }
    print(
        "goals: "
        + ", ".join(f"{name}: {'met' if met else 'MISSED'}" for name, met in goals.items())
    )
    print(
        f"database={database} send_rps={send_rps:.0f} hello_rps={hello_rps:.0f} "
        f"ratio={ratio:.2f} p99_ms={p99_ms:.1f} lost={lost}"
    )
    return Outcome(database, ratio, p99_ms, lost, len(failures))


def main() -> int:
    parser = argparse.ArgumentParser(description="Sending sheets under load, next to hello.")
    parser.add_argument(
        "--database",
        choices=(*DATABASES, "both"),
        default="both",
        help="the database the app stores sends in; both runs SQLite, then PostgreSQL",
    )
    parser.add_argument(
        "--postgres",
        default=POSTGRES_ADMIN,
        metavar="DSN",
        help=f"a server where a fresh database may be made and dropped (default: {POSTGRES_ADMIN})",
    )
    parser.add_argument("--seconds", type=float, default=12.0, help="measured time per target")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--rounds", type=int, default=3, help="alternating slices per target")
    args = parser.parse_args()
    if args.clients < 1 or args.rounds < 1 or args.seconds <= 0:
        parser.error("--clients and --rounds must be 1 or more, --seconds more than 0")

    sys.path.insert(0, str(ROOT))
    from questionnaire.engine import load_ruleset

    ruleset = load_ruleset(ROOT / "rules")
    print(f"clients={args.clients} gunicorn={' '.join(GUNICORN_SETTINGS)}")
    outcomes: list[Outcome] = []
    for database in DATABASES if args.database == "both" else (args.database,):
        if database == "postgresql":
            with postgres_database(args.postgres) as url:
                outcomes.append(measure(database, url, ruleset, args))
        else:
            outcomes.append(measure(database, None, ruleset, args))
    return 0 if all(o.lost == 0 and not o.failures for o in outcomes) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"send_bench: {error}", file=sys.stderr)
        sys.exit(2)
