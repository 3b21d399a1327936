"""CSV and JSON exports of a clinic's submissions (column names are documented in
docs/exports.md and are part of the contract with the clinic's records system).

Answers come out as choice ids, with one column per question of the current definition.
A question that the patient's own answers hide is written empty, never with a value.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from questionnaire.clinic.models import FLAG_NAMES, Submission, SubmissionReview

FIXED_COLUMNS = (
    "reference",
    "created_at",
    "patient_name",
    "date_of_birth",
    "appointment_date",
    # Prefixed: the safety questions' own answers have columns named blood_thinners etc.
    *(f"flag_{name}" for name in FLAG_NAMES),
    "reviewed_at",
    "reviewed_by",
    "ruleset_version",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ANY_OF_SEPARATOR = ";"


def csv_columns(ruleset: Any) -> list[str]:
    reserved = set(FIXED_COLUMNS)
    questions = [q.id for q in ruleset.questions]
    clash = reserved.intersection(questions)
    if clash:
        raise ValueError(f"question ids {sorted(clash)} clash with the fixed export columns")
    return [*FIXED_COLUMNS, *questions]


def guard_cell(value: str) -> str:
    """Make a cell inert in spreadsheets: a leading formula character gets a quote before it."""
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def iso_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_date(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def visible_answers(ruleset: Any, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to questions of the definition that these answers show, in its order."""
    return {
        q.id: answers[q.id]
        for q in ruleset.questions
        if q.id in answers and ruleset.is_visible(q, answers)
    }


def _answer_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ANY_OF_SEPARATOR.join(str(item) for item in value)
    return str(value)


def csv_row(ruleset: Any, submission: Submission, reviewers: Mapping[int, str]) -> list[str]:
    shown = visible_answers(ruleset, submission.answers or {})
    flags = submission.flags
    cells = [
        submission.reference,
        iso_datetime(submission.created_at),
        submission.patient_name,
        iso_date(submission.date_of_birth),
        iso_date(submission.appointment_date),
        *("true" if flags[name] else "false" for name in FLAG_NAMES),
        iso_datetime(submission.reviewed_at),
        _reviewer(submission, reviewers),
        submission.ruleset_version or "",
    ]
    cells.extend(_answer_cell(shown.get(q.id)) for q in ruleset.questions)
    return [guard_cell(cell) for cell in cells]


def _reviewer(submission: Submission, reviewers: Mapping[int, str]) -> str:
    return _name(submission.reviewed_by_id, reviewers) or ""


def _name(user_id: int | None, reviewers: Mapping[int, str]) -> str | None:
    if user_id is None:
        return None
    return reviewers.get(user_id, f"staff #{user_id}")


def csv_chunks(
    ruleset: Any, batches: Iterable[list[Submission]], reviewers: Mapping[int, str]
) -> Iterator[str]:
    """The CSV text, a header line and then one chunk per batch of submissions."""
    # Checked before the first byte goes out: a clash must be an error, not a broken file.
    header = csv_columns(ruleset)
    return _csv_lines(ruleset, header, batches, reviewers)


def _csv_lines(
    ruleset: Any,
    header: list[str],
    batches: Iterable[list[Submission]],
    reviewers: Mapping[int, str],
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield _drain(buffer)
    for batch in batches:
        for submission in batch:
            writer.writerow(csv_row(ruleset, submission, reviewers))
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def json_record(
    ruleset: Any,
    submission: Submission,
    reviewers: Mapping[int, str],
    reviews: Sequence[SubmissionReview] = (),
) -> dict[str, Any]:
    """One submission; ``reviews`` is its review history, oldest first (the ``reviewed_*``
    fields are the latest of them)."""
    return {
        "id": submission.id,
        "reference": submission.reference,
        "created_at": iso_datetime(submission.created_at),
        "patient_name": submission.patient_name,
        "date_of_birth": iso_date(submission.date_of_birth) or None,
        "appointment_date": iso_date(submission.appointment_date) or None,
        "flags": submission.flags,
        "reviewed_at": iso_datetime(submission.reviewed_at) or None,
        "reviewed_by": _reviewer(submission, reviewers) or None,
        "review_note": submission.review_note,
        "reviews": [
            {
                "reviewed_at": iso_datetime(review.reviewed_at),
                "reviewed_by": _name(review.reviewed_by_id, reviewers),
                "note": review.note,
            }
            for review in reviews
        ],
        "ruleset": {
            "version": submission.ruleset_version,
            "sha256": submission.ruleset_sha256,
        },
        "answers": visible_answers(ruleset, submission.answers or {}),
        "result": submission.result,
    }


ReviewedBatch = tuple[list[Submission], Mapping[int, Sequence[SubmissionReview]]]


def json_chunks(
    ruleset: Any,
    batches: Iterable[ReviewedBatch],
    reviewers: Mapping[int, str],
    *,
    exported_at: datetime,
) -> Iterator[str]:
    """One JSON document, written a batch at a time so a large export is never all in memory.
    Each batch comes with its submissions' reviews, by submission id."""
    head = {
        "exported_at": iso_datetime(exported_at),
        "ruleset": {"version": ruleset.version, "sha256": ruleset.sha256},
    }
    # The head's closing brace is replaced by the opening of the submissions list.
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "submissions": ['
    first = True
    for batch, reviews in batches:
        parts = [
            json.dumps(
                json_record(ruleset, s, reviewers, reviews.get(s.id, ())), ensure_ascii=False
            )
            for s in batch
        ]
        if not parts:
            continue
        yield ("" if first else ", ") + ", ".join(parts)
        first = False
    yield "]}"
