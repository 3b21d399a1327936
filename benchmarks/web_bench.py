"""Throughput and latency of the real pages under gunicorn, against a bare Flask baseline.

Both apps run under gunicorn with the same settings (gthread, two workers per CPU) and are
loaded with wrk, the targets taking turns in short slices. Figures are ratios against the
baseline measured in the same run, so they mean the same on a laptop and on CI; p99 is the
worst slice's. The app runs as in production, rate limiting on, with limits set far above
what the load reaches. Goals: each target >= 0.5x the baseline's requests/s, p99 under 25 ms,
no non-2xx answer, and a sheet PDF in under 500 ms.

PDF times are taken on a separate one-worker server, so each figure is known to be what it
says: the worker's very first PDF (which also sets up fonts), the first download of each of
several different sheets (drawn by WeasyPrint), and repeat downloads of one sheet (served
from the worker's cache of finished PDFs).

Run: .venv/bin/python benchmarks/web_bench.py [--duration 10] [--strict]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import serving  # noqa: E402
from serving import BenchError  # noqa: E402

from questionnaire.engine import load_ruleset  # noqa: E402
from questionnaire.engine.definition import Page  # noqa: E402

CPUS = serving.CPUS
CONNECTIONS = 8
WRK_THREADS = 2

GOAL_RATIO = 0.5
GOAL_P99_MS = 25.0
GOAL_PDF_MS = 500.0

# Rate limits stay on, as in production, far above what the load reaches.
BENCH_CONFIG = 'API_RATE_LIMIT = "10000000 per minute"\nPDF_RATE_LIMIT = "10000000 per minute"\n'

# One patient's answers as the form posts them: a full sheet, with no red flag (a red flag
# sends the patient to the urgent-care page first, which is not what is measured here).
FORM_ANSWERS: dict[str, str | list[str]] = {
    "pain_duration": "3_to_6_months",
    "pain_location": ["lower_back"],
    "limb_pain": "leg",
    "pain_score": "7",
    "red_flags": ["none"],
    "conservative_care": ["physical_therapy", "pain_medicine"],
    "earlier_injections": "yes",
    "injection_relief": "1_to_4_weeks",
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
# Changes to FORM_ANSWERS that each give a different sheet: the PDF's first-render time is
# taken over these, so no download can be served from the cache of an earlier one.
PDF_VARIANTS: list[dict[str, str | list[str]]] = [
    {"blood_thinners": "yes", "bleeding_disorder": "not_sure"},
    {"diabetes": "no", "infection": "not_sure"},
    {"pain_duration": "under_6_weeks", "earlier_injections": "no"},
    {"conservative_care": ["none"], "allergies": ["none"]},
    {"limb_pain": "no", "imaging_done": "no", "driver": "no"},
]
CSRF_INPUT = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non2xx: int
    socket_errors: int


# -- servers ---------------------------------------------------------------------------------


def gunicorn(
    target: str,
    env: Mapping[str, str],
    log_path: Path,
    extra: Sequence[str] = (),
    settings: Sequence[str] | None = None,
) -> AbstractContextManager[str]:
    """A server with these benchmarks' settings (or ``settings``), run from the repository."""
    options = [*(serving.gunicorn_settings() if settings is None else settings), *extra]
    return serving.gunicorn(target, env, log_path, options, cwd=ROOT)


def app_environment(instance: Path) -> dict[str, str]:
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "config.py").write_text(BENCH_CONFIG)
    env = serving.app_environment(instance)
    serving.run_command(env, "init-db")  # the server refuses a database without its tables
    return env


# -- sessions --------------------------------------------------------------------------------


def fill_pages(base: str, pages: Sequence[Page], answers: Mapping[str, Any]) -> requests.Session:
    """Answer the given pages through the HTML form, CSRF tokens included."""
    session = requests.Session()
    for page in pages:
        url = f"{base}/questions/{page.id}"
        shown = session.get(url, allow_redirects=False, timeout=10)
        if shown.status_code in REDIRECTS:
            continue  # every question on it is hidden by earlier answers
        if shown.status_code != 200:
            raise BenchError(f"GET {url} answered {shown.status_code}")
        token = CSRF_INPUT.search(shown.text)
        if token is None:
            raise BenchError(f"GET {url}: no csrf_token field in the form")
        data: list[tuple[str, str]] = [("csrf_token", token.group(1))]
        for question in page.questions:
            value = answers.get(question.id)
            values = value if isinstance(value, list) else [] if value is None else [value]
            data.extend((question.id, item) for item in values)
        sent = session.post(url, data=data, allow_redirects=False, timeout=10)
        if sent.status_code not in REDIRECTS:
            raise BenchError(
                f"POST {url} answered {sent.status_code}, not a redirect: the sample answers "
                "no longer fit this page (a new required question?)"
            )
    return session


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in session.cookies)


def api_answers(pages: Sequence[Page]) -> dict[str, Any]:
    """FORM_ANSWERS as the JSON API takes them (numbers as numbers)."""
    kinds = {question.id: question.kind for page in pages for question in page.questions}
    body: dict[str, Any] = {}
    for answer_id, value in FORM_ANSWERS.items():
        if answer_id not in kinds:
            continue
        if kinds[answer_id] == "number" and isinstance(value, str):
            body[answer_id] = int(value)
        else:
            body[answer_id] = value
    return body


def expect_ok(response: requests.Response, what: str) -> None:
    # wrk counts a 3xx as a success, so every target is checked for a real 200 first.
    if response.status_code != 200:
        raise BenchError(f"{what} answered {response.status_code}, not 200: nothing to measure")


# -- wrk -------------------------------------------------------------------------------------


def run_wrk(url: str, duration: int, script: Path) -> Load:
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> Load:
    def number(pattern: str, default: str | None = None) -> str:
        found = re.search(pattern, output, re.MULTILINE)
        if found is None:
            if default is not None:
                return default
            raise BenchError(f"could not read {pattern!r} in wrk's output:\n{output}")
        return found.group(1)

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Load(
        rps=float(number(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(number(r"^\s+50%\s+(\S+)")),
        p99_ms=_ms(number(r"^\s+99%\s+(\S+)")),
        requests=int(number(r"^\s+(\d+) requests in")),
        non2xx=int(number(r"Non-2xx or 3xx responses: (\d+)", "0")),
        socket_errors=sum(int(part) for part in errors.groups()) if errors else 0,
    )


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if found is None:
        raise BenchError(f"unknown latency {text!r} in wrk's output")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[found.group(2)]
    return float(found.group(1)) * scale


def wrk_script(target: Target, directory: Path, name: str) -> Path:
    """Every target gets its request from a script, the baseline too, so wrk works alike."""
    lines = [f"wrk.method = {json.dumps(target.method)}"]
    for name, value in target.headers.items():
        lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    if target.body is not None:
        lines.append(f"wrk.body = {json.dumps(target.body)}")
    script = directory / f"{name}.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


# -- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfTimes:
    cold_ms: float  # the worker's very first PDF: WeasyPrint also sets up its fonts
    first_ms: float  # median first download of a sheet not drawn before
    cached_ms: float  # median repeat download of one sheet
    sheets: int


def fetch_pdf(base: str, cookies: str) -> float:
    start = time.perf_counter()
    response = requests.get(
        f"{base}/sheet.pdf", headers={"Cookie": cookies}, allow_redirects=False, timeout=60
    )
    elapsed = (time.perf_counter() - start) * 1000
    expect_ok(response, "GET /sheet.pdf")
    if not response.content.startswith(b"%PDF"):
        raise BenchError("GET /sheet.pdf did not return a PDF")
    return elapsed


def time_pdf(base: str, pages: Sequence[Page], runs: int) -> PdfTimes:
    """Against a one-worker server, so every download lands on the same worker and cache."""
    answer_sets = [FORM_ANSWERS] + [{**FORM_ANSWERS, **change} for change in PDF_VARIANTS]
    cookies: list[str] = []
    sheets: set[str] = set()
    for answers in answer_sets:
        session = fill_pages(base, pages, answers)
        sheet = session.get(f"{base}/sheet", allow_redirects=False, timeout=10)
        expect_ok(sheet, "GET /sheet")
        if sheet.text in sheets:
            raise BenchError("two PDF answer sets give the same sheet: change PDF_VARIANTS")
        sheets.add(sheet.text)
        cookies.append(cookie_header(session))
    cold = fetch_pdf(base, cookies[0])
    firsts = [fetch_pdf(base, cookie) for cookie in cookies[1:]]
    cached = [fetch_pdf(base, cookies[-1]) for _ in range(runs)]
    return PdfTimes(cold, statistics.median(firsts), statistics.median(cached), len(firsts))


@dataclass(frozen=True)
class Target:
    name: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


def prepare_targets(hello: str, base: str, pages: Sequence[Page]) -> dict[str, Target]:
    """The four targets, each checked for a real 200 with the cookies wrk will send."""
    started = cookie_header(fill_pages(base, pages[:1], FORM_ANSWERS))
    finished = cookie_header(fill_pages(base, pages, FORM_ANSWERS))
    targets = {
        "hello": Target("GET / (bare Flask baseline)", "GET", f"{hello}/"),
        "page": Target(
            f"GET /questions/{pages[0].id}",
            "GET",
            f"{base}/questions/{pages[0].id}",
            {"Cookie": started},
        ),
        "api": Target(
            "POST /api/v1/evaluate",
            "POST",
            f"{base}/api/v1/evaluate",
            {"Content-Type": "application/json"},
            json.dumps(api_answers(pages)),
        ),
        "sheet": Target("GET /sheet", "GET", f"{base}/sheet", {"Cookie": finished}),
    }
    for target in targets.values():
        response = requests.request(
            target.method,
            target.url,
            headers=target.headers,
            data=target.body,
            allow_redirects=False,
            timeout=10,
        )
        expect_ok(response, target.name)
    return targets


def combine(slices: Sequence[Load]) -> Load:
    """Slices of equal length: mean throughput, median p50, worst p99 (so never flattering)."""
    return Load(
        rps=statistics.fmean(load.rps for load in slices),
        p50_ms=statistics.median(load.p50_ms for load in slices),
        p99_ms=max(load.p99_ms for load in slices),
        requests=sum(load.requests for load in slices),
        non2xx=sum(load.non2xx for load in slices),
        socket_errors=sum(load.socket_errors for load in slices),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per target")
    parser.add_argument(
        "--rounds", type=int, default=5, help="slices the duration is split into, run in turn"
    )
    parser.add_argument("--pdf-runs", type=int, default=5, help="timed repeat PDF downloads")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian/Ubuntu: apt-get install wrk); cannot measure.")
        return 2
    rounds = max(1, min(args.rounds, args.duration))
    seconds = max(1, args.duration // rounds)
    pages = load_ruleset(ROOT / "rules").questionnaire.pages
    print(
        f"gunicorn {' '.join(serving.gunicorn_settings())}; wrk -t{WRK_THREADS} -c{CONNECTIONS}; "
        f"{rounds} rounds of {seconds} s per target; {CPUS} CPUs"
    )

    with tempfile.TemporaryDirectory(prefix="web-bench-") as temp:
        work = Path(temp)
        hello_server = gunicorn(
            "hello_app:app", os.environ, work / "hello.log", ["--pythonpath", str(BENCH_DIR)]
        )
        app_server = gunicorn(
            "questionnaire.wsgi:app", app_environment(work / "instance"), work / "app.log"
        )
        with hello_server as hello, app_server as base:
            targets = prepare_targets(hello, base, pages)
            scripts = {key: wrk_script(target, work, key) for key, target in targets.items()}
            for key, target in targets.items():
                run_wrk(target.url, 1, scripts[key])  # warm-up: templates compile in each worker
            # Targets take turns, so load from other processes on the machine falls on each
            # of them alike and the ratios to the baseline stay fair.
            slices: dict[str, list[Load]] = {key: [] for key in targets}
            for _ in range(rounds):
                for key, target in targets.items():
                    slices[key].append(run_wrk(target.url, seconds, scripts[key]))
        pdf_server = gunicorn(
            "questionnaire.wsgi:app",
            app_environment(work / "pdf-instance"),
            work / "pdf.log",
            settings=serving.gunicorn_settings(workers=1),
        )
        with pdf_server as pdf_base:
            pdf = time_pdf(pdf_base, pages, args.pdf_runs)
    loads = {key: combine(parts) for key, parts in slices.items()}
    return report({key: (targets[key].name, load) for key, load in loads.items()}, pdf, args.strict)


def report(named: Mapping[str, tuple[str, Load]], pdf: PdfTimes, strict: bool) -> int:
    loads = {key: load for key, (_, load) in named.items()}
    names = {key: name for key, (name, _) in named.items()}
    hello = loads["hello"].rps
    print(f"\n{'target':32} {'req/s':>9} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>8}")
    for key, load in loads.items():
        print(
            f"{names[key]:32} {load.rps:9.0f} {load.rps / hello:6.2f} {load.p50_ms:7.2f} "
            f"{load.p99_ms:7.2f} {load.non2xx + load.socket_errors:8d}"
        )
    print(
        f"\nGET /sheet.pdf on a one-worker server:\n"
        f"  first download of a new sheet (drawn), median of {pdf.sheets} sheets: "
        f"{pdf.first_ms:.0f} ms\n"
        f"  repeat download of a sheet (from the cache), median: {pdf.cached_ms:.0f} ms\n"
        f"  the worker's very first PDF (also sets up fonts): {pdf.cold_ms:.0f} ms"
    )

    measured = {key: load for key, load in loads.items() if key != "hello"}
    ratios = {key: load.rps / hello for key, load in measured.items()}
    worst_p99 = max(load.p99_ms for load in measured.values())
    non2xx = sum(load.non2xx + load.socket_errors for load in measured.values())
    goals = {
        f"each target >= {GOAL_RATIO}x hello": min(ratios.values()) >= GOAL_RATIO,
        f"p99 < {GOAL_P99_MS:.0f} ms": worst_p99 < GOAL_P99_MS,
        "no non-2xx": non2xx == 0,
        f"PDF first download of a sheet < {GOAL_PDF_MS:.0f} ms": pdf.first_ms < GOAL_PDF_MS,
        f"PDF repeat download < {GOAL_PDF_MS:.0f} ms": pdf.cached_ms < GOAL_PDF_MS,
    }
    print()
    for goal, met in goals.items():
        print(f"{'met   ' if met else 'MISSED'} {goal}")
    print(
        f"\nhello_rps={hello:.0f} page_ratio={ratios['page']:.2f} api_ratio={ratios['api']:.2f} "
        f"sheet_ratio={ratios['sheet']:.2f} worst_p99_ms={worst_p99:.1f} non2xx={non2xx} "
        f"pdf_first_ms={pdf.first_ms:.0f} pdf_cached_ms={pdf.cached_ms:.0f}"
    )
    return 1 if strict and not all(goals.values()) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"web_bench: {error}", file=sys.stderr)
        sys.exit(1)
