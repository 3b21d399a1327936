"""Sending sheets to a clinic under gunicorn, against a bare Flask hello in the same run.

The send path runs with everything production has: CSRF checks, security headers, rate
limits, and a database whose tables are made by ``questionnaire init-db``: SQLite in WAL
mode (the default), PostgreSQL (a fresh database on 127.0.0.1:5432, dropped afterwards), or
each in turn, with its own hello baseline. Eight clients, each a patient's browser that
walked the form once, send again and again: GET /send (a fresh CSRF token and idempotency
key), then POST /send. The hello app is loaded by the same clients with the same gunicorn
settings (those of every benchmark here: ``serving.gunicorn_settings``), so the ratio of the
two request rates shows what sending costs, whatever the machine.

The clients must cost little, or the figures measure them rather than the server: each is a
process of its own with one thread, forked once before the first slice, speaking HTTP/1.1
through ``http.client`` on one connection, kept alive and opened again whenever it was closed.
Its patient's cookies come from walking the form (with ``requests``, untimed); after that it
sends back the latest value of each cookie the server sets. A request is timed in its client
process, from sending it until the whole answer has been read; latencies, counts, failures and
acknowledged idempotency keys go back to the parent through a pipe at the end of each slice.

The run alternates slices of sending and of hello (a warm-up of each, then ``--rounds`` of
each). The parent gives every slice a start a little ahead and a deadline, on the clock all
processes share; the clients, already running, wait for the start, then work until the
deadline. A slice's rate counts the requests completed between its start and its deadline;
latencies are of every request made in it.

Rate limits stay on: every request is checked against its limit. Real patients each send from
their own address, so each simulated send comes from its own address too (set by a small WSGI
wrapper from a request header; each client process draws from its own block of 10.0.0.0/8);
no limit is reached, and none is switched off. For the same reason each send has its own
connection, closed after the POST: a gunicorn worker keeps the connections it accepts, and
eight connections opened once and kept would often all land on a few of the workers, which
then measures how they happened to be shared out rather than the app. The hello clients close
theirs after every second request, so both make the same number of connections per request.

At the end, every acknowledged send (a 303 answer) is looked up by its idempotency key in the
database: a send acknowledged but not stored is lost.

A third server, ``floor_app.py``, is loaded in the same run by the same clients, in the same
way as the send path: the required stack (Flask's session, Flask-WTF's CSRF check, one row of
the same data written through Flask-SQLAlchemy to the same database) doing the least a send
can do. Its ratio to hello is the most any send path on this stack can reach on this machine;
the gap between it and the send path's is what the questionnaire's own checks cost.

Goals: ratio >= 0.4, p99 < 30 ms, lost = 0. Each database ends with the line
``database=... send_rps=... hello_rps=... ratio=... p99_ms=... lost=... floor_ratio=...``;
rates count HTTP requests (a send is two of them).

Run: .venv/bin/python benchmarks/send_bench.py [--database sqlite|postgresql|both]
     [--seconds 12] [--clients 8] [--rounds 3]
     [--postgres "host=127.0.0.1 port=5432 user=postgres"]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import multiprocessing
import multiprocessing.process
import re
import signal
import sqlite3
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from multiprocessing.connection import Connection as MpConnection
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

# Keep-alive outlasts a slice, so the server does not close a connection a client means to use.
GUNICORN_SETTINGS = [*serving.gunicorn_settings(), "--keep-alive", "30"]
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
    """The app as production serves it (``questionnaire.wsgi``), with each request's client
    address taken from ``X-Bench-Client``.

    gunicorn loads this factory (``send_bench:wsgi_app()``); the header stands for the
    address a patient's own connection would come from.
    """
    from questionnaire.wsgi import app

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
    serving.run_command(env, "init-db")
    serving.run_command(env, "create-clinic", "--slug", CLINIC, "--name", "Bench Clinic")


# --- the clients ------------------------------------------------------------------------------

ADDRESS_SPACE = 1 << 24  # 10.0.0.0/8


class AddressBlock:
    """Client addresses from one block of 10.0.0.0/8 that no other process draws from."""

    def __init__(self, block: int, blocks: int) -> None:
        size = ADDRESS_SPACE // blocks
        self._next = max(1, block * size)
        self._stop = (block + 1) * size

    def next_address(self) -> str:
        number = self._next
        if number >= self._stop:
            raise BenchError("a client has used up its block of addresses")
        self._next = number + 1
        return f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"


def hidden_fields(html: str) -> dict[str, str]:
    return dict(HIDDEN.findall(html))


def walk_form(base: str, ruleset: Any, addresses: AddressBlock) -> dict[str, str]:
    """A patient who came through the clinic's link and answered every page: their cookies."""
    with requests.Session() as session:
        session.headers[CLIENT_HEADER] = addresses.next_address()
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
        return {cookie.name: cookie.value or "" for cookie in session.cookies}


def floor_cookies(base: str, addresses: AddressBlock) -> dict[str, str]:
    """A patient of the floor app, answers in the session: their cookies."""
    with requests.Session() as session:
        session.headers[CLIENT_HEADER] = addresses.next_address()
        session.get(f"{base}/c/{CLINIC}/", allow_redirects=False, timeout=10)
        return {cookie.name: cookie.value or "" for cookie in session.cookies}


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


class Browser:
    """One connection to a server, kept alive between requests and opened again whenever it
    was closed, and the cookies the server set (name=value only, the latest of each)."""

    def __init__(self, base: str, cookies: Mapping[str, str] | None = None) -> None:
        url = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
        self.cookies = dict(cookies or {})

    def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, bytes, float]:
        """The status and body of the answer, and the seconds from sending the request until
        the whole body was read."""
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        # A connection opened now cannot have been closed by the server; a kept one can.
        kept = self.connection.sock is not None
        start = time.perf_counter()
        try:
            response = self._exchange(method, path, headers, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not kept:
                raise
            # The server closed the kept connection before reading the request: send it again
            # on a new one, as a browser does. The time lost counts.
            self.connection.close()
            response = self._exchange(method, path, headers, body)
        content = response.read()
        seconds = time.perf_counter() - start
        for header in response.headers.get_all("Set-Cookie") or ():
            self._keep(header)
        return response.status, content, seconds

    def _exchange(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> http.client.HTTPResponse:
        self.connection.request(method, path, body=body, headers=headers)
        return self.connection.getresponse()

    def _keep(self, header: str) -> None:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            if morsel["max-age"] == "0":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.coded_value

    def close(self) -> None:
        self.connection.close()


@dataclass
class Tally:
    """What clients did in one slice. Latencies are of every timed request; ``requests``
    counts those completed between the slice's start and its deadline."""

    latencies: list[float] = field(default_factory=list)
    post_latencies: list[float] = field(default_factory=list)
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # idempotency keys answered 303
    seconds: float = 0.0

    def add(self, other: Tally) -> None:
        self.latencies.extend(other.latencies)
        self.post_latencies.extend(other.post_latencies)
        self.requests += other.requests
        self.failures.extend(other.failures)
        self.acknowledged.extend(other.acknowledged)


FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Patient:
    """The cookies of one patient who has answered the form, on the send and floor servers."""

    send: dict[str, str]
    floor: dict[str, str]


@dataclass(frozen=True)
class Servers:
    send: str
    floor: str
    hello: str


class Client:
    """One client's state inside its own process: a patient's browser for the send server and
    one for the floor server, a visitor's for the hello server, and its own block of
    addresses."""

    def __init__(self, servers: Servers, patient: Patient, addresses: AddressBlock) -> None:
        self.patient = Browser(servers.send, patient.send)
        self.floor = Browser(servers.floor, patient.floor)
        self.visitor = Browser(servers.hello)
        self.addresses = addresses
        self.sends = 0  # numbers the patients' names

    def send_loop(self, browser: Browser, deadline: float, tally: Tally) -> None:
        while time.monotonic() < deadline:
            headers = {CLIENT_HEADER: self.addresses.next_address()}
            status, page, seconds = browser.request("GET", "/send", dict(headers))
            self._count(tally, seconds, deadline)
            if status != 200:
                tally.failures.append(f"GET /send {status}")
                continue
            hidden = hidden_fields(page.decode())
            self.sends += 1
            body = urllib.parse.urlencode({**send_details(self.sends), **hidden}).encode()
            status, _, seconds = browser.request(
                "POST", "/send", {**headers, **FORM_HEADERS, **CLOSE}, body
            )
            self._count(tally, seconds, deadline)
            tally.post_latencies.append(seconds)
            if status == 303:
                tally.acknowledged.append(hidden["idempotency_key"])
            else:
                tally.failures.append(f"POST /send {status}")

    def hello_loop(self, deadline: float, tally: Tally) -> None:
        for number in itertools.count(1):
            if time.monotonic() >= deadline:
                break
            headers = {CLIENT_HEADER: self.addresses.next_address()}
            if number % 2 == 0:
                # Two requests per connection, as a send makes (see the module's docstring).
                headers.update(CLOSE)
            status, _, seconds = self.visitor.request("GET", "/", headers)
            self._count(tally, seconds, deadline)
            if status != 200:
                tally.failures.append(f"GET / {status}")

    @staticmethod
    def _count(tally: Tally, seconds: float, deadline: float) -> None:
        tally.latencies.append(seconds)
        if time.monotonic() <= deadline:
            tally.requests += 1

    def run(self, kind: str, start: float, deadline: float) -> Tally:
        """One slice: wait for its start, then send (to the app or the floor app) or say
        hello until its deadline."""
        tally = Tally(seconds=deadline - start)
        time.sleep(max(0.0, start - time.monotonic()))
        try:
            if kind == "send":
                self.send_loop(self.patient, deadline, tally)
            elif kind == "floor":
                self.send_loop(self.floor, deadline, tally)
            else:
                self.hello_loop(deadline, tally)
        except Exception as error:  # reported to the parent, which counts it as a failure
            tally.failures.append(f"{type(error).__name__}: {error}")
        finally:
            # Each slice starts on new connections.
            for browser in (self.patient, self.floor, self.visitor):
                browser.close()
        return tally


def client_main(pipe: MpConnection, client: Client) -> None:
    """A client process: run each slice the parent orders, and send back its tally."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it
    while (order := pipe.recv()) is not None:
        pipe.send(client.run(*order))


# The slice's start is this far after the orders go out, so every client is waiting for it.
START_LEAD_SECONDS = 0.25


class Clients:
    """N client processes, each single-threaded with its own patient, visitor and addresses;
    started once, before any slice, and stopped at the end."""

    def __init__(self, servers: Servers, patients: list[Patient]) -> None:
        context = multiprocessing.get_context("fork")
        blocks = len(patients) + 1  # block 0 is the parent's, for walking the form
        self.pipes: list[MpConnection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        for number, patient in enumerate(patients, start=1):
            client = Client(servers, patient, AddressBlock(number, blocks))
            ours, theirs = context.Pipe()
            process = context.Process(target=client_main, args=(theirs, client), daemon=True)
            process.start()
            theirs.close()
            self.pipes.append(ours)
            self.processes.append(process)

    def run_slice(self, kind: str, seconds: float) -> Tally:
        start = time.monotonic() + START_LEAD_SECONDS
        deadline = start + seconds
        for pipe in self.pipes:
            pipe.send((kind, start, deadline))
        tally = Tally(seconds=seconds)
        # A send is two requests, each with a 10 s timeout, after the deadline at the latest.
        wait_until = deadline + 30
        for pipe, process in zip(self.pipes, self.processes, strict=True):
            try:
                if not pipe.poll(max(0.0, wait_until - time.monotonic())):
                    raise BenchError(f"client process {process.pid} did not finish its slice")
                tally.add(pipe.recv())
            except EOFError:
                raise BenchError(
                    f"client process {process.pid} ended (exit code {process.exitcode})"
                ) from None
        return tally

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
        for pipe in self.pipes:
            pipe.close()


@contextmanager
def client_processes(servers: Servers, patients: list[Patient]) -> Iterator[Clients]:
    clients = Clients(servers, patients)
    try:
        yield clients
    finally:
        clients.stop()


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
    floor_ratio: float
    p99_ms: float
    lost: int
    failures: int


def error_lines(log_path: Path, limit: int = 60) -> list[str]:
    """The first traceback or error lines in a gunicorn log (the app logs no patient data)."""
    found: list[str] = []
    inside = False
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("Traceback") or " ERROR " in line or "[ERROR]" in line:
            inside = True
        elif inside and not line.startswith((" ", "\t")) and ":" not in line:
            inside = False
        if inside or "Error:" in line:
            found.append(line)
        if len(found) >= limit:
            break
    return found


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
            gunicorn("floor_app:app", env, Path(folder) / "floor.log") as floor_base,
            gunicorn("hello_app:app", env, Path(folder) / "hello.log") as hello_base,
        ):
            servers = Servers(send=send_base, floor=floor_base, hello=hello_base)
            parent_addresses = AddressBlock(0, args.clients + 1)
            patients = [
                Patient(
                    send=walk_form(send_base, ruleset, parent_addresses),
                    floor=floor_cookies(floor_base, parent_addresses),
                )
                for _ in range(args.clients)
            ]
            with client_processes(servers, patients) as clients:
                # Warm up all three: templates compiled, caches filled.
                warm_up = clients.run_slice("send", 1.5)
                clients.run_slice("floor", 1.5)
                clients.run_slice("hello", 1.5)
                sends: list[Tally] = []
                floors: list[Tally] = []
                hellos: list[Tally] = []
                slice_seconds = args.seconds / args.rounds
                # Alternating slices share out whatever else the machine is doing.
                for _ in range(args.rounds):
                    sends.append(clients.run_slice("send", slice_seconds))
                    floors.append(clients.run_slice("floor", slice_seconds))
                    hellos.append(clients.run_slice("hello", slice_seconds))
            time.sleep(0.5)  # let the last commits land before counting
            stored = stored_keys(instance, database_url)
        # Read before the folder goes: why the server answered as it did, if it failed.
        server_errors = error_lines(Path(folder) / "send.log")

    # The warm-up sends count for "lost" too: every acknowledged send must be stored.
    acknowledged = [key for tally in [warm_up, *sends] for key in tally.acknowledged]
    lost = len(set(acknowledged) - stored)
    send_requests = sum(tally.requests for tally in sends)
    hello_requests = sum(tally.requests for tally in hellos)
    send_rps = send_requests / sum(tally.seconds for tally in sends)
    hello_rps = hello_requests / sum(tally.seconds for tally in hellos)
    floor_requests = sum(tally.requests for tally in floors)
    floor_rps = floor_requests / sum(tally.seconds for tally in floors)
    floor_latencies = [value for tally in floors for value in tally.latencies]
    send_latencies = [value for tally in sends for value in tally.latencies]
    hello_latencies = [value for tally in hellos for value in tally.latencies]
    failures = [failure for tally in sends + floors + hellos for failure in tally.failures]
    ratio = send_rps / hello_rps
    floor_ratio = floor_rps / hello_rps
    p99_ms = percentile(send_latencies, 0.99) * 1000

    print(f"--- {database}")
    print(
        f"send:  {send_requests} requests, {len(acknowledged)} sheets sent, "
        f"{send_rps:.0f} req/s, p50 {percentile(send_latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {p99_ms:.1f} ms"
    )
    print(
        f"floor: {floor_requests} requests, {floor_rps:.0f} req/s, "
        f"p50 {percentile(floor_latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(floor_latencies, 0.99) * 1000:.1f} ms"
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
        print("the send server's log, errors only:" if server_errors else "no error in its log")
        for line in server_errors:
            print(f"  {line}")
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
        f"ratio={ratio:.2f} p99_ms={p99_ms:.1f} lost={lost} floor_ratio={floor_ratio:.2f}"
    )
    return Outcome(database, ratio, floor_ratio, p99_ms, lost, len(failures))


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
    parser.add_argument("--clients", type=int, default=8, help="concurrent client processes")
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
