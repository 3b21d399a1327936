"""The clinic's tables: clinics, staff, staff sessions, submissions and the audit log.

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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column
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
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
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
    )

    @property
    def flags(self) -> dict[str, bool]:
        """The five dashboard flags by name (``urgent``, ``blood_thinners``, ...)."""
        return {name: bool(getattr(self, f"flag_{name}")) for name in FLAG_NAMES}


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


attach_immutability_triggers(AuditEvent.__table__)
