"""Dates and times as staff read them, on pages and in notices: the month in words, so day
and month cannot be confused, and times in UTC, said so."""

from __future__ import annotations

from datetime import UTC, date, datetime

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def clinic_date(value: date | None) -> str:
    """Like "3 Dec 2026"."""
    if value is None:
        return "Not given"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def clinic_datetime(value: datetime | None) -> str:
    """Like "3 Dec 2026, 09:30 UTC"."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return f"{clinic_date(value.date())}, {value:%H:%M} UTC"
