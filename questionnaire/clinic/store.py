"""Reads and writes of clinic data. Every query about patients is scoped by ``clinic_id``.

Functions that change data commit their own transaction (``writing()``), together with the
audit row that records the change, so a caller never leaves half a change behind; called
inside a caller's ``writing()`` block, they join it instead. Read functions return
ORM objects; the dashboard pages newest-first with a ``(created_at, id)`` keyset cursor,
which stays fast on any page because each filter has an index in that order.
"""

from __future__ import annotations

import hashlib
import re
import typing
import unicodedata
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    String,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from questionnaire.clinic.audit import audit_values, write_audit
from questionnaire.clinic.jsontext import JSONText, dumps
from questionnaire.clinic.models import (
    ROLES,
    AuditEvent,
    Clinic,
    SheetResult,
    StaffSession,
    StaffUser,
    Submission,
    SubmissionReview,
    utcnow,
)
from questionnaire.clinic.plaintext import has_hidden_characters
from questionnaire.clinic.reference import new_reference, parse_reference
from questionnaire.clinic.transactions import end_reading, in_unit_of_work, write_lock, writing
from questionnaire.extensions import db

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
REVIEW_NOTE_MAX = 2000
REFERENCE_ATTEMPTS = 8

# Answer ids from the answer contract (PRODUCT.md) and rules/questionnaire.yaml.
SAFETY_FIELDS = ("blood_thinners", "diabetes", "infection")
ALLERGY_FIELD = "allergies"
# "Not sure" gets the same care as "yes" on every safety topic.
NEEDS_CARE = frozenset({"yes", "not_sure"})

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
VISIBLE_ONLY = "use letters, digits, spaces and punctuation, with no control or format characters"
# Sorts after every character a name can hold, so [prefix, prefix + _TOP) is a prefix range.
_TOP = "\U0010ffff"
_INSERT_AUDIT = insert(AuditEvent.__table__)
# A result already stored (by another submission, or another process) is left as it is.
_INSERT_RESULT = {
    "sqlite": sqlite.insert(SheetResult.__table__).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(SheetResult.__table__).on_conflict_do_nothing(),
}
# The keys of the results this process has seen stored, per database engine: a send with one
# of them stores only its submission. Past the bound a set starts again from empty.
_stored_results: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()
STORED_RESULTS_SIZE = 4096
_INSERT_SUBMISSION = insert(Submission.__table__).returning(Submission.__table__.c.id)
# Set when a submission is reviewed, never when it is stored.
_REVIEW_COLUMNS = frozenset({"reviewed_at", "reviewed_by_id", "review_note"})


def _insert_with_audit() -> Insert:
    """One statement that inserts a submission and its ``submission_create`` audit row, for
    PostgreSQL (a data-modifying WITH): ``RETURNING`` gives the submission's id, as text."""
    submissions = Submission.__table__
    audit = AuditEvent.__table__
    stored = (
        insert(submissions)
        .values(
            {
                column.name: bindparam(column.name)
                for column in submissions.columns
                if not column.primary_key and column.name not in _REVIEW_COLUMNS
            }
        )
        .returning(submissions.c.id, submissions.c.clinic_id, submissions.c.created_at)
        .cte("new_submission")
    )
    audit_row = select(
        stored.c.created_at,
        stored.c.clinic_id,
        literal("submission_create", String),
        cast(stored.c.id, String),
    )
    return (
        insert(audit)
        .from_select(["at", "clinic_id", "action", "record_id"], audit_row)
        .returning(audit.c.record_id)
    )


_INSERT_WITH_AUDIT = _insert_with_audit()


class StoreError(ValueError):
    """A write was refused; the message names what was wrong and what is allowed."""


class EmailInUse(StoreError):
    """A new staff account's email address belongs to an account already, in any clinic."""


# --- clinics -------------------------------------------------------------------------------


def create_clinic(slug: str, name: str) -> Clinic:
    """Create a clinic. ``slug`` is 1-64 of a-z, 0-9 and inner dashes; ``name`` 1-200 chars."""
    if not _SLUG.fullmatch(slug):
        raise StoreError(
            f"clinic slug {slug!r} is not allowed: use 1-64 lower-case letters, digits and "
            "dashes, starting and ending with a letter or digit"
        )
    name = " ".join(name.split())
    if not 1 <= len(name) <= 200:
        raise StoreError("clinic name must be 1-200 characters")
    if has_hidden_characters(name):
        raise StoreError(f"clinic name {name!r} is not allowed: {VISIBLE_ONLY}")
    clinic = Clinic(slug=slug, name=name, created_at=utcnow())
    try:
        with writing():
            db.session.add(clinic)
            db.session.flush()
    except IntegrityError:
        raise StoreError(f"a clinic with slug {slug!r} already exists") from None
    return clinic


def get_clinic_by_slug(slug: str) -> Clinic | None:
    return db.session.scalar(select(Clinic).where(Clinic.slug == slug))


def get_clinic(clinic_id: int) -> Clinic | None:
    return db.session.get(Clinic, clinic_id)


# --- staff users ---------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_staff_user(
    clinic_id: int,
    email: str,
    display_name: str,
    role: str,
    password_hash: str,
    *,
    must_change_password: bool = False,
) -> StaffUser:
    """Create a staff account in a clinic; ``password_hash`` is already argon2id-hashed.

    The email is stored lower-case and must be unused across all clinics; ``role`` is
    ``staff`` or ``admin``. With ``must_change_password`` (a password someone else chose),
    the person chooses their own at their first sign-in. Writes an ``account_create`` audit
    row.
    """
    email = normalise_email(email)
    if len(email) > 254 or not _EMAIL.fullmatch(email) or has_hidden_characters(email):
        raise StoreError(f"email {email!r} is not allowed: use an address like name@example.org")
    if role not in ROLES:
        raise StoreError(f"role {role!r} is not allowed: use one of {', '.join(ROLES)}")
    display_name = " ".join(display_name.split())
    if not 1 <= len(display_name) <= 200:
        raise StoreError("display name must be 1-200 characters")
    if has_hidden_characters(display_name):
        raise StoreError(f"display name {display_name!r} is not allowed: {VISIBLE_ONLY}")
    with writing():
        if get_clinic(clinic_id) is None:
            raise StoreError(f"there is no clinic with id {clinic_id}")
        user = StaffUser(
            clinic_id=clinic_id,
            email=email,
            display_name=display_name,
            role=role,
            password_hash=password_hash,
            password_must_change=must_change_password,
            failed_logins=0,
            created_at=utcnow(),
        )
        db.session.add(user)
        try:
            db.session.flush()
        except IntegrityError:
            raise EmailInUse(f"a staff account with email {email!r} already exists") from None
        write_audit("account_create", clinic_id=clinic_id, record_id=user.id, detail=f"role={role}")
    return user


def find_staff_user_by_email(email: str) -> StaffUser | None:
    """The account with this email in any clinic: the one lookup that cannot be scoped,
    because signing in and the operator's commands start from an email alone."""
    return db.session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))


def reset_sign_in(user: StaffUser, password_hash: str, *, by_user_id: int | None) -> str:
    """Give ``user`` a first password (``password_hash``) that they replace at their next
    sign-in, after setting up a new sign-in code; lift a lockout, end every session, and turn
    the account back on if it was off. Never back on with its old password or code, which may
    be why it was turned off.

    By an administrator (``by_user_id``) or by the operator's ``enable-user`` (None). Writes
    a ``staff_enable`` audit row for an account that was off, else ``staff_reset``; returns
    that action.
    """
    action = "staff_reset" if user.disabled_at is None else "staff_enable"
    with writing():
        user.disabled_at = None
        user.password_hash = password_hash
        user.password_must_change = True
        user.totp_secret = None
        user.drop_new_phone()
        user.totp_confirmed_at = None
        user.totp_last_step = None
        user.failed_logins = 0
        user.locked_until = None
        ended = end_staff_sessions(user.id)
        write_audit(
            action,
            user_id=by_user_id,
            clinic_id=user.clinic_id,
            record_id=user.id,
            detail=f"sessions ended={ended}"
            if by_user_id
            else f"operator command; sessions ended={ended}",
        )
    return action


def get_staff_user(clinic_id: int, user_id: int) -> StaffUser | None:
    return db.session.scalar(
        select(StaffUser).where(StaffUser.clinic_id == clinic_id, StaffUser.id == user_id)
    )


def list_staff_users(clinic_id: int) -> list[StaffUser]:
    """The clinic's staff accounts, by email."""
    return list(
        db.session.scalars(
            select(StaffUser).where(StaffUser.clinic_id == clinic_id).order_by(StaffUser.email)
        )
    )


def active_staff_sessions(user_id: int) -> list[StaffSession]:
    """The account's sessions that have not been ended, newest first. (One past its time
    limits is ended when its cookie is next used; the caller leaves those out.)"""
    return list(
        db.session.scalars(
            select(StaffSession)
            .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
            .order_by(StaffSession.created_at.desc(), StaffSession.id)
        )
    )


# The audit actions a person sees as their own sign-in activity (see sign_in_activity).
SIGN_IN_ACTIONS = (
    "login_success",
    "login_failure",
    "logout",
    "session_expired",
    "totp_confirmed",
    "password_change",
    "sessions_end",
    "password_confirmed",
    "totp_changed",
)


def sign_in_activity(
    clinic_id: int, user_id: int, *, since: datetime, limit: int
) -> list[AuditEvent]:
    """The account's sign-in events since ``since``, newest first, with any reset of it by
    an administrator: what its owner needs to notice someone else trying their account."""
    mine = and_(AuditEvent.user_id == user_id, AuditEvent.action.in_(SIGN_IN_ACTIONS))
    reset = and_(AuditEvent.action == "staff_reset", AuditEvent.record_id == str(user_id))
    return list(
        db.session.scalars(
            select(AuditEvent)
            # The clinic's index on (clinic_id, at) bounds the rows read to its recent ones.
            .where(AuditEvent.clinic_id == clinic_id, AuditEvent.at >= since, or_(mine, reset))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )


def mark_staff_session(session_id: str, **values: Any) -> None:
    """Set columns of one staff session (``ended_at``, ``confirmed_at``), by its id: the
    sha256 of its token. Joins the caller's ``writing()``."""
    db.session.execute(update(StaffSession).where(StaffSession.id == session_id).values(**values))


def end_staff_sessions(user_id: int, *, keep: str | None = None) -> int:
    """End the account's sessions, all of them or all but the one with id ``keep``; every
    copy of their cookies stops working at once. Gives how many ended. Joins the caller's
    ``writing()``."""
    conditions = [StaffSession.user_id == user_id, StaffSession.ended_at.is_(None)]
    if keep is not None:
        conditions.append(StaffSession.id != keep)
    result = db.session.execute(
        update(StaffSession).where(*conditions).values(ended_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return typing.cast(CursorResult[Any], result).rowcount


# --- submissions: writing ------------------------------------------------------------------


def name_search_key(name: str) -> str:
    """How a name is stored for search: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def compute_flags(answers: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, bool]:
    """The five dashboard flags from validated answers and the evaluation result."""
    flags = {"urgent": bool(result.get("urgent"))}
    for field in SAFETY_FIELDS:
        flags[field] = answers.get(field) in NEEDS_CARE
    allergies = answers.get(ALLERGY_FIELD) or []
    flags["allergies"] = bool(allergies) and list(allergies) != ["none"]
    return flags


@dataclass(frozen=True)
class NewSubmission:
    """What the send form collects, with the validated answers and their result."""

    clinic_id: int
    idempotency_key: str
    patient_name: str
    date_of_birth: date
    appointment_date: date
    answers: dict[str, Any]
    result: dict[str, Any]
    ruleset_version: str
    ruleset_sha256: str
    # ``result`` as JSON text, when the caller has it already: stored as it is.
    result_json: str | None = None


@dataclass(frozen=True)
class StoredSubmission:
    """What storing a submission gives back: its id, and the reference code the patient is
    shown. ``get_submission(clinic_id, id)`` reads the rest."""

    id: int
    reference: str


def create_submission(new: NewSubmission) -> tuple[StoredSubmission, bool]:
    """Store a submission once per ``(clinic_id, idempotency_key)``.

    Returns ``(stored, created)``: when the key was already used (a double click, a refresh,
    a retry after an error) the existing submission comes back with ``created=False`` and
    nothing new is written. The reference code is random and checked unique. Writes a
    ``submission_create`` audit row (no patient data) in the same commit. The result is
    stored once for every submission that shares it (``SheetResult``), in that commit too
    when it is new.
    """
    flags = compute_flags(new.answers, new.result)
    result_text = dumps(new.result) if new.result_json is None else new.result_json
    result_key = hashlib.sha256(result_text.encode("utf-8")).hexdigest()
    result_row = {"sha256": result_key, "result": JSONText(result_text)}
    values = {
        "clinic_id": new.clinic_id,
        "idempotency_key": new.idempotency_key,
        "patient_name": new.patient_name,
        "patient_name_search": name_search_key(new.patient_name),
        "date_of_birth": new.date_of_birth,
        "appointment_date": new.appointment_date,
        "answers": new.answers,
        "result_sha256": result_key,
        "ruleset_version": new.ruleset_version,
        "ruleset_sha256": new.ruleset_sha256,
        "created_at": utcnow(),
        **{f"flag_{name}": value for name, value in flags.items()},
    }
    known = _stored_results.setdefault(db.engine, set())
    for _attempt in range(REFERENCE_ATTEMPTS):
        reference = new_reference()
        row = {**values, "reference": reference}
        try:
            submission_id = _write_submission(row, None if result_key in known else result_row)
        except IntegrityError:
            # Either this key was used before (or by a request that won the race), or the
            # random reference is taken; the first returns that submission, the second retries.
            # Or the result this process saw stored is gone (a purge deleted it as unused, or
            # the database was replaced): the retry stores it again.
            known.discard(result_key)
            existing = _by_idempotency_key(new.clinic_id, new.idempotency_key)
            if existing is not None:
                return existing, False
            continue
        if len(known) >= STORED_RESULTS_SIZE:
            known.clear()
        known.add(result_key)
        return StoredSubmission(submission_id, reference), True
    raise StoreError("could not find an unused reference code; try again")


def _write_submission(row: dict[str, Any], result_row: dict[str, Any] | None) -> int:
    """Insert ``row`` and its audit row, committed together; returns the submission's id.
    ``result_row`` is its result, to store first unless it is there already; None when this
    process has seen it stored.

    Plain INSERTs, the submission's also checking the key: a used key, like a taken
    reference, fails a unique constraint. Every send runs this while other writers wait, so
    it runs past the ORM, whose unit of work would take as long again. On its own it has a
    connection of its own, past the session's too; inside a caller's ``writing()`` block it
    joins the caller's transaction with a savepoint, so that a failed insert leaves the
    caller's work intact.
    """
    if in_unit_of_work():
        connection = db.session.connection()
        with connection.begin_nested():
            return _insert_rows(connection, row, result_row)
    end_reading()
    if db.engine.dialect.name == "postgresql":
        # There the two rows are one statement, which is atomic on its own: run without
        # BEGIN and COMMIT, it is one round trip to the server instead of four. A new result
        # goes first, in a statement of its own: kept even if the submission then fails, it
        # is the same for whoever sends it next, and the purge deletes it if no one does.
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            return _insert_rows(connection, row, result_row)
    with write_lock(), db.engine.begin() as connection:
        return _insert_rows(connection, row, result_row)


def _insert_rows(
    connection: Connection, row: dict[str, Any], result_row: dict[str, Any] | None
) -> int:
    if result_row is not None:
        connection.execute(_INSERT_RESULT[connection.dialect.name], result_row)
    if connection.dialect.name == "postgresql":
        return int(connection.execute(_INSERT_WITH_AUDIT, row).scalar_one())
    # SQLite has no INSERT inside WITH: two statements, in the caller's transaction.
    submission_id = int(connection.execute(_INSERT_SUBMISSION, row).scalar_one())
    connection.execute(
        _INSERT_AUDIT,
        audit_values("submission_create", clinic_id=row["clinic_id"], record_id=submission_id),
    )
    return submission_id


def _by_idempotency_key(clinic_id: int, key: str) -> StoredSubmission | None:
    found = db.session.execute(
        select(Submission.id, Submission.reference).where(
            Submission.clinic_id == clinic_id, Submission.idempotency_key == key
        )
    ).one_or_none()
    return None if found is None else StoredSubmission(found.id, found.reference)


def mark_reviewed(
    clinic_id: int, submission_id: int, user_id: int, note: str | None = None
) -> Submission | None:
    """Mark a submission reviewed by ``user_id`` now, with an optional note (at most 2,000
    characters; blank means none). None when the clinic has no such submission.

    The submission's ``reviewed_*`` columns become this review, and the review is added to
    its history (``submission_reviews``, append-only), so a review again keeps the earlier
    ones. Writes a ``review`` audit row; the note itself is not copied into the audit log.
    All three are committed together.
    """
    if note is not None:
        note = note.strip() or None
    if note is not None and len(note) > REVIEW_NOTE_MAX:
        raise StoreError(f"the review note has {len(note)} characters; at most {REVIEW_NOTE_MAX}")
    with writing():
        submission = get_submission(clinic_id, submission_id)
        if submission is None:
            return None
        now = utcnow()
        submission.reviewed_at = now
        submission.reviewed_by_id = user_id
        submission.review_note = note
        # The submission's row first: its row lock puts concurrent reviews of it in order,
        # so the newest history row (the highest id) is the review the submission keeps.
        db.session.flush()
        db.session.add(
            SubmissionReview(
                submission_id=submission.id,
                clinic_id=submission.clinic_id,
                reviewed_by_id=user_id,
                reviewed_at=now,
                note=note,
            )
        )
        write_audit("review", user_id=user_id, clinic_id=clinic_id, record_id=submission.id)
    return submission


def purge_older_than(days: int, *, now: datetime | None = None) -> int:
    """Delete every clinic's submissions created more than ``days`` days ago (retention).

    Their reviews (``submission_reviews``) go with them, by the foreign key's ON DELETE
    CASCADE: the only way that table's triggers let a review be deleted. Returns how many
    submissions were deleted; writes one ``purge`` audit row per clinic affected.
    The audit log itself is never purged.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise StoreError(f"days must be a whole number of 1 or more, not {days!r}")
    cutoff = (now or utcnow()) - timedelta(days=days)
    total = 0
    with writing():
        counts = db.session.execute(
            select(Submission.clinic_id, func.count())
            .where(Submission.created_at < cutoff)
            .group_by(Submission.clinic_id)
        ).all()
        for clinic_id, count in counts:
            db.session.execute(
                delete(Submission).where(
                    Submission.clinic_id == clinic_id, Submission.created_at < cutoff
                )
            )
            write_audit(
                "purge",
                clinic_id=clinic_id,
                detail=f"deleted {count} submissions older than {days} days",
            )
            total += count
        _delete_unused_results()
    return total


def _delete_unused_results() -> None:
    """Delete the stored results that no submission refers to any more. One that a send
    refers to at this very moment stays (its foreign key refuses the deletion): the next purge
    deletes it if it is still unused."""
    results = SheetResult.__table__
    used = exists().where(Submission.__table__.c.result_sha256 == results.c.sha256)
    try:
        with db.session.begin_nested():
            db.session.execute(delete(results).where(~used))
    except IntegrityError:
        pass


# --- submissions: reading ------------------------------------------------------------------


def reviews_of(clinic_id: int, submission_ids: Iterable[int]) -> dict[int, list[SubmissionReview]]:
    """Every review of these submissions of the clinic, oldest first, by submission id (one
    query; an export asks for a batch's reviews at once)."""
    found: dict[int, list[SubmissionReview]] = {}
    ids = list(submission_ids)
    if not ids:
        return found
    rows = db.session.scalars(
        select(SubmissionReview)
        .where(SubmissionReview.clinic_id == clinic_id, SubmissionReview.submission_id.in_(ids))
        .order_by(SubmissionReview.submission_id, SubmissionReview.id)
    )
    for review in rows:
        found.setdefault(review.submission_id, []).append(review)
    return found


def get_submission(clinic_id: int, submission_id: int) -> Submission | None:
    """The submission with this id, only if it belongs to ``clinic_id``."""
    return db.session.scalar(
        select(Submission).where(Submission.clinic_id == clinic_id, Submission.id == submission_id)
    )


def get_submission_by_reference(clinic_id: int, reference: str) -> Submission | None:
    """The clinic's submission with this reference, typed in any case and spacing."""
    canonical = parse_reference(reference)
    if canonical is None:
        return None
    return db.session.scalar(
        select(Submission).where(
            Submission.clinic_id == clinic_id, Submission.reference == canonical
        )
    )


class SubmissionFilters(BaseModel):
    """The dashboard's filters; every one that is set must hold.

    The flags select submissions with that flag; ``unreviewed`` those nobody has reviewed;
    ``date_from`` and ``date_to`` are inclusive days (UTC) of ``created_at``; ``q`` is a
    reference code (any case, spaces or dashes) or the start of the patient's name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    urgent: bool = False
    blood_thinners: bool = False
    diabetes: bool = False
    infection: bool = False
    allergies: bool = False
    unreviewed: bool = False
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = Field(default=None, max_length=200)


Cursor = tuple[datetime, int]


@dataclass(frozen=True)
class SubmissionPage:
    items: list[Submission]
    # Pass as ``after`` for the next (older) page; None on the last page.
    next_after: Cursor | None


def list_submissions(
    clinic_id: int,
    filters: SubmissionFilters | None = None,
    after: Cursor | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    *,
    with_answers: bool = False,
) -> SubmissionPage:
    """One page of the clinic's submissions, newest first.

    ``after`` is the ``next_after`` of the previous page (``(created_at, id)`` of its last
    row); ``limit`` is 1-200. ``answers`` is left out and read with one more query when
    first used, unless ``with_answers`` loads it with the page: pass it when every row's
    answers are needed, as in an export. A row's ``result`` is read when first used, once
    per distinct result in the session.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise StoreError(f"limit must be 1-{MAX_PAGE_SIZE}, not {limit}")
    query = submissions_query(clinic_id, filters, after, limit + 1)
    if not with_answers:
        query = query.options(defer(Submission.answers))
    rows = list(db.session.scalars(query))
    if len(rows) <= limit:
        return SubmissionPage(rows, None)
    rows = rows[:limit]
    return SubmissionPage(rows, (rows[-1].created_at, rows[-1].id))


def submissions_query(
    clinic_id: int,
    filters: SubmissionFilters | None = None,
    after: Cursor | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> Select[Any]:
    """The SELECT behind ``list_submissions`` (its plan is checked against the indexes)."""
    filters = filters or SubmissionFilters()
    conditions = submission_conditions(clinic_id, filters, after)
    newest_first = (Submission.created_at.desc(), Submission.id.desc())
    if not _searching(filters):
        return select(Submission).where(*conditions).order_by(*newest_first).limit(limit)
    # A name prefix can match thousands of rows in name order. Sorting only their keys, read
    # from the covering name index, and then fetching one page of rows keeps that cheap.
    page_ids = (
        select(Submission.id).where(*conditions).order_by(*newest_first).limit(limit)
    ).scalar_subquery()
    return (
        select(Submission)
        .where(Submission.clinic_id == clinic_id, Submission.id.in_(page_ids))
        .order_by(*newest_first)
    )


def count_submissions(
    clinic_id: int, filters: SubmissionFilters | None = None, *, at_most: int | None = None
) -> int:
    """How many of the clinic's submissions match ``filters``.

    With ``at_most``, counting stops past that many: the answer is then ``at_most + 1``,
    meaning "more than ``at_most``". Counting every row is the costliest part of a list page
    (100,000 rows took 4-7 ms), and past a few thousand the exact number tells staff nothing.
    """
    if at_most is not None and at_most < 0:
        raise StoreError(f"at_most must be 0 or more, not {at_most}")
    return int(db.session.scalar(count_query(clinic_id, filters, at_most=at_most)) or 0)


def count_query(
    clinic_id: int, filters: SubmissionFilters | None = None, *, at_most: int | None = None
) -> Select[Any]:
    """The SELECT behind ``count_submissions``."""
    conditions = submission_conditions(clinic_id, filters or SubmissionFilters(), None)
    if at_most is None:
        return select(func.count()).select_from(Submission).where(*conditions)
    matching = select(Submission.id).where(*conditions).limit(at_most + 1).subquery()
    return select(func.count()).select_from(matching)


def submission_conditions(
    clinic_id: int, filters: SubmissionFilters, after: Cursor | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Submission.clinic_id == clinic_id]
    for flag in ("urgent", "blood_thinners", "diabetes", "infection", "allergies"):
        if getattr(filters, flag):
            conditions.append(getattr(Submission, f"flag_{flag}") == true())
    if filters.unreviewed:
        conditions.append(Submission.reviewed_at.is_(None))
    if filters.date_from is not None:
        conditions.append(Submission.created_at >= _start_of_day(filters.date_from))
    if filters.date_to is not None and filters.date_to < date.max:
        # The last day there is (9999-12-31) has no next day: it bounds nothing.
        conditions.append(Submission.created_at < _start_of_day(filters.date_to, days=1))
    if filters.q is not None and _searching(filters):
        conditions.append(_search(clinic_id, filters.q))
    if after is not None:
        # A row-value comparison is one index range on both databases; id breaks ties.
        conditions.append(tuple_(Submission.created_at, Submission.id) < tuple_(*after))
    return conditions


def _searching(filters: SubmissionFilters) -> bool:
    return bool(filters.q and filters.q.strip())


def _search(clinic_id: int, q: str) -> ColumnElement[bool]:
    prefix = name_search_key(q)
    by_name = and_(
        Submission.clinic_id == clinic_id,
        Submission.patient_name_search >= prefix,
        Submission.patient_name_search < prefix + _TOP,
    )
    reference = parse_reference(q)
    if reference is None:
        return by_name
    # A nine-letter name can also look like a code, so both are tried.
    by_reference = and_(Submission.clinic_id == clinic_id, Submission.reference == reference)
    return or_(by_reference, by_name)


def _start_of_day(day: date, *, days: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=days), time.min, tzinfo=UTC)
