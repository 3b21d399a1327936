"""The clinic store on SQLite and PostgreSQL: migrations, scoping, paging, filters, purge.

Every test here runs once per database (the ``database_url`` fixture is parametrised).
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from helpers import LATEST_REVISION
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError, StatementError

from questionnaire.clinic import reference, store
from questionnaire.clinic.models import (
    AuditEvent,
    Clinic,
    SheetResult,
    StaffSession,
    StaffUser,
    Submission,
)
from questionnaire.clinic.passwords import hash_password
from questionnaire.clinic.transactions import write_lock, writing
from questionnaire.extensions import db

TABLES = {
    "clinics",
    "staff_users",
    "staff_sessions",
    "submissions",
    "submission_reviews",
    "sheet_results",
    "audit_log",
}
NOW = datetime.now(UTC).replace(microsecond=0)
# A stored result for rows inserted directly (an empty one: these tests do not read it).
EMPTY_RESULT = {"sha256": "e" * 64, "result": {}}


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- migrations ------------------------------------------------------------------------------


def test_migration_creates_every_table_and_matches_the_models(empty_app: Flask) -> None:
    upgrade()
    assert set(inspect(db.engine).get_table_names()) == TABLES | {"alembic_version"}
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_migration_goes_down_and_up_again(empty_app: Flask) -> None:
    upgrade()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    store.create_clinic("north", "North Spine Clinic")
    assert store.get_clinic_by_slug("north") is not None


def staff_user_columns() -> set[str]:
    return {column["name"] for column in inspect(db.engine).get_columns("staff_users")}


# Each migration that adds a column to staff_users: the revision before it, the column, a
# value an account may hold, and what the account holds after going down and up again.
COLUMN_MIGRATIONS = [
    ("0001_initial", "totp_last_step", 59_000_000, None),
    ("0002_totp_last_step", "password_must_change", True, False),
    ("0004_session_confirmed_at", "totp_new_secret", "JBSWY3DPEHPK3PXP", None),
    ("0004_session_confirmed_at", "totp_new_session", "0" * 64, None),
]


@pytest.mark.parametrize(("before", "column", "value", "after"), COLUMN_MIGRATIONS)
def test_column_migrations_go_down_and_up_keeping_the_accounts(
    empty_app: Flask, before: str, column: str, value: Any, after: Any
) -> None:
    upgrade()
    assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == LATEST_REVISION
    assert column in staff_user_columns()
    clinic = store.create_clinic("north", "North Spine Clinic")
    user = store.create_staff_user(
        clinic.id, "nurse@example.org", "Nurse", "staff", hash_password("x" * 12)
    )
    with writing():
        setattr(user, column, value)
        # A row that refers to the account: the column must go without copying the table.
        db.session.add(StaffSession(id="0" * 64, user_id=user.id, created_at=NOW, last_seen_at=NOW))
    db.session.remove()

    downgrade(revision=before)
    assert column not in staff_user_columns()
    assert db.session.scalar(text("SELECT email FROM staff_users")) == "nurse@example.org"
    assert db.session.scalar(text("SELECT count(*) FROM staff_sessions")) == 1
    db.session.remove()

    upgrade()
    assert column in staff_user_columns()
    again = db.session.scalar(select(StaffUser))
    assert again is not None
    assert (again.email, getattr(again, column)) == ("nurse@example.org", after)


def test_the_session_confirmation_column_goes_down_and_up_keeping_the_sessions(
    empty_app: Flask,
) -> None:
    upgrade()
    clinic = store.create_clinic("north", "North Spine Clinic")
    user = store.create_staff_user(
        clinic.id, "nurse@example.org", "Nurse", "staff", hash_password("x" * 12)
    )
    user_id = user.id
    with writing():
        db.session.add(
            StaffSession(
                id="0" * 64, user_id=user_id, created_at=NOW, last_seen_at=NOW, confirmed_at=NOW
            )
        )
    db.session.remove()

    downgrade(revision="0003_password_must_change")
    columns = {column["name"] for column in inspect(db.engine).get_columns("staff_sessions")}
    assert "confirmed_at" not in columns
    assert db.session.scalar(text("SELECT count(*) FROM staff_sessions")) == 1
    db.session.remove()

    upgrade()
    again = db.session.scalar(select(StaffSession))
    assert again is not None
    # A session from before the column has to confirm the password at its next admin action.
    assert (again.user_id, again.confirmed_at) == (user_id, None)


def test_migrated_audit_log_refuses_changes(empty_app: Flask) -> None:
    upgrade()
    store.create_clinic("north", "North Spine Clinic")
    clinic = store.get_clinic_by_slug("north")
    assert clinic is not None
    store.create_staff_user(
        clinic.id, "nurse@example.org", "Nurse", "staff", hash_password("x" * 12)
    )
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_log"))
    db.session.rollback()
    assert audit_actions() == ["account_create"]


# --- datetimes -------------------------------------------------------------------------------


def test_datetimes_come_back_utc_aware(two_clinics: tuple[Clinic, Clinic], submit: Any) -> None:
    north, _ = two_clinics
    submission = submit(north)
    db.session.expire_all()
    again = store.get_submission(north.id, submission.id)
    assert again is not None
    assert again.created_at.tzinfo is UTC
    assert abs(again.created_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_a_naive_datetime_is_refused(two_clinics: tuple[Clinic, Clinic], submit: Any) -> None:
    submission = submit(two_clinics[0])
    submission.reviewed_at = datetime.now()  # no zone: refused rather than guessed
    with pytest.raises(StatementError, match="timezone-aware"):
        db.session.commit()
    db.session.rollback()


# --- creating submissions --------------------------------------------------------------------


def test_the_same_idempotency_key_stores_one_submission(
    two_clinics: tuple[Clinic, Clinic], submit: Any
) -> None:
    north, _ = two_clinics
    first = submit(north, key="k" * 43)
    second = submit(north, "Someone Else", key="k" * 43)
    assert second.id == first.id
    assert second.patient_name == "Ada Lovelace"
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1
    assert audit_actions() == ["submission_create"]


def test_the_key_is_per_clinic(two_clinics: tuple[Clinic, Clinic], submit: Any) -> None:
    north, south = two_clinics
    assert submit(north, key="k" * 43).id != submit(south, key="k" * 43).id


def test_references_are_unique_and_easy_to_read_aloud(
    two_clinics: tuple[Clinic, Clinic], submit: Any
) -> None:
    codes = [submit(two_clinics[0]).reference for _ in range(60)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert re.fullmatch(
            r"[2-9A-HJKMNP-TV-Z]{3}-[2-9A-HJKMNP-TV-Z]{3}-[2-9A-HJKMNP-TV-Z]{3}", code
        )
        assert not set(code) & set("01OILU")


def test_a_reference_already_taken_is_drawn_again(
    two_clinics: tuple[Clinic, Clinic], submit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    north, south = two_clinics
    taken = submit(north).reference
    draws = iter([taken, taken, "ABC-DEF-GHJ"])
    monkeypatch.setattr(store, "new_reference", lambda: next(draws))
    fresh = submit(south)
    assert fresh.reference == "ABC-DEF-GHJ"
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 2


@pytest.mark.parametrize(
    ("answers", "urgent", "expected"),
    [
        ({}, False, set()),
        ({}, True, {"urgent"}),
        ({"blood_thinners": "yes"}, False, {"blood_thinners"}),
        ({"blood_thinners": "not_sure"}, False, {"blood_thinners"}),
        ({"diabetes": "not_sure", "infection": "yes"}, False, {"diabetes", "infection"}),
        ({"allergies": ["latex"]}, False, {"allergies"}),
        ({"allergies": ["not_sure"]}, False, {"allergies"}),
        ({"allergies": ["none"]}, False, set()),
    ],
)
def test_flags_follow_the_answers(
    two_clinics: tuple[Clinic, Clinic],
    submit: Any,
    answers: dict[str, Any],
    urgent: bool,
    expected: set[str],
) -> None:
    submission = submit(two_clinics[0], urgent=urgent, **answers)
    assert {name for name, on in submission.flags.items() if on} == expected


def test_a_missing_allergy_answer_raises_no_flag() -> None:
    assert store.compute_flags({"blood_thinners": "no"}, {"urgent": False}) == {
        "urgent": False,
        "blood_thinners": False,
        "diabetes": False,
        "infection": False,
        "allergies": False,
    }


# --- clinic scoping --------------------------------------------------------------------------


def test_no_store_function_shows_one_clinic_another_clinics_rows(
    two_clinics: tuple[Clinic, Clinic], submit: Any
) -> None:
    north, south = two_clinics
    theirs = submit(
        north,
        "Grace Hopper",
        urgent=True,
        blood_thinners="yes",
        diabetes="yes",
        infection="yes",
        allergies=["latex"],
    )
    nurse = store.create_staff_user(
        north.id, "nurse@north.example", "North Nurse", "staff", hash_password("x" * 12)
    )
    submit(south, "Someone South")

    assert store.get_submission(south.id, theirs.id) is None
    assert store.get_submission_by_reference(south.id, theirs.reference) is None
    assert store.mark_reviewed(south.id, theirs.id, nurse.id, "not ours") is None
    assert store.get_staff_user(south.id, nurse.id) is None
    assert nurse.id not in {user.id for user in store.list_staff_users(south.id)}
    every_filter: list[dict[str, Any]] = [
        {},
        {"urgent": True},
        {"blood_thinners": True},
        {"diabetes": True},
        {"infection": True},
        {"allergies": True},
        {"unreviewed": True},
        {"date_from": NOW.date() - timedelta(days=1), "date_to": NOW.date() + timedelta(days=1)},
        {"q": "Grace"},
        {"q": theirs.reference},
    ]
    for fields in every_filter:
        filters = store.SubmissionFilters(**fields)
        shown = store.list_submissions(south.id, filters).items
        assert theirs.id not in {row.id for row in shown}, fields
        assert all(row.clinic_id == south.id for row in shown), fields
        # The same filter in the right clinic does find it: the test can fail.
        assert theirs.id in {row.id for row in store.list_submissions(north.id, filters).items}
    assert store.count_submissions(south.id, store.SubmissionFilters(q="Grace")) == 0
    db.session.expire_all()
    untouched = store.get_submission(north.id, theirs.id)
    assert untouched is not None and untouched.reviewed_at is None


# --- listing ---------------------------------------------------------------------------------


def test_pages_go_newest_first_with_no_gaps_or_repeats(
    two_clinics: tuple[Clinic, Clinic], submit: Any, set_created_at: Any
) -> None:
    north, _ = two_clinics
    made = [submit(north, f"Patient {i}") for i in range(8)]
    # Three share one instant, so the id has to break the tie.
    for i, submission in enumerate(made):
        set_created_at(submission, NOW - timedelta(minutes=min(i, 4)))
    expected = sorted(made, key=lambda row: (row.created_at, row.id), reverse=True)

    seen: list[int] = []
    after = None
    while True:
        page = store.list_submissions(north.id, after=after, limit=3)
        seen.extend(row.id for row in page.items)
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [row.id for row in expected]


def test_each_filter_selects_what_it_names(
    two_clinics: tuple[Clinic, Clinic], submit: Any, set_created_at: Any
) -> None:
    north, _ = two_clinics
    plain = submit(north, "Ada Lovelace")
    urgent = submit(north, "Grace Hopper", urgent=True)
    thinners = submit(north, "Alan Turing", blood_thinners="not_sure")
    diabetes = submit(north, "Ada Byron", diabetes="yes")
    infection = submit(north, "Edsger Dijkstra", infection="not_sure")
    allergies = submit(north, "Barbara Liskov", allergies=["contrast_dye"])
    old = submit(north, "Old Patient")
    set_created_at(old, NOW - timedelta(days=40))
    nurse = store.create_staff_user(north.id, "n@example.org", "Nurse", "staff", "hash")
    store.mark_reviewed(north.id, plain.id, nurse.id)

    def ids(**fields: Any) -> set[int]:
        filters = store.SubmissionFilters(**fields)
        assert store.count_submissions(north.id, filters) == len(
            store.list_submissions(north.id, filters).items
        )
        return {row.id for row in store.list_submissions(north.id, filters).items}

    assert ids(urgent=True) == {urgent.id}
    assert ids(blood_thinners=True) == {thinners.id}
    assert ids(diabetes=True) == {diabetes.id}
    assert ids(infection=True) == {infection.id}
    assert ids(allergies=True) == {allergies.id}
    assert plain.id not in ids(unreviewed=True)
    assert len(ids(unreviewed=True)) == 6
    recent = ids(date_from=NOW.date() - timedelta(days=1), date_to=NOW.date())
    assert old.id not in recent and len(recent) == 6
    assert ids(date_to=NOW.date() - timedelta(days=30)) == {old.id}
    # The first and last days there are: every row, and no overflow past the last one.
    assert len(ids(date_from=date.min, date_to=date.max)) == 7
    assert ids(date_from=date.max) == set()
    assert ids(q="ada") == {plain.id, diabetes.id}
    assert ids(q="  ADA   by") == {diabetes.id}
    assert ids(q="lovelace") == set()  # the start of the name, not any word
    spoken = urgent.reference.lower().replace("-", " ")
    assert ids(q=spoken) == {urgent.id}
    assert ids(urgent=True, q="ada") == set()


def test_a_count_can_stop_past_a_limit(two_clinics: tuple[Clinic, Clinic], submit: Any) -> None:
    north, south = two_clinics
    for number in range(5):
        submit(north, f"Patient {number}", urgent=number < 3)
    submit(south, "Elsewhere")
    assert store.count_submissions(north.id) == 5
    # Past the limit, the answer is one more than it: "more than at_most".
    assert [store.count_submissions(north.id, at_most=limit) for limit in (0, 3, 4)] == [1, 4, 5]
    assert [store.count_submissions(north.id, at_most=limit) for limit in (5, 100)] == [5, 5]
    urgent = store.SubmissionFilters(urgent=True)
    assert store.count_submissions(north.id, urgent, at_most=2) == 3
    assert store.count_submissions(north.id, urgent, at_most=3) == 3
    assert store.count_submissions(south.id, at_most=0) == 1


def test_a_negative_count_limit_is_refused_with_a_clear_message(db_app: Flask) -> None:
    with pytest.raises(store.StoreError, match="at_most must be 0 or more, not -1"):
        store.count_submissions(1, at_most=-1)


def test_a_bad_limit_is_refused_with_a_clear_message(db_app: Flask) -> None:
    with pytest.raises(store.StoreError, match="limit must be 1-200"):
        store.list_submissions(1, limit=0)


def test_filters_refuse_unknown_names(db_app: Flask) -> None:
    with pytest.raises(ValueError, match="sort"):
        store.SubmissionFilters(sort="name")  # type: ignore[call-arg]


# --- reviewing and purging -------------------------------------------------------------------


def test_mark_reviewed_records_who_and_when_and_audits_without_the_note(
    two_clinics: tuple[Clinic, Clinic], submit: Any
) -> None:
    north, _ = two_clinics
    submission = submit(north)
    nurse = store.create_staff_user(north.id, "n@example.org", "Nurse", "staff", "hash")
    reviewed = store.mark_reviewed(north.id, submission.id, nurse.id, "  Called back  ")
    assert reviewed is not None
    assert reviewed.reviewed_by_id == nurse.id
    assert reviewed.review_note == "Called back"
    assert reviewed.reviewed_at is not None and reviewed.reviewed_at.tzinfo is UTC
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "review")))
    assert [(e.user_id, e.clinic_id, e.record_id) for e in events] == [
        (nurse.id, north.id, str(submission.id))
    ]
    assert "Called back" not in (events[0].detail or "")
    with pytest.raises(store.StoreError, match="at most 2000"):
        store.mark_reviewed(north.id, submission.id, nurse.id, "x" * 2001)


def test_purge_deletes_old_submissions_and_keeps_the_audit_log(
    two_clinics: tuple[Clinic, Clinic], submit: Any, set_created_at: Any
) -> None:
    north, south = two_clinics
    old_north, old_south, recent = submit(north), submit(south), submit(north)
    set_created_at(old_north, NOW - timedelta(days=100))
    set_created_at(old_south, NOW - timedelta(days=31))
    set_created_at(recent, NOW - timedelta(days=29))
    before = len(audit_actions())
    ids = {"old_north": old_north.id, "old_south": old_south.id, "recent": recent.id}

    assert store.purge_older_than(30) == 2
    assert store.get_submission(north.id, ids["recent"]) is not None
    assert store.get_submission(north.id, ids["old_north"]) is None
    assert store.get_submission(south.id, ids["old_south"]) is None
    actions = audit_actions()
    assert len(actions) == before + 2 and actions[-2:] == ["purge", "purge"]
    assert store.purge_older_than(30) == 0
    for days in (0, -5, True, 1.5):
        with pytest.raises(store.StoreError, match="1 or more"):
            store.purge_older_than(days)  # type: ignore[arg-type]


# --- clinics and staff -----------------------------------------------------------------------


def test_clinic_and_staff_writes_refuse_bad_values(two_clinics: tuple[Clinic, Clinic]) -> None:
    north, _ = two_clinics
    with pytest.raises(store.StoreError, match="already exists"):
        store.create_clinic("north", "Another")
    for slug in ("North", "-x", "a b", "x" * 65, ""):
        with pytest.raises(store.StoreError, match="slug"):
            store.create_clinic(slug, "Name")
    store.create_staff_user(north.id, "Nurse@Example.org", "Nurse", "staff", "hash")
    assert store.find_staff_user_by_email("NURSE@example.org") is not None
    with pytest.raises(store.StoreError, match="already exists"):
        store.create_staff_user(north.id, "nurse@example.org", "Other", "staff", "hash")
    with pytest.raises(store.StoreError, match="role 'owner' is not allowed"):
        store.create_staff_user(north.id, "b@example.org", "B", "owner", "hash")
    with pytest.raises(store.StoreError, match="email"):
        store.create_staff_user(north.id, "not an email", "B", "staff", "hash")


# --- SQLite settings -------------------------------------------------------------------------


def test_sqlite_runs_wal_with_a_busy_timeout_and_foreign_keys(sqlite_app: Flask) -> None:
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_second_sqlite_writer_waits_instead_of_failing(sqlite_app: Flask) -> None:
    """A read-then-write transaction started while another holds the write lock must wait.

    Without BEGIN IMMEDIATE (``write_lock()``) the second transaction reads first and then
    fails at its write with "database is locked", whatever the busy timeout.
    """
    clinic_id = store.create_clinic("north", "North Spine Clinic").id
    db.session.execute(insert(SheetResult), [EMPTY_RESULT])
    db.session.commit()  # this thread's session must not hold the lock itself
    engine = db.engine
    first_has_lock = threading.Event()
    errors: list[BaseException] = []

    def insert_row(key: str) -> dict[str, Any]:
        return {
            "clinic_id": clinic_id,
            "reference": key[:11],
            "idempotency_key": key,
            "patient_name": "Writer",
            "patient_name_search": "writer",
            "answers": {},
            "result_sha256": EMPTY_RESULT["sha256"],
            "flag_urgent": False,
            "flag_blood_thinners": False,
            "flag_diabetes": False,
            "flag_infection": False,
            "flag_allergies": False,
            "created_at": datetime.now(UTC),
        }

    def first() -> None:
        with engine.begin() as connection:
            connection.execute(insert(Submission), [insert_row("AAA-AAA-AAA-first")])
            first_has_lock.set()
            threading.Event().wait(0.5)

    def second() -> None:
        first_has_lock.wait(5)
        try:
            with write_lock(), engine.begin() as connection:
                connection.execute(select(func.count()).select_from(Submission)).scalar()
                connection.execute(insert(Submission), [insert_row("BBB-BBB-BBB-second")])
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 2


# --- references ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("k7m-4px-9qd", "K7M-4PX-9QD"),
        (" K7M 4PX 9QD ", "K7M-4PX-9QD"),
        ("k7m4px9qd", "K7M-4PX-9QD"),
        ("K7M-4PX-9Q0", None),  # 0 is not in the alphabet
        ("K7M-4PX", None),
        ("Ada", None),
    ],
)
def test_typed_references_are_normalised(typed: str, stored: str | None) -> None:
    assert reference.parse_reference(typed) == stored


def test_new_references_draw_every_position_from_the_whole_alphabet() -> None:
    codes = [reference.new_reference() for _ in range(2000)]
    assert all(reference.parse_reference(code) == code for code in codes)
    canonical = [code.replace("-", "") for code in codes]
    for position in range(reference.LENGTH):
        # A character missing by chance: 30 * (29/30)**2000, about 1e-28.
        assert {code[position] for code in canonical} == set(reference.ALPHABET), position
    assert reference.spell_reference("K7M-4PX-9QD") == "K 7 M, 4 P X, 9 Q D"


def test_dates_of_birth_round_trip(two_clinics: tuple[Clinic, Clinic], submit: Any) -> None:
    submission = submit(two_clinics[0])
    db.session.expire_all()
    again = store.get_submission(two_clinics[0].id, submission.id)
    assert again is not None
    assert again.date_of_birth == date(1960, 3, 27)
    assert again.answers["allergies"] == ["none"]


# --- every dashboard query uses an index -----------------------------------------------------

PLAN_ROWS = 3000
PLAN_FILTERS: dict[str, dict[str, Any]] = {
    "list": {},
    "urgent": {"urgent": True},
    "blood_thinners": {"blood_thinners": True},
    "diabetes": {"diabetes": True},
    "infection": {"infection": True},
    "allergies": {"allergies": True},
    "unreviewed": {"unreviewed": True},
    "dates": {"date_from": NOW.date() - timedelta(days=7), "date_to": NOW.date()},
    "name": {"q": "pat"},
    "reference": {"q": "k7m 4px 9qd"},
    "combined": {"urgent": True, "unreviewed": True, "q": "pat"},
}


def fill_for_plans(clinics: tuple[Clinic, Clinic]) -> None:
    rows = []
    for i in range(PLAN_ROWS):
        rows.append(
            {
                "clinic_id": clinics[i % 2].id,
                "reference": f"REF{i:08d}",
                "idempotency_key": f"key-{i}",
                "patient_name": f"Patient {i}",
                "patient_name_search": f"{('pat', 'ada', 'bob')[i % 3]}ient {i}",
                "answers": {},
                "result_sha256": EMPTY_RESULT["sha256"],
                "flag_urgent": i % 20 == 0,
                "flag_blood_thinners": i % 5 == 0,
                "flag_diabetes": i % 6 == 0,
                "flag_infection": i % 9 == 0,
                "flag_allergies": i % 4 == 0,
                "created_at": NOW - timedelta(minutes=i),
                "reviewed_at": None if i % 3 else NOW,
            }
        )
    db.session.execute(insert(SheetResult), [EMPTY_RESULT])
    db.session.execute(insert(Submission), rows)
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def plan_of(query: Any) -> list[str]:
    sql = str(query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    if db.engine.dialect.name == "sqlite":
        rows = db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
        lines = [str(row[3]) for row in rows]
    else:
        # Disabling sequential scans shows whether an index can serve the query at all.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        lines = [str(line) for line in db.session.execute(text(f"EXPLAIN {sql}")).scalars()]
    db.session.rollback()
    return lines


def full_scans(lines: list[str]) -> list[str]:
    return [
        line
        for line in lines
        if line.startswith("SCAN submissions") or "Seq Scan on submissions" in line
    ]


def test_every_list_filter_and_search_uses_an_index(two_clinics: tuple[Clinic, Clinic]) -> None:
    fill_for_plans(two_clinics)
    clinic_id = two_clinics[0].id
    cursor = (NOW - timedelta(minutes=1500), 1500)
    scans: dict[str, list[str]] = {}
    for name, fields in PLAN_FILTERS.items():
        filters = store.SubmissionFilters(**fields)
        queries = {
            "first page": store.submissions_query(clinic_id, filters),
            "later page": store.submissions_query(clinic_id, filters, after=cursor),
            "count": store.count_query(clinic_id, filters),
            "count up to a limit": store.count_query(clinic_id, filters, at_most=10_000),
        }
        for kind, query in queries.items():
            lines = plan_of(query)
            assert lines, "no plan"
            if full_scans(lines):
                scans[f"{name}, {kind}"] = lines
    assert scans == {}


def test_the_plan_check_sees_a_full_scan(two_clinics: tuple[Clinic, Clinic]) -> None:
    """Without the clinic condition no index fits: the check above would catch that."""
    fill_for_plans(two_clinics)
    query = select(Submission).where(Submission.review_note == "x")
    assert full_scans(plan_of(query)) != []


def test_lists_leave_the_answers_unread_unless_asked(
    two_clinics: tuple[Clinic, Clinic], submit: Any
) -> None:
    north, _ = two_clinics
    submit(north, allergies=["latex"])
    db.session.expire_all()
    [light] = store.list_submissions(north.id).items
    assert {"answers", "sheet_result"} <= inspect(light).unloaded
    assert light.answers["allergies"] == ["latex"]  # still there when read
    assert light.result["urgent"] is False  # and the result, read when first used
    db.session.expire_all()
    [full] = store.list_submissions(north.id, with_answers=True).items
    assert "answers" not in inspect(full).unloaded
