"""No way for one clinic's staff to see or touch another clinic's patients, on SQLite and
PostgreSQL: every URL with a clinic A id answers 404 to clinic B, like a missing record."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    Account,
    csrf_token,
    login,
    make_clinic,
    make_staff,
    make_submission,
    search_address,
)
from sqlalchemy import select

from questionnaire.clinic.models import AuditEvent, Submission
from questionnaire.extensions import db

A_NAME = "Alice Alphapatient"


@dataclass(frozen=True)
class World:
    app: Flask
    a_submissions: list[int]
    a_references: list[str]
    a_admin: Account
    b_admin: Account
    b_submission: int


@pytest.fixture
def clinic_app(contextless_app: Flask) -> Flask:
    return contextless_app


@pytest.fixture
def world(clinic_app: Flask) -> World:
    db_app = clinic_app
    clinic_a = make_clinic(db_app, "alpha", "Alpha Spine Clinic")
    clinic_b = make_clinic(db_app, "beta", "Beta Pain Centre")
    a_admin = make_staff(db_app, clinic_a, "admin@alpha.example.org", role="admin")
    b_admin = make_staff(db_app, clinic_b, "admin@beta.example.org", role="admin")
    a_ids = [
        make_submission(db_app, clinic_a, {"red_flags": ["saddle_numbness"]}, name=A_NAME),
        make_submission(db_app, clinic_a, {"blood_thinners": "yes"}, name=A_NAME + " Two"),
    ]
    b_id = make_submission(db_app, clinic_b, name="Bob Betapatient")
    with db_app.app_context():
        references = [db.session.get(Submission, i).reference for i in a_ids]
    return World(db_app, a_ids, references, a_admin, b_admin, b_id)


@pytest.fixture
def clinic_b(world: World) -> FlaskClient:
    client = world.app.test_client()
    login(client, world.b_admin.email, world.b_admin.password)
    # Clinic A's staff use the pages too, so A has audit rows B must not see.
    a_client = world.app.test_client()
    login(a_client, world.a_admin.email, world.a_admin.password)
    for submission_id in world.a_submissions:
        a_client.get(f"/clinic/submissions/{submission_id}")
    return client


def test_every_submission_url_of_another_clinic_is_404(world: World, clinic_b: FlaskClient) -> None:
    token = csrf_token(clinic_b, f"/clinic/submissions/{world.b_submission}")
    for submission_id in world.a_submissions:
        for path in (
            f"/clinic/submissions/{submission_id}",
            f"/clinic/submissions/{submission_id}/fhir.json",
        ):
            response = clinic_b.get(path)
            assert response.status_code == 404, path
            assert A_NAME not in response.get_data(as_text=True)
        response = clinic_b.post(
            f"/clinic/submissions/{submission_id}/review",
            data={"csrf_token": token, "note": "not mine"},
        )
        assert response.status_code == 404
    with world.app.app_context():
        for submission_id in world.a_submissions:
            row = db.session.get(Submission, submission_id)
            assert row.reviewed_at is None and row.review_note is None
    # A missing id answers exactly the same way.
    missing = clinic_b.get("/clinic/submissions/987654")
    assert missing.status_code == 404
    other = clinic_b.get(f"/clinic/submissions/{world.a_submissions[0]}")
    assert missing.get_data() == other.get_data()
    # Every refused attempt is in clinic B's audit log: who, and which id they tried.
    with world.app.app_context():
        refusals = list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "access_denied")
                .order_by(AuditEvent.id)
            )
        )
    tried = [str(i) for i in world.a_submissions for _ in range(3)]
    assert [row.record_id for row in refusals] == [*tried, "987654", str(world.a_submissions[0])]
    assert {(row.user_id, row.clinic_id) for row in refusals} == {
        (world.b_admin.id, world.b_admin.clinic_id)
    }
    assert {row.detail for row in refusals} == {"no such submission in this clinic"}


def test_another_clinics_rows_never_appear_in_lists_or_exports(
    world: World, clinic_b: FlaskClient
) -> None:
    listing = clinic_b.get("/clinic/").get_data(as_text=True)
    assert "Bob Betapatient" in listing and "1 submission matches" in listing
    searches = [
        {"urgent": "1"},
        {"blood_thinners": "1"},
        {"q": "alice"},
        {"q": world.a_references[0]},
    ]
    for filters in searches:
        page = clinic_b.get(search_address(clinic_b, **filters)).get_data(as_text=True)
        assert "0 submissions match" in page, filters
        assert A_NAME not in page
    exports = [
        clinic_b.get("/clinic/export.csv").get_data(as_text=True),
        clinic_b.get(search_address(clinic_b, "/clinic/export.csv", q="alice")).get_data(
            as_text=True
        ),
        clinic_b.get("/clinic/export.json").get_data(as_text=True),
    ]
    for text in [listing, *exports]:
        assert A_NAME not in text
        for reference in world.a_references:
            assert reference not in text
    document = json.loads(exports[-1])
    assert [s["id"] for s in document["submissions"]] == [world.b_submission]


def test_another_clinics_audit_rows_and_staff_stay_hidden(
    world: World, clinic_b: FlaskClient
) -> None:
    audit = clinic_b.get("/clinic/audit").get_data(as_text=True)
    with world.app.app_context():
        own = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.clinic_id == world.b_admin.clinic_id)
        ).all()
        others = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.clinic_id != world.b_admin.clinic_id)
        ).all()
    assert any(row.action == "submission_view" for row in others)
    assert audit.count("<td><code>") == len(own)
    assert "submission_view" not in audit
    staff = clinic_b.get("/clinic/staff").get_data(as_text=True)
    assert world.a_admin.email not in staff
    token = csrf_token(clinic_b, "/clinic/staff")
    disable = f"/clinic/staff/{world.a_admin.id}/disable"
    response = clinic_b.post(disable, data={"csrf_token": token})
    assert response.status_code == 404
    a_client = world.app.test_client()
    login(a_client, world.a_admin.email, world.a_admin.password)


@pytest.mark.parametrize("row_id", ["0", "-1", "2147483647", "2147483648", "9" * 20])
def test_an_id_outside_the_database_range_is_a_plain_404(
    world: World, clinic_b: FlaskClient, row_id: str
) -> None:
    """Ids in addresses are checked before any query: PostgreSQL refuses a number too big
    for its INTEGER column with an error, which must never become a 500."""
    token = csrf_token(clinic_b, "/clinic/")
    requests = [
        ("GET", f"/clinic/submissions/{row_id}"),
        ("GET", f"/clinic/submissions/{row_id}/fhir.json"),
        ("POST", f"/clinic/submissions/{row_id}/review"),
        ("GET", f"/clinic/staff/{row_id}/reset"),
        ("POST", f"/clinic/staff/{row_id}/reset"),
        ("GET", f"/clinic/staff/{row_id}/disable"),
        ("POST", f"/clinic/staff/{row_id}/disable"),
    ]
    for method, path in requests:
        response = clinic_b.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 404, (method, path, response.status_code)
        assert "not found" in response.get_data(as_text=True).lower(), path


@pytest.mark.parametrize("row_id", ["2147483648", "9" * 18])
def test_paging_past_the_database_range_is_explained(
    world: World, clinic_b: FlaskClient, row_id: str
) -> None:
    for path, part in (
        (f"/clinic/?after=2026-11-24T09:30:00.000000Z_{row_id}", "after"),
        (f"/clinic/?before=2026-11-24T09:30:00.000000Z_{row_id}", "before"),
        (f"/clinic/audit?after={row_id}", "after"),
    ):
        response = clinic_b.get(path)
        assert response.status_code == 400, (path, response.status_code)
        assert f"The &#39;{part}&#39; part of this page" in response.get_data(as_text=True)
