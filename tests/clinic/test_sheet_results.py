"""Each distinct result is stored once (``sheet_results``), whatever number of submissions
share it; each submission still shows exactly the result its patient saw. Every test here
runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import secrets
from datetime import date, timedelta

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from helpers import CALM_ANSWERS, submission_before_0007
from sqlalchemy import delete, func, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from questionnaire.clinic import store
from questionnaire.clinic.models import SheetResult, Submission, SubmissionReview, utcnow
from questionnaire.clinic.transactions import writing
from questionnaire.extensions import db

BEFORE = "0006_submission_reviews"
# Stored as text, byte for byte: spacing and key order as the code of the time wrote them.
RESULT_A = '{"urgent": false, "urgent_reasons": [], "sections": [{"id": "risks"}]}'
RESULT_B = '{"urgent":true,"urgent_reasons":["You ticked fever or chills."]}'


def result_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(SheetResult)) or 0)


def stored_text(submission_id: int, column: str) -> str:
    """The result's JSON text as the database holds it, for one submission."""
    as_text = f"CAST({column} AS TEXT)" if db.engine.dialect.name == "postgresql" else column
    source = (
        "submissions"
        if column == "result"
        else "submissions JOIN sheet_results ON sheet_results.sha256 = submissions.result_sha256"
    )
    return str(
        db.session.execute(
            text(f"SELECT {as_text} FROM {source} WHERE submissions.id = :id"),
            {"id": submission_id},
        ).scalar_one()
    )


def new_submission(clinic_id: int, result: dict[str, object]) -> store.StoredSubmission:
    stored, created = store.create_submission(
        store.NewSubmission(
            clinic_id=clinic_id,
            idempotency_key=secrets.token_urlsafe(32),
            patient_name="Ada Patient",
            date_of_birth=date(1960, 3, 27),
            appointment_date=date(2026, 12, 1),
            answers=CALM_ANSWERS,
            result=result,
            ruleset_version="test",
            ruleset_sha256="0" * 64,
        )
    )
    assert created
    return stored


# --- the migration -----------------------------------------------------------------------------


def test_the_migration_stores_each_result_once_exactly_as_it_was_and_goes_back(
    empty_app: Flask,
) -> None:
    upgrade(revision=BEFORE)
    clinic = store.create_clinic("north", "North Spine Clinic").id
    first, second, third = (
        submission_before_0007(clinic, result) for result in (RESULT_A, RESULT_A, RESULT_B)
    )
    with writing():
        db.session.execute(
            insert(SubmissionReview).values(
                submission_id=second, clinic_id=clinic, reviewed_at=utcnow(), note="Called back."
            )
        )
    db.session.remove()

    upgrade()
    assert result_count() == 2
    texts = {first: RESULT_A, second: RESULT_A, third: RESULT_B}
    for submission_id, result in texts.items():
        assert stored_text(submission_id, "sheet_results.result") == result
        found = store.get_submission(clinic, submission_id)
        assert found is not None and found.result == json.loads(result)
    # The copy of submissions kept its reviews, and foreign keys are on again afterwards.
    assert db.session.scalar(select(func.count()).select_from(SubmissionReview)) == 1
    if db.engine.dialect.name == "sqlite":
        assert db.session.scalar(text("PRAGMA foreign_keys")) == 1
    with pytest.raises(DBAPIError, match="never changed"):
        db.session.execute(update(SheetResult).values(result={}))
    db.session.rollback()
    with pytest.raises(DBAPIError):  # still in use: the foreign key refuses
        db.session.execute(delete(SheetResult))
    db.session.rollback()
    db.session.remove()

    downgrade(revision=BEFORE)
    assert "sheet_results" not in inspect(db.engine).get_table_names()
    for submission_id, result in texts.items():
        assert json.loads(stored_text(submission_id, "result")) == json.loads(result)
    assert db.session.scalar(text("SELECT count(*) FROM submission_reviews")) == 1
    db.session.remove()

    upgrade()
    assert result_count() == 2


# --- the store ---------------------------------------------------------------------------------


def test_submissions_with_the_same_result_share_one_stored_result(db_app: Flask) -> None:
    clinic = store.create_clinic("north", "North Spine Clinic").id
    same = [new_submission(clinic, {"urgent": False}).id for _ in range(3)]
    other = new_submission(clinic, {"urgent": True}).id
    assert result_count() == 2
    keys = db.session.scalars(select(Submission.result_sha256).order_by(Submission.id)).all()
    assert len(set(keys[:3])) == 1 and keys[3] != keys[0]
    for submission_id, urgent in ((same[0], False), (same[2], False), (other, True)):
        found = store.get_submission(clinic, submission_id)
        assert found is not None and found.result == {"urgent": urgent}


def test_the_purge_deletes_the_results_no_submission_uses_any_more(db_app: Flask) -> None:
    clinic = store.create_clinic("north", "North Spine Clinic").id
    old = new_submission(clinic, {"urgent": True}).id
    kept = new_submission(clinic, {"urgent": False}).id
    shared_old = new_submission(clinic, {"urgent": False}).id
    with writing():
        db.session.execute(
            update(Submission)
            .where(Submission.id.in_([old, shared_old]))
            .values(created_at=utcnow() - timedelta(days=40))
        )

    assert store.purge_older_than(30) == 2

    assert result_count() == 1  # the urgent one went; the other is still in use
    found = store.get_submission(clinic, kept)
    assert found is not None and found.result == {"urgent": False}


def test_a_result_deleted_after_this_process_stored_it_is_stored_again(db_app: Flask) -> None:
    clinic = store.create_clinic("north", "North Spine Clinic").id
    first = new_submission(clinic, {"urgent": True}).id
    with writing():
        db.session.execute(
            update(Submission)
            .where(Submission.id == first)
            .values(created_at=utcnow() - timedelta(days=40))
        )
    store.purge_older_than(30)
    assert result_count() == 0

    # The process remembers the result as stored; the database refuses the reference, and
    # the store writes the result again rather than failing the patient's send.
    again = new_submission(clinic, {"urgent": True}).id
    found = store.get_submission(clinic, again)
    assert found is not None and found.result == {"urgent": True}
    assert result_count() == 1
