"""No patient name or answer reaches a log, at any level, on any path a sheet takes.

The app runs behind werkzeug's own server, so request lines are logged as a server logs them.
Every logger is captured at DEBUG, the most a deployment would switch on. A unique marker
goes into the patient's name and every free-text answer; the sheet is then filled in, drawn,
printed to PDF, sent, searched for, read, reviewed and exported by staff. The marker must
appear in no log record: not in its message, its arguments, its exception or its extras.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from harness import Clinics, build_app, seed_clinics, staff_login
from patientflow import (
    RemoteClient,
    answers_with_marker,
    fill_in,
    hidden_inputs,
    send,
    staff_search,
)
from werkzeug.serving import BaseWSGIServer, make_server

from questionnaire.extensions import db

# The test's own HTTP client logs the URLs it fetches; those lines are not the app's.
CLIENT_SIDE = ("urllib3", "charset_normalizer", "requests")


class Everything(logging.Handler):
    """Keeps every record, fully formatted with its exception and extra fields."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []
        self.formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(CLIENT_SIDE):
            return
        self.texts.append(f"{self.format(record)} {record.args!r} {record.__dict__!r}")


@dataclass
class Served:
    app: Flask
    url: str
    clinics: Clinics
    log: Everything


@pytest.fixture
def served(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[Served]:
    app = build_app(tmp_path)
    clinics = seed_clinics(app)
    handler = Everything()
    caplog.set_level(logging.DEBUG)
    # Loggers the app or a library left at a higher level stay as configured: a record they
    # drop never reaches any deployment's log either.
    saved = {name: logging.getLogger(name).level for name in ("werkzeug", "questionnaire")}
    for name in saved:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(app, f"http://127.0.0.1:{server.server_port}", clinics, handler)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        logging.getLogger().removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def leaks(marker: str, served: Served, caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = served.log.texts + [
        f"{record.name} {record.getMessage()} {record.args!r} {record.exc_text}"
        for record in caplog.records
        if not record.name.startswith(CLIENT_SIDE)
    ]
    return [text[:300] for text in texts if marker.casefold() in text.casefold()]


def test_no_log_record_carries_the_patients_name_or_answers(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    marker = "Qz" + secrets.token_hex(6)
    name = f"{marker} Patient"
    rs = served.app.extensions["ruleset"]

    patient = RemoteClient(served.url)
    assert patient.get(f"/c/{Clinics.slug_a}/").status_code == 302
    # A page refused with the marker in it: the error path must not log what was typed.
    page = patient.get("/questions/your-pain")
    token = hidden_inputs(page.text)["csrf_token"]
    refused = patient.post("/questions/your-pain", data={"csrf_token": token, "pain_score": marker})
    assert refused.status_code == 200
    fill_in(patient, rs, answers_with_marker(rs, marker))
    assert patient.get("/sheet").status_code == 200
    assert patient.get("/sheet.pdf").status_code == 200
    reference = send(patient, name)
    # The API evaluates and returns; the marker in a bad answer comes back only in the reply.
    api = patient.post("/api/v1/evaluate", json={"pain_duration": marker})
    assert api.status_code == 422

    staff = RemoteClient(served.url)
    staff_login(staff, served.clinics.staff_a)
    listed = staff.get("/clinic/")
    assert reference in listed.text
    found = staff_search(staff, reference)
    assert name in found.text
    with served.app.app_context():
        from questionnaire.clinic import store

        submission = store.get_submission_by_reference(served.clinics.clinic_a_id, reference)
        assert submission is not None
        detail_url = f"/clinic/submissions/{submission.id}"
    detail = staff.get(detail_url)
    assert marker in detail.text
    token = hidden_inputs(detail.text)["csrf_token"]
    reviewed = staff.post(
        detail_url + "/review", data={"csrf_token": token, "note": f"Rang {marker}"}
    )
    assert reviewed.status_code == 302
    for export in ("/clinic/export.csv", "/clinic/export.json", detail_url + "/fhir.json"):
        exported = staff.get(export)
        assert exported.status_code == 200
        assert marker in exported.text, f"{export} does not carry the answers"

    assert served.log.texts, "nothing was logged at all: the capture is not working"
    assert leaks(marker, served, caplog) == []


def test_the_database_layer_never_echoes_statements_or_their_values(served: Served) -> None:
    with served.app.app_context():
        assert db.engine.echo is False
        # Parameters stay out of log lines and out of the text of database errors.
        assert db.engine.hide_parameters is True


def test_searching_for_a_patient_by_name_leaves_the_name_in_no_request_log(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """Request lines are logged with their query string, where the dashboard's search is."""
    marker = "Qz" + secrets.token_hex(6)
    name = f"{marker} Patient"
    patient = RemoteClient(served.url)
    assert patient.get(f"/c/{Clinics.slug_a}/").status_code == 302
    fill_in(patient, served.app.extensions["ruleset"])
    send(patient, name)

    staff = RemoteClient(served.url)
    staff_login(staff, served.clinics.staff_a)
    found = staff_search(staff, marker)
    assert found.status_code == 200
    assert name in found.text
    assert leaks(marker, served, caplog) == []
