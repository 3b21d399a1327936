"""Two app instances behind one PostgreSQL database and one Redis act as one service.

Both are real gunicorn processes started the way docs/deployment.md describes: the same
SECRET_KEY, DATABASE_URL and REDIS_URL from the environment, the tables made by
``questionnaire init-db``. A load balancer may send any request to either of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from harness import (
    PG_HOST,
    PG_PORT,
    POSTGRES,
    REDIS,
    REDIS_DB,
    REDIS_HOST,
    REDIS_PORT,
    SECRET_KEY,
    Clinics,
    postgres_url,
    redis_reachable,
    seed_database,
    staff_login,
)
from patientflow import RemoteClient, fill_in, hidden_inputs, send
from support.pgdatabase import fresh_postgres_database, postgres_reachable
from support.ports import free_port

from questionnaire.clinic.auth import MAX_FAILURES, NOT_RECOGNISED
from questionnaire.engine import load_ruleset
from questionnaire.web.config import PROJECT_ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

BIN = Path(sys.executable).parent
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
LOGIN_LIMIT = 10  # sign-in attempts per minute from one address (clinic/auth.py)

# As in docs/deployment.md, with one worker each: two instances, not two workers of one.
GUNICORN = [
    *(str(BIN / "gunicorn"), "--config", str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py")),
    *("--workers", "1", "--worker-class", "gthread", "--threads", "2"),
]

Require = Callable[[bool, str], None]


@dataclass(frozen=True)
class Cluster:
    urls: tuple[str, str]
    clinics: Clinics
    database: str


def environment(database: str, instance: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": postgres_url(database),
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": SECRET_KEY,
        "SECURE_COOKIES": "0",
        "QUESTIONNAIRE_INSTANCE_PATH": str(instance),
    }


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url + "/", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass  # not listening yet, or still loading the app
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within 60 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, require: Require) -> Iterator[Cluster]:
    require(postgres_reachable(), POSTGRES)
    require(redis_reachable(), REDIS)
    folder = tmp_path_factory.mktemp("cluster")
    with fresh_postgres_database("instances") as database:
        migrated = subprocess.run(
            [str(BIN / "questionnaire"), "init-db"],
            env=environment(database, folder / "setup"),
            capture_output=True,
            text=True,
            check=False,
        )
        assert migrated.returncode == 0, migrated.stderr
        clinics = seed_database(folder, postgres_url(database))
        processes: list[subprocess.Popen[bytes]] = []
        urls: list[str] = []
        try:
            for number in (1, 2):
                port = free_port()
                log = folder / f"instance-{number}.log"
                with log.open("wb") as out:
                    process = subprocess.Popen(
                        [*GUNICORN, "--bind", f"127.0.0.1:{port}", "questionnaire.wsgi:app"],
                        env=environment(database, folder / f"instance-{number}"),
                        cwd=PROJECT_ROOT,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                processes.append(process)
                urls.append(f"http://127.0.0.1:{port}")
                wait_until_serving(urls[-1], process, log)
            yield Cluster((urls[0], urls[1]), clinics, database)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)


@pytest.fixture(autouse=True)
def fresh_rate_limits(cluster: Cluster) -> None:
    """Each test starts with no sign-in attempts counted (only this test database is flushed)."""
    redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB).flushdb()


def try_password(url: str, email: str, password: str) -> requests.Response:
    browser = RemoteClient(url)
    try:
        token = hidden_inputs(browser.get("/clinic/login").text)["csrf_token"]
        return browser.post(
            "/clinic/login", data={"csrf_token": token, "email": email, "password": password}
        )
    finally:
        browser.close()


def test_failed_sign_ins_on_both_instances_lock_the_account_on_both(cluster: Cluster) -> None:
    account = cluster.clinics.staff_b
    for attempt in range(MAX_FAILURES):
        refused = try_password(cluster.urls[attempt % 2], account.email, "not the password 123")
        assert refused.status_code == 400
        assert NOT_RECOGNISED in refused.text
    for url in cluster.urls:
        locked = try_password(url, account.email, account.password)
        assert locked.status_code == 400, f"{url} let a locked account past the password step"
        assert NOT_RECOGNISED in locked.text
    dsn = f"host={PG_HOST} port={PG_PORT} user=postgres dbname={cluster.database}"
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT locked_until > now() FROM staff_users WHERE email = %s", (account.email,)
        ).fetchone()
    assert row == (True,)


def test_a_staff_session_from_one_instance_works_on_the_other(cluster: Cluster) -> None:
    first, second = RemoteClient(cluster.urls[0]), RemoteClient(cluster.urls[1])
    try:
        account = cluster.clinics.admin_a
        staff_login(first, account)
        # The load balancer sends the same browser, with the same cookie, to the other one.
        second.session.cookies.update(first.session.cookies)
        dashboard = second.get("/clinic/")
        assert dashboard.status_code == 200
        assert f"Signed in as {account.display_name}" in dashboard.text

        # Signing out on one ends the session on both: the old cookie is refused everywhere.
        token = hidden_inputs(dashboard.text)["csrf_token"]
        assert second.post("/clinic/logout", data={"csrf_token": token}).status_code == 302
        after = first.get("/clinic/")
        assert after.status_code == 302
        assert "/clinic/login" in after.headers["Location"]
    finally:
        first.close()
        second.close()


def test_sheets_sent_to_either_instance_show_in_one_dashboard(cluster: Cluster) -> None:
    ruleset = load_ruleset(PROJECT_ROOT / "rules")
    references = []
    for number, url in enumerate(cluster.urls, start=1):
        patient = RemoteClient(url)
        try:
            assert patient.get(f"/c/{cluster.clinics.slug_a}/").status_code == 302
            fill_in(patient, ruleset)
            references.append(send(patient, f"Instance{number} Patient"))
        finally:
            patient.close()
    staff = RemoteClient(cluster.urls[1])
    try:
        staff_login(staff, cluster.clinics.staff_a)
        dashboard = staff.get("/clinic/")
        assert dashboard.status_code == 200
        for reference in references:
            assert reference in dashboard.text
    finally:
        staff.close()


def test_sign_in_attempts_are_counted_across_instances(cluster: Cluster) -> None:
    statuses = [
        try_password(
            cluster.urls[attempt % 2], "nobody@example.org", "wrong password 1"
        ).status_code
        for attempt in range(LOGIN_LIMIT + 1)
    ]
    # Each instance alone saw at most six attempts: only a shared count refuses the eleventh.
    assert statuses == [400] * LOGIN_LIMIT + [429]
