"""CSV and JSON exports: the documented columns, filters, injection guard and audit rows."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    Account,
    csrf_token,
    make_clinic,
    make_staff,
    make_submission,
    search_address,
)
from sqlalchemy import event

from questionnaire.clinic import store
from questionnaire.clinic.exports import FIXED_COLUMNS, guard_cell
from questionnaire.clinic.models import AuditEvent, Submission
from questionnaire.engine import RuleSet
from questionnaire.extensions import db

BASE_TIME = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

DOCUMENTED_FIXED_COLUMNS = [
    "reference",
    "created_at",
    "patient_name",
    "date_of_birth",
    "appointment_date",
    "flag_urgent",
    "flag_blood_thinners",
    "flag_diabetes",
    "flag_infection",
    "flag_allergies",
    "reviewed_at",
    "reviewed_by",
    "ruleset_version",
]


def read_csv(client: FlaskClient, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/clinic/export.csv{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="submissions-')
    assert response.headers["Cache-Control"] == "no-store"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_columns_are_the_documented_ones(signed_in: FlaskClient, ruleset: RuleSet) -> None:
    text = signed_in.get("/clinic/export.csv").get_data(as_text=True)
    header = next(csv.reader(io.StringIO(text)))
    assert list(FIXED_COLUMNS) == DOCUMENTED_FIXED_COLUMNS
    assert header == DOCUMENTED_FIXED_COLUMNS + [q.id for q in ruleset.questions]
    assert len(set(header)) == len(header)


def test_csv_rows_hold_codes_and_leave_hidden_questions_empty(
    app: Flask, signed_in: FlaskClient, clinic_id: int, nurse: Account
) -> None:
    submission_id = make_submission(
        app,
        clinic_id,
        {
            "conservative_care": ["physical_therapy", "heat_or_cold", "pain_medicine"],
            "red_flags": ["fever_or_chills"],
            "pain_score": 7,
            "earlier_injections": "no",
            "blood_thinners": "yes",
            "blood_thinner_name": "Apixaban 5 mg",
        },
        name="Ada Patient",
        created_at=BASE_TIME,
    )
    with app.app_context():
        row = db.session.get(Submission, submission_id)
        # An old record holding an answer its own answers hide: it must not be exported.
        row.answers = {**row.answers, "injection_relief": "over_3_months"}
        row.reviewed_at = BASE_TIME + timedelta(hours=2)
        row.reviewed_by_id = nurse.id
        db.session.commit()
        reference = row.reference
    (record,) = read_csv(signed_in)
    assert record["reference"] == reference
    assert record["created_at"] == "2026-11-02T09:00:00Z"
    assert record["patient_name"] == "Ada Patient"
    assert record["date_of_birth"] == "1960-03-27"
    assert record["appointment_date"] == "2026-12-03"
    assert record["flag_urgent"] == "true"
    assert record["flag_blood_thinners"] == "true"
    assert record["flag_diabetes"] == "false"
    assert record["reviewed_at"] == "2026-11-02T11:00:00Z"
    assert record["reviewed_by"] == "Nurse Jones"
    assert record["ruleset_version"] == app.extensions["ruleset"].version
    # any_of values in definition order, joined by ";"
    assert record["conservative_care"] == "physical_therapy;pain_medicine;heat_or_cold"
    assert record["pain_score"] == "7"
    assert record["blood_thinners"] == "yes"
    assert record["blood_thinner_name"] == "Apixaban 5 mg"
    assert record["earlier_injections"] == "no"
    assert record["injection_relief"] == ""
    assert record["diabetes_control"] == ""


@pytest.mark.parametrize(
    "dangerous", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
)
def test_csv_cells_cannot_become_formulas(
    app: Flask, signed_in: FlaskClient, clinic_id: int, dangerous: str
) -> None:
    make_submission(
        app,
        clinic_id,
        {"blood_thinners": "yes", "blood_thinner_name": dangerous.strip() or dangerous},
        name=dangerous,
    )
    (record,) = read_csv(signed_in)
    assert record["patient_name"] == "'" + dangerous
    if not dangerous.startswith(("\t", "\r")):
        assert record["blood_thinner_name"] == "'" + dangerous


def test_guard_cell_leaves_ordinary_text_alone() -> None:
    assert guard_cell("Ada Patient") == "Ada Patient"
    assert guard_cell("") == ""
    assert guard_cell("2026-11-02") == "2026-11-02"
    assert guard_cell("a=b") == "a=b"


def test_exports_follow_the_list_filters(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    urgent = make_submission(app, clinic_id, {"red_flags": ["cancer_history"]}, name="Una Urgent")
    make_submission(app, clinic_id, name="Cal Calm")
    rows = read_csv(signed_in, "?urgent=1")
    assert [row["patient_name"] for row in rows] == ["Una Urgent"]
    document = json.loads(signed_in.get("/clinic/export.json?urgent=1").get_data(as_text=True))
    assert [s["id"] for s in document["submissions"]] == [urgent]
    assert len(read_csv(signed_in, search_address(signed_in, "", q="cal"))) == 1


def test_exports_page_through_every_row(app: Flask, signed_in: FlaskClient, clinic_id: int) -> None:
    for n in range(205):
        make_submission(
            app, clinic_id, name=f"P{n:03d}", created_at=BASE_TIME + timedelta(minutes=n)
        )
    rows = read_csv(signed_in)
    assert [row["patient_name"] for row in rows] == [f"P{n:03d}" for n in reversed(range(205))]
    document = json.loads(signed_in.get("/clinic/export.json").get_data(as_text=True))
    assert len(document["submissions"]) == 205


@pytest.mark.parametrize("path", ["/clinic/export.csv", "/clinic/export.json"])
def test_bad_export_filters_are_explained(signed_in: FlaskClient, path: str) -> None:
    response = signed_in.get(f"{path}?from=soon&after=x")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter &#39;Sent on or after&#39; (from) as a date written YYYY-MM-DD" in html
    assert "&#39;after&#39; is not a filter" in html


def test_json_export_content(
    app: Flask, signed_in: FlaskClient, clinic_id: int, ruleset: RuleSet
) -> None:
    submission_id = make_submission(
        app, clinic_id, {"diabetes": "yes", "diabetes_control": "no"}, created_at=BASE_TIME
    )
    response = signed_in.get("/clinic/export.json")
    assert response.mimetype == "application/json"
    document = json.loads(response.get_data(as_text=True))
    assert document["ruleset"] == {"version": ruleset.version, "sha256": ruleset.sha256}
    (record,) = document["submissions"]
    with app.app_context():
        stored = db.session.get(Submission, submission_id)
        assert record["result"] == stored.result
        assert record["answers"] == stored.answers
        assert record["reference"] == stored.reference
    assert record["flags"] == {
        "urgent": False,
        "blood_thinners": False,
        "diabetes": True,
        "infection": False,
        "allergies": False,
    }
    assert record["created_at"] == "2026-11-02T09:00:00Z"
    assert record["reviewed_at"] is None
    assert record["ruleset"]["version"] == ruleset.version


def test_json_export_gives_every_review_oldest_first(
    app: Flask, signed_in: FlaskClient, clinic_id: int, nurse: Account, admin: Account
) -> None:
    reviewed = make_submission(app, clinic_id, name="Ada Patient", created_at=BASE_TIME)
    make_submission(app, clinic_id, name="Bea Patient", created_at=BASE_TIME + timedelta(hours=1))
    with app.app_context():
        store.mark_reviewed(clinic_id, reviewed, nurse.id, "Asked about the blood thinner.")
        store.mark_reviewed(clinic_id, reviewed, admin.id)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def keep(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        document = json.loads(signed_in.get("/clinic/export.json").get_data(as_text=True))
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    records = {record["patient_name"]: record for record in document["submissions"]}
    assert records["Bea Patient"]["reviews"] == []
    first, second = records["Ada Patient"]["reviews"]
    assert (first["reviewed_by"], first["note"]) == (
        "Nurse Jones",
        "Asked about the blood thinner.",
    )
    assert (second["reviewed_by"], second["note"]) == ("Dr Lead", None)
    assert first["reviewed_at"] <= second["reviewed_at"]
    # The latest review is also the record's own reviewed_* fields.
    assert records["Ada Patient"]["reviewed_by"] == "Dr Lead"
    assert records["Ada Patient"]["reviewed_at"] == second["reviewed_at"]
    # One query for the reviews of the whole batch, not one per submission.
    assert sum("FROM submission_reviews" in sql for sql in statements) == 1


def test_json_export_gives_no_review_of_another_clinic(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    other_clinic = make_clinic(app, slug="beta", name="Beta Clinic")
    other_nurse = make_staff(app, other_clinic, "nurse@beta.example.org", name="Nurse Beta")
    ours = make_submission(app, clinic_id, name="Ada Patient")
    theirs = make_submission(app, other_clinic, name="Cy Patient")
    with app.app_context():
        store.mark_reviewed(other_clinic, theirs, other_nurse.id, "Beta note")
        assert store.reviews_of(clinic_id, [ours, theirs]) == {}
    document = json.loads(signed_in.get("/clinic/export.json").get_data(as_text=True))
    ((record),) = document["submissions"]
    assert record["patient_name"] == "Ada Patient"
    assert record["reviews"] == []


def test_an_empty_json_export_is_valid(signed_in: FlaskClient) -> None:
    document = json.loads(signed_in.get("/clinic/export.json").get_data(as_text=True))
    assert document["submissions"] == []


def test_exports_are_audited_without_patient_data(
    app: Flask, signed_in: FlaskClient, clinic_id: int, nurse: Account
) -> None:
    make_submission(app, clinic_id, name="Zelda Secretname")
    signed_in.get(search_address(signed_in, "/clinic/export.csv", q="zelda")).get_data()
    signed_in.get("/clinic/export.json?unreviewed=1").get_data()
    with app.app_context():
        rows = list(
            db.session.scalars(
                db.select(AuditEvent)
                .where(AuditEvent.action.in_(["export_csv", "export_json"]))
                .order_by(AuditEvent.id)
            )
        )
    assert [(r.action, r.user_id, r.clinic_id) for r in rows] == [
        ("export_csv", nurse.id, clinic_id),
        ("export_json", nurse.id, clinic_id),
    ]
    assert rows[0].detail == "rows=1; filters=q"
    assert rows[1].detail == "rows=1; filters=unreviewed"
    assert all("zelda" not in (r.detail or "").lower() for r in rows)


def test_export_links_carry_the_filters(signed_in: FlaskClient, app: Flask, clinic_id: int) -> None:
    make_submission(app, clinic_id, {"infection": "yes"})
    html = signed_in.get("/clinic/?infection=1").get_data(as_text=True)
    assert 'href="/clinic/export.csv?infection=1"' in html
    assert 'href="/clinic/export.json?infection=1"' in html
    assert csrf_token(signed_in, "/clinic/")
