"""Reviewing a submission again keeps the earlier reviews, on SQLite and PostgreSQL.

``submission_reviews`` holds every review (who, when, the note); the submission's own
``reviewed_*`` columns stay the latest one. The table is append-only in the database, as the
audit log is, except that deleting a submission (retention's purge) takes its reviews with
it. Every test here runs once per database (``database_url``); the storage tests also once
on tables made by ``db.create_all()`` and once on tables made by the migrations.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from helpers import (
    CALM_ANSWERS,
    Account,
    csrf_token,
    login,
    make_staff,
    submission_before_0007,
)
from sqlalchemy import delete, func, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from questionnaire.clinic import store
from questionnaire.clinic.models import AuditEvent, Submission, SubmissionReview
from questionnaire.clinic.passwords import hash_password
from questionnaire.clinic.transactions import writing
from questionnaire.extensions import db

NOW = datetime.now(UTC).replace(microsecond=0)
BEFORE_REVIEWS = "0005_totp_new_secret"
ANSWERS = {**CALM_ANSWERS, "allergies": ["none"]}
CALM_RESULT = '{"urgent": false, "urgent_reasons": []}'


def new_submission(clinic_id: int, name: str = "Ada Patient") -> int:
    stored, _ = store.create_submission(
        store.NewSubmission(
            clinic_id=clinic_id,
            idempotency_key=secrets.token_urlsafe(32),
            patient_name=name,
            date_of_birth=date(1960, 3, 27),
            appointment_date=date(2026, 12, 1),
            answers=ANSWERS,
            result={"urgent": False, "urgent_reasons": []},
            ruleset_version="test",
            ruleset_sha256="0" * 64,
        )
    )
    return stored.id


def new_staff(clinic_id: int, email: str, name: str) -> int:
    return store.create_staff_user(clinic_id, email, name, "staff", hash_password("x" * 12)).id


def history(submission_id: int) -> list[tuple[int | None, str | None]]:
    """(reviewer, note) of the submission's reviews, newest first, as stored."""
    db.session.expire_all()
    rows = db.session.execute(
        select(SubmissionReview.reviewed_by_id, SubmissionReview.note)
        .where(SubmissionReview.submission_id == submission_id)
        .order_by(SubmissionReview.id.desc())
    )
    return [(row.reviewed_by_id, row.note) for row in rows]


def review_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(SubmissionReview)) or 0)


# --- storage -----------------------------------------------------------------------------------


@pytest.fixture(params=["create_all", "migration"])
def tables_app(request: pytest.FixtureRequest, empty_app: Flask) -> Flask:
    """The tables made by ``db.create_all()`` or by the migrations."""
    if request.param == "migration":
        upgrade()
    else:
        db.create_all()
    return empty_app


def test_a_second_review_keeps_the_first(tables_app: Flask) -> None:
    clinic = store.create_clinic("north", "North Spine Clinic").id
    nurse = new_staff(clinic, "nurse@example.org", "Nurse Jones")
    doctor = new_staff(clinic, "doctor@example.org", "Dr Bones")
    submission_id = new_submission(clinic)

    store.mark_reviewed(clinic, submission_id, nurse, "Called about warfarin.")
    reviewed = store.mark_reviewed(clinic, submission_id, doctor, "  Seen; plan agreed.  ")

    assert reviewed is not None
    assert (reviewed.reviewed_by_id, reviewed.review_note) == (doctor, "Seen; plan agreed.")
    assert history(submission_id) == [
        (doctor, "Seen; plan agreed."),
        (nurse, "Called about warfarin."),
    ]
    submission = store.get_submission(clinic, submission_id)
    assert submission is not None
    newest = submission.reviews[0]
    assert newest.reviewed_at == submission.reviewed_at and newest.clinic_id == clinic
    assert [(r.reviewed_by_id, r.note) for r in submission.earlier_reviews] == [
        (nurse, "Called about warfarin.")
    ]
    # The audit log records each review and never its note.
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "review")))
    assert [(e.user_id, e.record_id) for e in events] == [
        (nurse, str(submission_id)),
        (doctor, str(submission_id)),
    ]
    assert all(e.detail is None for e in events)


def test_a_refused_review_writes_no_history(tables_app: Flask) -> None:
    north = store.create_clinic("north", "North Spine Clinic").id
    south = store.create_clinic("south", "South Pain Clinic").id
    nurse = new_staff(north, "nurse@example.org", "Nurse Jones")
    submission_id = new_submission(north)
    with pytest.raises(store.StoreError):
        store.mark_reviewed(north, submission_id, nurse, "x" * 2001)
    assert store.mark_reviewed(south, submission_id, nurse, "not ours") is None
    assert review_count() == 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE submission_reviews SET note = 'changed'",
        "UPDATE submission_reviews SET reviewed_by_id = NULL",
        "DELETE FROM submission_reviews",
        "DELETE FROM submission_reviews WHERE note = 'first'",
    ],
)
def test_sql_cannot_change_or_remove_a_review(tables_app: Flask, statement: str) -> None:
    clinic = store.create_clinic("north", "North Spine Clinic").id
    nurse = new_staff(clinic, "nurse@example.org", "Nurse Jones")
    submission_id = new_submission(clinic)
    store.mark_reviewed(clinic, submission_id, nurse, "first")
    store.mark_reviewed(clinic, submission_id, nurse, "second")

    with pytest.raises(DBAPIError, match="submission_reviews is append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert history(submission_id) == [(nurse, "second"), (nurse, "first")]


def test_the_orm_cannot_change_or_remove_a_review(tables_app: Flask) -> None:
    clinic = store.create_clinic("north", "North Spine Clinic").id
    nurse = new_staff(clinic, "nurse@example.org", "Nurse Jones")
    submission_id = new_submission(clinic)
    store.mark_reviewed(clinic, submission_id, nurse, "first")

    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(update(SubmissionReview).values(note="changed"))
    db.session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(delete(SubmissionReview))
    db.session.rollback()
    review = db.session.scalars(select(SubmissionReview)).one()
    db.session.delete(review)
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert history(submission_id) == [(nurse, "first")]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_refuses_to_truncate_the_reviews(tables_app: Flask) -> None:
    clinic = store.create_clinic("north", "North Spine Clinic").id
    nurse = new_staff(clinic, "nurse@example.org", "Nurse Jones")
    submission_id = new_submission(clinic)
    store.mark_reviewed(clinic, submission_id, nurse, "first")
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("TRUNCATE submission_reviews"))
    db.session.rollback()
    assert history(submission_id) == [(nurse, "first")]


def test_purge_removes_the_reviews_of_the_submissions_it_deletes(tables_app: Flask) -> None:
    north = store.create_clinic("north", "North Spine Clinic").id
    south = store.create_clinic("south", "South Pain Clinic").id
    nurse = new_staff(north, "nurse@example.org", "Nurse Jones")
    other = new_staff(south, "other@example.org", "Nurse Smith")
    old_north, recent, old_south = (
        new_submission(north),
        new_submission(north),
        new_submission(south),
    )
    for clinic, submission_id, user in (
        (north, old_north, nurse),
        (north, old_north, nurse),
        (north, recent, nurse),
        (north, recent, nurse),
        (south, old_south, other),
    ):
        store.mark_reviewed(clinic, submission_id, user, f"note on {submission_id}")
    with writing():
        for submission_id, days in ((old_north, 100), (recent, 29), (old_south, 31)):
            db.session.execute(
                update(Submission)
                .where(Submission.id == submission_id)
                .values(created_at=NOW - timedelta(days=days))
            )
    assert review_count() == 5

    assert store.purge_older_than(30) == 2

    assert history(old_north) == [] and history(old_south) == []
    assert history(recent) == [(nurse, f"note on {recent}")] * 2
    assert review_count() == 2


def test_deleting_a_submission_through_the_orm_removes_its_reviews(tables_app: Flask) -> None:
    clinic = store.create_clinic("north", "North Spine Clinic").id
    nurse = new_staff(clinic, "nurse@example.org", "Nurse Jones")
    gone, kept = new_submission(clinic), new_submission(clinic)
    store.mark_reviewed(clinic, gone, nurse, "first")
    store.mark_reviewed(clinic, kept, nurse, "kept")
    submission = store.get_submission(clinic, gone)
    assert submission is not None and len(submission.reviews) == 1
    db.session.delete(submission)
    db.session.commit()
    assert history(gone) == [] and history(kept) == [(nurse, "kept")]


# --- the migration -----------------------------------------------------------------------------


def review_tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) & {"submission_reviews"}


def review_function_exists() -> bool:
    if db.engine.dialect.name != "postgresql":
        return False
    found = db.session.scalar(
        text("SELECT count(*) FROM pg_proc WHERE proname = 'submission_reviews_append_only'")
    )
    return bool(found)


def test_the_migration_copies_each_review_and_goes_down_and_up(empty_app: Flask) -> None:
    upgrade(revision=BEFORE_REVIEWS)
    assert review_tables() == set()
    clinic = store.create_clinic("north", "North Spine Clinic").id
    nurse = new_staff(clinic, "nurse@example.org", "Nurse Jones")
    noted, plain, unknown, unreviewed = (
        submission_before_0007(clinic, CALM_RESULT) for _ in range(4)
    )
    when = {noted: NOW - timedelta(days=3), plain: NOW - timedelta(days=2), unknown: NOW}
    with writing():
        # Reviews as the code before this revision stored them: on the submission only.
        for submission_id, user, note in (
            (noted, nurse, "Called <back> & agreed."),
            (plain, nurse, None),
            (unknown, None, "reviewer not recorded"),
        ):
            db.session.execute(
                update(Submission)
                .where(Submission.id == submission_id)
                .values(reviewed_at=when[submission_id], reviewed_by_id=user, review_note=note)
            )
    db.session.remove()

    upgrade()
    copied = db.session.execute(
        select(
            SubmissionReview.submission_id,
            SubmissionReview.clinic_id,
            SubmissionReview.reviewed_by_id,
            SubmissionReview.reviewed_at,
            SubmissionReview.note,
        ).order_by(SubmissionReview.id)
    ).all()
    assert [tuple(row) for row in copied] == [
        (noted, clinic, nurse, when[noted], "Called <back> & agreed."),
        (plain, clinic, nurse, when[plain], None),
        (unknown, clinic, None, when[unknown], "reviewer not recorded"),
    ]
    # The copied review is the latest: it is not listed again as an earlier one...
    submission = store.get_submission(clinic, noted)
    assert submission is not None and submission.earlier_reviews == []
    # ... until the submission is reviewed again.
    store.mark_reviewed(clinic, noted, nurse, "Reviewed again.")
    assert history(noted) == [(nurse, "Reviewed again."), (nurse, "Called <back> & agreed.")]
    assert history(unreviewed) == []
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("DELETE FROM submission_reviews"))
    db.session.rollback()
    assert review_function_exists() == (db.engine.dialect.name == "postgresql")
    db.session.remove()

    downgrade(revision=BEFORE_REVIEWS)
    assert review_tables() == set()
    assert not review_function_exists()
    # The latest review stays on each submission.
    latest = db.session.execute(
        text("SELECT review_note FROM submissions WHERE id = :id"), {"id": noted}
    ).scalar_one()
    assert latest == "Reviewed again."
    db.session.remove()

    upgrade()
    assert history(noted) == [(nurse, "Reviewed again.")]
    assert review_count() == 3


# --- the submission's page ---------------------------------------------------------------------


@pytest.fixture
def app(contextless_app: Flask) -> Flask:
    """The page tests' app on SQLite and on PostgreSQL (``signed_in``, ``nurse`` and
    ``admin`` of conftest.py use it)."""
    return contextless_app


def review_on_page(client: FlaskClient, submission_id: int, note: str) -> None:
    path = f"/clinic/submissions/{submission_id}"
    response = client.post(
        f"{path}/review", data={"csrf_token": csrf_token(client, path), "note": note}
    )
    assert response.status_code == 302


def earlier_section(html: str) -> str:
    """The page's list of earlier reviews ('' when it has none)."""
    found = re.search(r'id="earlier-reviews-title".*?</section>', html, re.S)
    return found.group(0) if found else ""


def current_review(html: str) -> str:
    found = re.search(r"<dt[^>]*>Reviewed</dt>(.*?)</dl>", html, re.S)
    assert found, "no current review on the page"
    return found.group(1)


def test_the_page_lists_earlier_reviews_newest_first_under_the_current_one(
    app: Flask, signed_in: FlaskClient, clinic_id: int, nurse: Account, admin: Account
) -> None:
    with app.app_context():
        submission_id = new_submission(clinic_id)
    path = f"/clinic/submissions/{submission_id}"
    assert earlier_section(signed_in.get(path).get_data(as_text=True)) == ""

    lead = app.test_client()
    login(lead, admin.email, admin.password)
    review_on_page(lead, submission_id, "First look: call the patient.")
    review_on_page(signed_in, submission_id, "Called; waiting for the GP letter.")
    review_on_page(signed_in, submission_id, "")
    html = signed_in.get(path).get_data(as_text=True)

    current = current_review(html)
    assert "By Nurse Jones on" in current
    assert "Review note" not in current  # the latest review has no note
    earlier = earlier_section(html)
    first = earlier.index("By Dr Lead on")
    second = earlier.index("By Nurse Jones on")
    assert second < first  # newest first
    assert earlier.index("Called; waiting for the GP letter.") < first
    assert earlier.index("First look: call the patient.") > first
    assert earlier.count("By ") == 2  # the current review is not listed again


def test_a_note_with_markup_is_shown_as_text(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    with app.app_context():
        submission_id = new_submission(clinic_id)
    markup = '<script>alert("x")</script> <b>bold</b> & <a href="/x">link</a>'
    review_on_page(signed_in, submission_id, markup)
    review_on_page(signed_in, submission_id, "Later review.")
    html = signed_in.get(f"/clinic/submissions/{submission_id}").get_data(as_text=True)

    earlier = earlier_section(html)
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt; &amp; "
        "&lt;a href=&#34;/x&#34;&gt;link&lt;/a&gt;"
    ) in earlier
    assert "<script>alert" not in html and "<b>bold" not in html


def test_a_reviewer_from_elsewhere_shows_as_a_former_staff_member(
    app: Flask, signed_in: FlaskClient, clinic_id: int
) -> None:
    """As for the latest review, only staff of the submission's clinic are named."""
    with app.app_context():
        elsewhere = store.create_clinic("beta", "Beta Pain Centre").id
        stranger = make_staff(app, elsewhere, "stranger@beta.example.org", name="Sam Stranger")
        submission_id = new_submission(clinic_id)
        store.mark_reviewed(clinic_id, submission_id, stranger.id, "An old note.")
        # A review copied by the migration may have no reviewer at all.
        db.session.execute(
            insert(SubmissionReview).values(
                submission_id=submission_id,
                clinic_id=clinic_id,
                reviewed_by_id=None,
                reviewed_at=datetime.now(UTC),
                note="Nobody recorded.",
            )
        )
        db.session.commit()
    review_on_page(signed_in, submission_id, "Current.")
    html = signed_in.get(f"/clinic/submissions/{submission_id}").get_data(as_text=True)

    earlier = earlier_section(html)
    assert earlier.count("By a former staff member on") == 2
    assert "An old note." in earlier and "Nobody recorded." in earlier
    assert "Sam Stranger" not in html
