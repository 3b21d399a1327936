"""The clinic's tables: clinics, staff, staff sessions, submissions, the results they were
shown, their reviews and the audit log.

Every datetime is stored and returned as UTC-aware through ``UTCDateTime``; SQLite keeps no
zone, so the conversion lives in that one type. Constraint and index names are explicit so
the Alembic migration and these models stay comparable on every database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from questionnaire.clinic.audit import attach_immutability_triggers
from questionnaire.extensions import db

ROLES = ("staff", "admin")
FLAG_NAMES = ("urgent", "blood_thinners", "diabetes", "infection", "allergies")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    Naive values are refused on the way in, because their zone is unknown; naive values read
    back from SQLite are UTC, since only UTC is ever written.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        # SQLite stores text without a zone; writing naive UTC keeps the text sortable.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Byte order on PostgreSQL makes the prefix search an exact index range on any server locale.
SearchText = String(200).with_variant(String(200, collation="C"), "postgresql")


class Clinic(db.Model):  # type: ignore[name-defined]
    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("slug", name="uq_clinics_slug"),)


class StaffUser(db.Model):  # type: ignore[name-defined]
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinics.id", name="fk_staff_users_clinic_id"), nullable=False
    )
    email: Mapped[str] = mapped_column(String(254), nullable=False)  # stored lower-case
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="staff")
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The time step (unix time // 30) of the last code accepted: each code works only once.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A secret for a new phone, between the person asking for it and confirming a code from
    # it (clinic/newphone.py), and the staff session that asked: only that session, within
    # 15 minutes, can confirm it. The codes of totp_secret work until then.
    totp_new_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_new_session: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Set when someone else chose the password (an administrator, an operator's command):
    # the person chooses their own at their next sign-in, before any clinic page opens.
    password_must_change: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def drop_new_phone(self) -> None:
        """Forget a new phone under way: its secret and the session that asked for it."""
        self.totp_new_secret = None
        self.totp_new_session = None

    __table_args__ = (
        UniqueConstraint("email", name="uq_staff_users_email"),
        CheckConstraint("role IN ('staff', 'admin')", name="ck_staff_users_role"),
        Index("ix_staff_users_clinic_id", "clinic_id"),
    )


class StaffSession(db.Model):  # type: ignore[name-defined]
    """A signed-in staff session; the cookie holds a random token, this row its sha256."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", name="fk_staff_sessions_user_id"), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the person last gave their password in this session (at sign-in, or again when
    # an administrator's action asked for it: clinic/confirm.py).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_staff_sessions_user_id", "user_id"),)


class SheetResult(db.Model):  # type: ignore[name-defined]
    """A result as a patient was shown it, stored once however many submissions share it.

    The result depends only on the answers that fire rules and on the rule set, so most
    patients' results are the same as someone else's, and each is about 17 kB. Its key is
    the SHA-256 of its JSON text, so a key always names the same result, in any database.
    Rows are never changed (a trigger refuses UPDATE); one that no submission refers to any
    more is deleted by retention's purge, and the foreign key refuses to delete any other.
    """

    __tablename__ = "sheet_results"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class Submission(db.Model):  # type: ignore[name-defined]
    """Answers a patient chose to send to a clinic, with the result they were shown."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinics.id", name="fk_submissions_clinic_id"), nullable=False
    )
    reference: Mapped[str] = mapped_column(String(16), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(64), nullable=False)
    patient_name: Mapped[str] = mapped_column(String(200), nullable=False)
    patient_name_search: Mapped[str] = mapped_column(SearchText, nullable=False)
    date_of_birth: Mapped[date | None] = mapped_column(Date, nullable=True)
    appointment_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    result_sha256: Mapped[str] = mapped_column(
        ForeignKey("sheet_results.sha256", name="fk_submissions_result_sha256"), nullable=False
    )
    ruleset_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ruleset_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    flag_urgent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    flag_blood_thinners: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    flag_diabetes: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    flag_infection: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    flag_allergies: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", name="fk_submissions_reviewed_by_id"), nullable=True
    )
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The three columns above are the latest review, which the list, its filters and the
    # exports use; every review, the latest included, is also kept in submission_reviews.
    # Read only when a page asks for it (the submission's page), newest first; view-only,
    # so the ORM never updates or deletes a review (the database refuses both anyway).
    reviews: Mapped[list[SubmissionReview]] = relationship(
        primaryjoin=lambda: and_(
            foreign(SubmissionReview.submission_id) == Submission.id,
            SubmissionReview.clinic_id == Submission.clinic_id,
        ),
        order_by=lambda: SubmissionReview.id.desc(),
        viewonly=True,
        lazy="select",
    )

    # The result the patient was shown, read when first used; submissions that share it
    # share one object in a session, so an export reads each distinct result once.
    sheet_result: Mapped[SheetResult] = relationship(lazy="select", viewonly=True)

    # The dashboard pages newest-first with a (created_at, id) cursor inside one clinic, so
    # every list and filter has an index that starts with clinic_id and ends in that order.
    __table_args__ = (
        UniqueConstraint("reference", name="uq_submissions_reference"),
        UniqueConstraint("clinic_id", "idempotency_key", name="uq_submissions_idempotency"),
        Index("ix_submissions_clinic_created", "clinic_id", "created_at", "id"),
        Index("ix_submissions_clinic_urgent", "clinic_id", "flag_urgent", "created_at", "id"),
        Index(
            "ix_submissions_clinic_blood_thinners",
            "clinic_id",
            "flag_blood_thinners",
            "created_at",
            "id",
        ),
        Index("ix_submissions_clinic_diabetes", "clinic_id", "flag_diabetes", "created_at", "id"),
        Index("ix_submissions_clinic_infection", "clinic_id", "flag_infection", "created_at", "id"),
        Index("ix_submissions_clinic_allergies", "clinic_id", "flag_allergies", "created_at", "id"),
        Index("ix_submissions_clinic_reviewed", "clinic_id", "reviewed_at", "created_at", "id"),
        # created_at and id make it covering, so a search sorts keys without reading rows.
        Index("ix_submissions_clinic_name", "clinic_id", "patient_name_search", "created_at", "id"),
        # For the purge, which deletes the results no submission refers to any more.
        Index("ix_submissions_result_sha256", "result_sha256"),
    )

    @property
    def result(self) -> dict[str, Any]:
        """The result the patient was shown (see ``SheetResult``)."""
        return self.sheet_result.result

    @property
    def flags(self) -> dict[str, bool]:
        """The five dashboard flags by name (``urgent``, ``blood_thinners``, ...)."""
        return {name: bool(getattr(self, f"flag_{name}")) for name in FLAG_NAMES}

    @property
    def earlier_reviews(self) -> list[SubmissionReview]:
        """The reviews before the latest one, newest first (one query, when first used).

        The latest review is the submission's own ``reviewed_*`` columns; its history row,
        the newest, is left out when it says the same, so that it is not shown twice.
        """
        reviews = list(self.reviews)
        if reviews and reviews[0].is_review_of(self):
            return reviews[1:]
        return reviews


class SubmissionReview(db.Model):  # type: ignore[name-defined]
    """One review of a submission: who, when, and their note, kept when it is reviewed again.

    Append-only: database triggers refuse UPDATE, and DELETE while the submission exists.
    Deleting the submission (retention's purge) removes its reviews with it, through the
    foreign key's ON DELETE CASCADE, which the trigger lets through because by then the
    submission is gone. The note can hold patient data, so this is no part of the audit log.
    """

    __tablename__ = "submission_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey(
            "submissions.id", name="fk_submission_reviews_submission_id", ondelete="CASCADE"
        ),
        nullable=False,
    )
    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinics.id", name="fk_submission_reviews_clinic_id"), nullable=False
    )
    # Null only for a review copied from before this table whose reviewer was not recorded.
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", name="fk_submission_reviews_reviewed_by_id"), nullable=True
    )
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    # The reviewer, only while they are staff of the review's clinic: None reads as "a former
    # staff member", as for the latest review (dashboard.py asks for the reviewer the same
    # way). Loaded with the review, in the same query.
    reviewer: Mapped[StaffUser | None] = relationship(
        primaryjoin=lambda: and_(
            foreign(SubmissionReview.reviewed_by_id) == StaffUser.id,
            SubmissionReview.clinic_id == StaffUser.clinic_id,
        ),
        viewonly=True,
        uselist=False,
        lazy="joined",
    )

    # Reviews are read by submission, newest (highest id) first; the purge's cascade finds a
    # submission's reviews through this index too.
    __table_args__ = (Index("ix_submission_reviews_submission_id", "submission_id", "id"),)

    def is_review_of(self, submission: Submission) -> bool:
        """True when this is the review ``submission`` holds as its latest."""
        return (
            self.submission_id == submission.id
            and self.reviewed_at == submission.reviewed_at
            and self.reviewed_by_id == submission.reviewed_by_id
            and self.note == submission.review_note
        )


# A review may be deleted only once its submission is gone: that is the ON DELETE CASCADE of
# a submission being deleted, which runs after the submission's row is removed (on SQLite as
# on PostgreSQL). The migration (0006) creates the same triggers from a copy of this SQL.
REVIEWS_SQLITE_TRIGGERS = (
    "CREATE TRIGGER submission_reviews_no_update BEFORE UPDATE ON submission_reviews "
    "BEGIN SELECT RAISE(ABORT, 'submission_reviews is append-only'); END",
    "CREATE TRIGGER submission_reviews_no_delete BEFORE DELETE ON submission_reviews "
    "WHEN EXISTS (SELECT 1 FROM submissions WHERE submissions.id = OLD.submission_id) "
    "BEGIN SELECT RAISE(ABORT, 'submission_reviews is append-only'); END",
)

REVIEWS_POSTGRESQL_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION submission_reviews_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'DELETE' THEN "
    "IF NOT EXISTS (SELECT 1 FROM submissions WHERE submissions.id = OLD.submission_id) THEN "
    "RETURN OLD; "
    "END IF; "
    "END IF; "
    "RAISE EXCEPTION 'submission_reviews is append-only' "
    "USING ERRCODE = 'insufficient_privilege'; "
    "END $$",
    "CREATE TRIGGER submission_reviews_no_update_delete "
    "BEFORE UPDATE OR DELETE ON submission_reviews "
    "FOR EACH ROW EXECUTE FUNCTION submission_reviews_append_only()",
    "CREATE TRIGGER submission_reviews_no_truncate BEFORE TRUNCATE ON submission_reviews "
    "FOR EACH STATEMENT EXECUTE FUNCTION submission_reviews_append_only()",
)

REVIEWS_POSTGRESQL_DROP = "DROP FUNCTION IF EXISTS submission_reviews_append_only()"


class AuditEvent(db.Model):  # type: ignore[name-defined]
    """One staff or system action. Append-only: database triggers refuse UPDATE and DELETE.

    ``detail`` never holds patient data; ``user_id`` and ``clinic_id`` carry no foreign key
    so the trail outlives the accounts it mentions.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    clinic_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    record_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (Index("ix_audit_log_clinic_at", "clinic_id", "at"),)


# A stored result may be deleted (once no submission refers to it), never changed. The
# migration (0007) creates the same triggers from a copy of this SQL.
RESULTS_SQLITE_TRIGGERS = (
    "CREATE TRIGGER sheet_results_no_update BEFORE UPDATE ON sheet_results "
    "BEGIN SELECT RAISE(ABORT, 'sheet_results are never changed'); END",
)
RESULTS_POSTGRESQL_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION sheet_results_unchanged() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION 'sheet_results are never changed' "
    "USING ERRCODE = 'insufficient_privilege'; "
    "END $$",
    "CREATE TRIGGER sheet_results_no_update BEFORE UPDATE ON sheet_results "
    "FOR EACH ROW EXECUTE FUNCTION sheet_results_unchanged()",
)
RESULTS_POSTGRESQL_DROP = "DROP FUNCTION IF EXISTS sheet_results_unchanged()"

attach_immutability_triggers(AuditEvent.__table__)
attach_immutability_triggers(
    SubmissionReview.__table__,
    REVIEWS_SQLITE_TRIGGERS,
    REVIEWS_POSTGRESQL_TRIGGERS,
    REVIEWS_POSTGRESQL_DROP,
)
attach_immutability_triggers(
    SheetResult.__table__,
    RESULTS_SQLITE_TRIGGERS,
    RESULTS_POSTGRESQL_TRIGGERS,
    RESULTS_POSTGRESQL_DROP,
)
