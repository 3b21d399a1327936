"""How fast the clinic dashboard answers with 100,000 submissions, on SQLite and PostgreSQL.

Each database gets the real schema (the Alembic migration), 100,000 generated submissions for
the measured clinic and a few thousand for another, and a staff member signed in through the
real sign-in pages (password, then the TOTP code). Pages are requested in-process through the
Flask test client: the list, page 1,000 (reached with the keyset cursor of the 999th page's
last row), each filter, a name search, a reference search and one submission. A bare Flask
endpoint is timed the same way in the same run as the baseline. Goal: each median <= 20 ms.

Run: .venv/bin/python benchmarks/dashboard_bench.py [--rows 100000] [--repeat 25]
     [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # support.pgdatabase, shared with the tests

from support.pgdatabase import database_url, fresh_postgres_database, postgres_reachable  # noqa: E402

from questionnaire import create_app  # noqa: E402
from questionnaire.clinic import store  # noqa: E402
from questionnaire.clinic.dashboard import encode_cursor  # noqa: E402
from questionnaire.clinic.jsontext import JSONText  # noqa: E402
from questionnaire.clinic.models import Submission, utcnow  # noqa: E402
from questionnaire.clinic.passwords import hash_password  # noqa: E402
from questionnaire.clinic.reference import new_reference  # noqa: E402
from questionnaire.clinic.sealing import seal  # noqa: E402
from questionnaire.engine import RuleSet  # noqa: E402
from questionnaire.extensions import db  # noqa: E402

PAGE_SIZE = 50
TARGET_PAGE = 1000
OTHER_CLINIC_ROWS = 5000
BATCH = 5000
GOAL_MS = 20.0
SEED = 20261124
EMAIL = "bench.nurse@example.org"
PASSWORD = "quiet harbour lantern 5531"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

FIRST = ["Ada", "Grace", "Alan", "Mary", "John", "Li", "Amara", "José", "Zoë", "Oluwaseun"]
LAST = ["Lovelace", "Hopper", "Turing", "Smith", "Okafor", "Nguyen", "García", "Kowalski"]
ANSWER_SETS: list[dict[str, Any]] = [
    {"blood_thinners": "no", "diabetes": "no", "infection": "no", "allergies": ["none"]},
    {"blood_thinners": "yes", "diabetes": "no", "infection": "no", "allergies": ["latex"]},
    {"blood_thinners": "no", "diabetes": "not_sure", "infection": "no", "allergies": ["none"]},
    {"blood_thinners": "no", "diabetes": "yes", "infection": "not_sure"},
    {"blood_thinners": "not_sure", "diabetes": "no", "infection": "yes", "allergies": ["steroid"]},
    {"red_flags": ["saddle_numbness"], "allergies": ["none"]},
]
BASE_ANSWERS: dict[str, Any] = {
    "pain_duration": "3_to_6_months",
    "red_flags": ["none"],
    "conservative_care": ["physical_therapy", "pain_medicine"],
    "blood_thinners": "no",
    "diabetes": "no",
    "infection": "no",
}


# --- databases -------------------------------------------------------------------------------


@contextmanager
def sqlite_database(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / 'dashboard_bench.sqlite3'}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on 127.0.0.1:5432, dropped afterwards."""
    with fresh_postgres_database("dashboard_bench") as name:
        yield database_url(name)


# --- data ------------------------------------------------------------------------------------


Variant = tuple[dict[str, Any], dict[str, Any], JSONText, JSONText]


def answer_variants(ruleset: RuleSet) -> list[Variant]:
    """Cleaned answers with the real result JSON, so rows are the size real ones are; each
    also as JSON text, written once instead of once per row."""
    variants = []
    for extra in ANSWER_SETS:
        answers = ruleset.validate({**BASE_ANSWERS, **extra})
        result = ruleset.evaluate(answers).model_dump(mode="json")
        variants.append(
            (answers, result, JSONText(json.dumps(answers)), JSONText(json.dumps(result)))
        )
    return variants


def fill(clinic_id: int, count: int, variants: list[Variant], rng: random.Random) -> None:
    now = utcnow()
    references: set[str] = set()
    rows: list[dict[str, Any]] = []
    for i in range(count):
        answers, result, answers_json, result_json = variants[rng.randrange(len(variants))]
        flags = store.compute_flags(answers, result)
        reference = new_reference()
        while reference in references:
            reference = new_reference()
        references.add(reference)
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        created_at = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
        rows.append(
            {
                "clinic_id": clinic_id,
                "reference": reference,
                "idempotency_key": secrets.token_urlsafe(32),
                "patient_name": name,
                "patient_name_search": store.name_search_key(name),
                "date_of_birth": date(1930 + rng.randrange(70), 1 + rng.randrange(12), 10),
                "appointment_date": now.date() + timedelta(days=rng.randrange(60)),
                "answers": answers_json,
                "result": result_json,
                "ruleset_version": result["ruleset"]["version"],
                "ruleset_sha256": result["ruleset"]["sha256"],
                **{f"flag_{flag}": value for flag, value in flags.items()},
                "created_at": created_at,
                "reviewed_at": created_at + timedelta(hours=2) if rng.random() < 0.6 else None,
            }
        )
        if len(rows) == BATCH or i == count - 1:
            db.session.execute(insert(Submission.__table__), rows)
            db.session.commit()
            rows = []


def analyze() -> None:
    """Statistics for the planner, then the loaded rows written out of the log, so that the
    pages (each of which writes an audit row) are not timed while the load is flushed."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE submissions")
            connection.exec_driver_sql("CHECKPOINT")
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.commit()


def make_staff(clinic_id: int) -> None:
    user = store.create_staff_user(
        clinic_id, EMAIL, "Bench Nurse", "staff", hash_password(PASSWORD)
    )
    user.totp_secret = pyotp.random_base32()
    user.totp_confirmed_at = utcnow()
    db.session.commit()


# --- signing in and timing -------------------------------------------------------------------


def csrf(client: FlaskClient, path: str) -> str:
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    if match is None:
        raise SystemExit(f"no CSRF token on {path}")
    return match.group(1)


def sign_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/clinic/login",
        data={"csrf_token": csrf(client, "/clinic/login"), "email": EMAIL, "password": PASSWORD},
    )
    if response.status_code != 302:
        raise SystemExit(f"sign-in refused the password ({response.status_code})")
    step = response.headers["Location"]
    with app.app_context():
        secret = store.find_staff_user_by_email(EMAIL).totp_secret  # type: ignore[union-attr]
    code = pyotp.TOTP(secret).now()
    response = client.post(step, data={"csrf_token": csrf(client, step), "code": code})
    if response.status_code != 302:
        raise SystemExit(f"sign-in refused the code ({response.status_code})")
    return client


def median_ms(get: Callable[[], Any], repeat: int) -> float:
    for _ in range(3):
        get()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        get()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def timed_page(client: FlaskClient, path: str, repeat: int) -> float:
    def get() -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")

    return median_ms(get, repeat)


def hello_median(repeat: int) -> float:
    hello = Flask("hello")
    hello.add_url_rule("/", "hello", lambda: "Hello, World!")
    client = hello.test_client()
    return median_ms(lambda: client.get("/"), repeat)


# --- one database ----------------------------------------------------------------------------


def targets(clinic_id: int) -> dict[str, str]:
    """The pages to time; page 1,000's cursor comes from the 999th page's last row."""
    boundary = db.session.execute(
        select(Submission.created_at, Submission.id)
        .where(Submission.clinic_id == clinic_id)
        .order_by(Submission.created_at.desc(), Submission.id.desc())
        .offset((TARGET_PAGE - 1) * PAGE_SIZE - 1)
        .limit(1)
    ).one()
    some = db.session.execute(
        select(Submission.id, Submission.reference)
        .where(Submission.clinic_id == clinic_id)
        .order_by(Submission.id)
        .offset(777)
        .limit(1)
    ).one()
    today = datetime.now(UTC).date()
    db.session.commit()
    return {
        "list": "/clinic/",
        f"page {TARGET_PAGE}": f"/clinic/?after={encode_cursor(*boundary)}",
        "urgent": "/clinic/?urgent=1",
        "blood_thinners": "/clinic/?blood_thinners=1",
        "diabetes": "/clinic/?diabetes=1",
        "infection": "/clinic/?infection=1",
        "allergies": "/clinic/?allergies=1",
        "unreviewed": "/clinic/?unreviewed=1",
        "last 30 days": f"/clinic/?from={today - timedelta(days=30)}&to={today}",
        # As the list's own links carry a search: sealed (questionnaire.clinic.sealing).
        "search name": f"/clinic/?q={quote(seal('gra'))}",
        "search reference": f"/clinic/?q={quote(seal(some.reference.lower().replace('-', ' ')))}",
        "detail": f"/clinic/submissions/{some.id}",
    }


def run(backend: str, url: str, folder: Path, rows: int, repeat: int) -> dict[str, float]:
    app = create_app(
        {
            "INSTANCE_PATH": str(folder / f"instance-{backend}"),
            "SECRET_KEY": secrets.token_hex(32),
            "SQLALCHEMY_DATABASE_URI": url,
            "SECURE_COOKIES": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    rng = random.Random(SEED)
    with app.app_context():
        upgrade()
        clinic = store.create_clinic("bench", "Bench Clinic")
        other = store.create_clinic("other", "Other Clinic")
        make_staff(clinic.id)
        started = time.perf_counter()
        variants = answer_variants(app.extensions["ruleset"])
        fill(clinic.id, rows, variants, rng)
        fill(other.id, OTHER_CLINIC_ROWS, variants, rng)
        analyze()
        print(
            f"{backend}: inserted {rows + OTHER_CLINIC_ROWS} submissions in "
            f"{time.perf_counter() - started:.1f} s"
        )
        pages = targets(clinic.id)
        db.session.remove()
    client = sign_in(app)
    results = {name: timed_page(client, path, repeat) for name, path in pages.items()}
    with app.app_context():
        db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if args.rows < TARGET_PAGE * PAGE_SIZE:
        parser.error(f"--rows must be at least {TARGET_PAGE * PAGE_SIZE} to reach page 1,000")

    backends = [args.only] if args.only else ["sqlite", "postgresql"]
    medians: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for backend in backends:
            if backend == "postgresql" and not postgres_reachable():
                print("postgresql: not measured, no server on 127.0.0.1:5432")
                continue
            database = sqlite_database(folder) if backend == "sqlite" else postgres_database()
            with database as url:
                for name, value in run(backend, url, folder, args.rows, args.repeat).items():
                    medians[f"{backend} {name}"] = value
    hello = hello_median(max(args.repeat, 200))

    width = max(len(name) for name in medians)
    print(f"\n{'page':<{width}}  median ms  x hello")
    for name, value in medians.items():
        mark = "" if value <= GOAL_MS else f"  over the {GOAL_MS:.0f} ms goal"
        print(f"{name:<{width}}  {value:9.2f}  {value / hello:7.0f}{mark}")
    print(f"{'bare Flask endpoint':<{width}}  {hello:9.3f}")
    print(f"worst_median_ms={max(medians.values()):.2f} hello_median_ms={hello:.3f}")


if __name__ == "__main__":
    main()
