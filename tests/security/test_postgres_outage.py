"""PostgreSQL going away while a patient sends: a clear page, nothing lost, one submission.

The app reaches PostgreSQL through a TCP proxy owned by the test, so the outage is played
by closing the proxy; the shared server keeps running for everyone else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from harness import (
    PG_HOST,
    PG_PORT,
    STAFF_PASSWORD,
    Clinics,
    build_app,
    postgres_url,
    seed_clinics,
    staff_login,
)
from patientflow import (
    acknowledged_reference,
    fill_in,
    hidden_inputs,
    open_send_form,
    send_details,
    session_data,
)
from psycopg import sql
from tcpproxy import TcpProxy

from questionnaire.extensions import db
from questionnaire.web.errors import ERROR_PAGES

pytestmark = pytest.mark.postgres

UNAVAILABLE = "We could not send your answers"
NOTHING_LOST = "Nothing was lost: try again in a few minutes."
OUTAGE_PAGE = ERROR_PAGES[503]


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(PG_HOST, PG_PORT)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def app(tmp_path: Path, pg_database: str, proxy: TcpProxy) -> Iterator[Flask]:
    app = build_app(tmp_path, postgres_url(pg_database, port=proxy.port))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def clinics(app: Flask) -> Clinics:
    return seed_clinics(app)


def stored_with_key(database: str, key: str) -> int:
    """Submissions with this idempotency key, counted on the server itself, not via the proxy."""
    dsn = f"host={PG_HOST} port={PG_PORT} user=postgres dbname={database}"
    with psycopg.connect(dsn) as connection:
        query = sql.SQL("SELECT count(*) FROM submissions WHERE idempotency_key = %s")
        row = connection.execute(query, (key,)).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.usefixtures("clinics")
@pytest.mark.parametrize("outage", ["during the insert", "before the send"])
def test_send_during_an_outage_keeps_the_answers_and_the_retry_stores_one(
    app: Flask, proxy: TcpProxy, pg_database: str, outage: str
) -> None:
    client = app.test_client()
    client.get("/c/alpha/")
    fill_in(client, app.extensions["ruleset"])
    hidden = open_send_form(client)
    key = hidden["idempotency_key"]
    answers = session_data(client)["answers"]

    if outage == "before the send":
        proxy.stop()
    else:
        # The connection dies the moment the INSERT leaves the app: mid-transaction.
        proxy.cut_on = b"INSERT INTO submissions"
    failed = client.post("/send", data={**send_details("Outage Patient"), **hidden})

    assert failed.status_code == 503
    page = failed.get_data(as_text=True)
    assert UNAVAILABLE in page
    assert NOTHING_LOST in page
    assert "Traceback" not in page
    assert session_data(client)["answers"] == answers
    assert stored_with_key(pg_database, key) == 0
    # The page's "Try again" button posts the same form, with the same idempotency key.
    retry = hidden_inputs(page)
    assert retry["idempotency_key"] == key

    still_down = client.post("/send", data=retry)
    assert still_down.status_code == 503
    assert stored_with_key(pg_database, key) == 0

    proxy.cut_on = None
    proxy.start()
    retried = client.post("/send", data=retry)
    assert retried.status_code == 303
    reference = acknowledged_reference(client)
    assert stored_with_key(pg_database, key) == 1

    # A second click on the same button (its page was still open) stores nothing more.
    again = client.post("/send", data=retry)
    assert again.status_code == 303
    assert acknowledged_reference(client) == reference
    assert stored_with_key(pg_database, key) == 1


def test_staff_pages_during_an_outage_answer_503_then_work_again(
    app: Flask, clinics: Clinics, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    staff = app.test_client()
    staff_login(staff, clinics.staff_a)
    someone = app.test_client()
    token = hidden_inputs(someone.get("/clinic/login").text)["csrf_token"]
    sign_in = {"csrf_token": token, "email": clinics.staff_b.email, "password": STAFF_PASSWORD}

    proxy.stop()
    answers = [
        staff.get("/clinic/"),
        staff.get("/clinic/account"),
        staff.get("/clinic/export.csv"),
        someone.post("/clinic/login", data=sign_in),
    ]
    for answer in answers:
        page = answer.get_data(as_text=True)
        assert answer.status_code == 503, answer.request.path
        assert answer.headers["Retry-After"] == "120"
        assert OUTAGE_PAGE.title in page and OUTAGE_PAGE.message in page
        assert "Traceback" not in page
    logged = [record.getMessage() for record in caplog.records]
    assert "database unavailable at clinic.index: OperationalError" in logged

    proxy.start()
    assert staff.get("/clinic/").status_code == 200  # the same session, on a new connection
    assert someone.post("/clinic/login", data=sign_in).status_code == 302
