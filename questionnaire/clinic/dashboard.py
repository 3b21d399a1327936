"""The clinic's pages: the list of submissions, one submission, exports and the audit log.

Every query is scoped by the signed-in staff member's clinic; an id from the URL alone never
reaches another clinic's rows, and a row of another clinic answers 404 like a missing one.
Each page that shows patients' data writes an audit row: a list page (the ids it showed), a
submission, an export, the audit log itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import and_, or_, select
from werkzeug.datastructures import MultiDict

from questionnaire.clinic import exports, fhir, store
from questionnaire.clinic.audit import write_audit
from questionnaire.clinic.auth import admin_required, record_refusal, require_staff, staff
from questionnaire.clinic.forms import FormError
from questionnaire.clinic.models import AuditEvent, Submission, utcnow
from questionnaire.clinic.sealing import seal, unseal
from questionnaire.clinic.timetext import clinic_date, clinic_datetime
from questionnaire.clinic.transactions import writing
from questionnaire.engine.definition import Page, Question
from questionnaire.extensions import db
from questionnaire.web.app import current_ruleset
from questionnaire.web.converters import LARGEST_ROW_ID
from questionnaire.web.posting import is_post

bp = Blueprint("clinic", __name__, url_prefix="/clinic")
bp.before_request(require_staff)

PAGE_SIZE = 50
# A list counts its matches up to this many; past it the page says "more than".
COUNT_LIMIT = 10_000
# Characters of a list_view audit row's detail left for the ids shown (the column holds 500).
LIST_IDS_ROOM = 400
AUDIT_PAGE_SIZE = 100
EXPORT_BATCH = store.MAX_PAGE_SIZE

FLAG_LABELS = {
    "urgent": "Urgent",
    "blood_thinners": "Blood thinners",
    "diabetes": "Diabetes",
    "infection": "Infection",
    "allergies": "Allergies",
}
CHECKBOX_FILTERS = (*FLAG_LABELS, "unreviewed")
FILTER_PARAMS = (*CHECKBOX_FILTERS, "from", "to", "q")
SEARCH_EXPIRED = (
    "This search's address has expired or was changed: type the reference or name again"
)
PAGING_PARAMS = ("after", "before")
TICKED = {"1", "on", "true", "yes"}
CURSOR_EXAMPLE = "2026-11-24T09:30:00.000000Z_42"
# YYYY-MM-DD only: fromisoformat also reads week dates such as 2026-W48-1.
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CURSOR = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6})Z_(\d{1,18})$")


bp.add_app_template_filter(clinic_date, "clinic_date")
bp.add_app_template_filter(clinic_datetime, "clinic_datetime")


class BadCursor(ValueError):
    """A paging link that this list did not make."""


# --- filters and paging -----------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    filters: store.SubmissionFilters
    errors: list[FormError]
    # The filters as they were typed, to fill the form and build paging links.
    shown: dict[str, str]


# The date filters' labels on the list's form; messages name both, since an address or an
# export link carries the short names.
DATE_LABELS = {"from": "Sent on or after", "to": "Sent on or before"}


def parse_filters(
    args: MultiDict[str, str], *, allow: tuple[str, ...] = (), sealed: bool = True
) -> ListQuery:
    """The list's filters, with a message for every bad value: from an address, where the
    search is sealed (``questionnaire.clinic.sealing``), or, with ``sealed=False``, from the
    posted filter form, where it is as typed."""
    errors: list[FormError] = []
    shown: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in args:
        if name not in FILTER_PARAMS and name not in allow:
            errors.append(
                FormError(
                    name, f"'{name}' is not a filter. Filters are: {', '.join(FILTER_PARAMS)}"
                )
            )
    for name in CHECKBOX_FILTERS:
        raw = args.get(name, "").strip().lower()
        if not raw:
            continue
        if raw in TICKED:
            values[name] = True
            shown[name] = "1"
        else:
            errors.append(FormError(name, f"'{name}' can only be 1 (show only these) or left out"))
    days: dict[str, date] = {}
    for name, key in (("from", "date_from"), ("to", "date_to")):
        label = DATE_LABELS[name]
        raw = args.get(name, "").strip()
        if not raw:
            continue
        shown[name] = raw
        try:
            days[name] = date.fromisoformat(raw) if _ISO_DAY.fullmatch(raw) else _not_a_date()
        except ValueError:
            errors.append(
                FormError(
                    name,
                    f"Enter '{label}' ({name}) as a date written YYYY-MM-DD, like 2026-11-24",
                )
            )
            continue
        values[key] = days[name]
    if "from" in days and "to" in days and days["from"] > days["to"]:
        errors.append(
            FormError(
                "to",
                f"'{DATE_LABELS['to']}' must be the same date as '{DATE_LABELS['from']}' or later",
            )
        )
    query = args.get("q", "").strip()
    if query and sealed:
        opened = unseal(query, staff().id)
        if opened is None:
            errors.append(FormError("q", SEARCH_EXPIRED))
        query = (opened or "").strip()
    if query:
        shown["q"] = query
        if len(query) > 200:
            errors.append(FormError("q", "Search for 200 characters or fewer"))
        else:
            values["q"] = query
    if errors:
        return ListQuery(store.SubmissionFilters(), errors, shown)
    return ListQuery(store.SubmissionFilters(**values), [], shown)


def address_args(shown: Mapping[str, str]) -> dict[str, Any]:
    """The filters for a link's address: the search sealed, so no name is in the address."""
    return {**shown, "q": seal(shown["q"], staff().id)} if shown.get("q") else dict(shown)


def _not_a_date() -> date:
    raise ValueError("not YYYY-MM-DD")


def encode_cursor(created_at: datetime, row_id: int) -> str:
    stamp = created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"{stamp}Z_{row_id}"


def decode_cursor(text: str) -> tuple[datetime, int]:
    match = _CURSOR.match(text)
    if match is None:
        raise BadCursor(text)
    try:
        created_at = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
    except ValueError:
        raise BadCursor(text) from None
    row_id = int(match.group(2))
    if row_id > LARGEST_ROW_ID:
        raise BadCursor(text)  # no row has it, and PostgreSQL's INTEGER cannot compare it
    return created_at, row_id


def bad_request(message: str) -> ResponseReturnValue:
    return render_template("clinic/bad_request.html", message=message), 400


def bad_cursor(name: str) -> ResponseReturnValue:
    return bad_request(
        f"The '{name}' part of this page's address is not a page of the list. It must look "
        f"like {name}={CURSOR_EXAMPLE}. Go back to the first page of the list and use the "
        "'Older' and 'Newer' links."
    )


@dataclass(frozen=True)
class ListPage:
    items: list[Submission]
    older: str | None
    newer: str | None


def _newer_page(
    clinic_id: int, filters: store.SubmissionFilters, before: tuple[datetime, int]
) -> tuple[list[Submission], bool]:
    """The page just newer than ``before``: read oldest-first from there, then turned round."""
    created_at, row_id = before
    query = (
        select(Submission)
        .where(
            *store.submission_conditions(clinic_id, filters, None),
            Submission.created_at >= created_at,
            or_(
                Submission.created_at > created_at,
                and_(Submission.created_at == created_at, Submission.id > row_id),
            ),
        )
        .order_by(Submission.created_at.asc(), Submission.id.asc())
        .limit(PAGE_SIZE + 1)
    )
    rows = list(db.session.scalars(query))
    more_newer = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    rows.reverse()
    return rows, more_newer


def list_page(
    clinic_id: int,
    filters: store.SubmissionFilters,
    after: tuple[datetime, int] | None,
    before: tuple[datetime, int] | None,
) -> ListPage:
    if before is not None:
        rows, more_newer = _newer_page(clinic_id, filters, before)
        older = encode_cursor(rows[-1].created_at, rows[-1].id) if rows else None
        newer = encode_cursor(rows[0].created_at, rows[0].id) if rows and more_newer else None
        return ListPage(rows, older, newer)
    page = store.list_submissions(clinic_id, filters, after, PAGE_SIZE)
    items = page.items
    older = encode_cursor(*page.next_after) if page.next_after else None
    newer = encode_cursor(items[0].created_at, items[0].id) if items and after else None
    return ListPage(items, older, newer)


# --- the list ---------------------------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    me = staff()
    if is_post():
        # The filter form is posted, so what was typed is never in an address; the list
        # then opens at an address with the search sealed.
        parsed = parse_filters(request.form, allow=("csrf_token",), sealed=False)
        if not parsed.errors:
            return redirect(url_for("clinic.index", **address_args(parsed.shown)), 303)
    else:
        parsed = parse_filters(request.args, allow=PAGING_PARAMS)
    if parsed.errors:
        return render_template(
            "clinic/index.html",
            errors=parsed.errors,
            shown=parsed.shown,
            page=None,
            total=None,
            flag_labels=FLAG_LABELS,
        ), 400
    cursors: dict[str, tuple[datetime, int] | None] = {}
    for name in PAGING_PARAMS:
        raw = request.args.get(name)
        try:
            cursors[name] = decode_cursor(raw) if raw else None
        except BadCursor:
            return bad_cursor(name)
    page = list_page(me.clinic_id, parsed.filters, cursors["after"], cursors["before"])
    total = store.count_submissions(me.clinic_id, parsed.filters, at_most=COUNT_LIMIT)
    html = render_template(
        "clinic/index.html",
        errors=[],
        shown=parsed.shown,
        page=page,
        total=total,
        count_limit=COUNT_LIMIT,
        flag_labels=FLAG_LABELS,
        links=address_args(parsed.shown),
    )
    # After drawing the page: the audit row's commit expires the loaded rows, and drawing
    # them after it would load each one again, a query per row.
    _audit_list_view(page, parsed.filters)
    return html


# --- one submission ---------------------------------------------------------------------------


def own_submission(submission_id: int) -> Submission:
    submission = store.get_submission(staff().clinic_id, submission_id)
    if submission is None:
        # Another clinic's submission looks exactly like one that does not exist.
        record_refusal("no such submission in this clinic", submission_id)
        abort(make_response(render_template("clinic/not_found.html"), 404))
    return submission


@dataclass(frozen=True)
class AnswerRow:
    question: Question
    text: str | None  # None: asked but not answered
    values: list[str]  # the labels of an any_of answer, one per line


def answered_pages(ruleset: Any, answers: Mapping[str, Any]) -> list[tuple[Page, list[AnswerRow]]]:
    """Each page with the questions these answers showed; hidden questions are left out."""
    grouped = []
    for page in ruleset.questionnaire.pages:
        rows = [
            _answer_row(question, answers.get(question.id))
            for question in page.questions
            if ruleset.is_visible(question, answers)
        ]
        if rows:
            grouped.append((page, rows))
    return grouped


def _answer_row(question: Question, value: Any) -> AnswerRow:
    if value is None or value == "" or value == []:
        return AnswerRow(question, None, [])
    if question.kind == "any_of" and isinstance(value, list):
        labels = [question.label_of(item) for item in value]
        return AnswerRow(question, "; ".join(labels), labels)
    if question.kind in {"one_of", "yes_no"}:
        return AnswerRow(question, question.label_of(value), [])
    if question.kind == "number" and question.unit:
        return AnswerRow(question, f"{value} {question.unit}", [])
    return AnswerRow(question, str(value), [])


def _detail(submission: Submission, errors: list[FormError], note: str | None) -> str:
    """The submission's page; every time it is drawn, for whatever request, is audited."""
    me = staff()
    with writing():
        write_audit(
            "submission_view", user_id=me.id, clinic_id=me.clinic_id, record_id=submission.id
        )
    ruleset = current_ruleset()
    answers = submission.answers or {}
    known = set(ruleset.question_by_id)
    reviewer = (
        store.get_staff_user(me.clinic_id, submission.reviewed_by_id)
        if submission.reviewed_by_id is not None
        else None
    )
    return render_template(
        "clinic/submission.html",
        submission=submission,
        pages=answered_pages(ruleset, answers),
        unknown_answers={k: v for k, v in answers.items() if k not in known},
        result=submission.result or {},
        ruleset=ruleset,
        reviewer=reviewer,
        flag_labels=FLAG_LABELS,
        errors=errors,
        note=note,
    )


@bp.route("/submissions/<row_id:submission_id>")
def submission_detail(submission_id: int) -> ResponseReturnValue:
    return _detail(own_submission(submission_id), [], None)


@bp.route("/submissions/<row_id:submission_id>/review", methods=["POST"])
def submission_review(submission_id: int) -> ResponseReturnValue:
    me = staff()
    own_submission(submission_id)
    note = request.form.get("note", "")
    try:
        reviewed = store.mark_reviewed(me.clinic_id, submission_id, me.id, note)
    except store.StoreError:
        limit = store.REVIEW_NOTE_MAX
        message = f"The note must be {limit:,} characters or fewer; it has {len(note.strip()):,}"
        return _detail(own_submission(submission_id), [FormError("note", message)], note), 400
    if reviewed is None:
        own_submission(submission_id)
    flash("Marked as reviewed.", "info")
    return redirect(url_for("clinic.submission_detail", submission_id=submission_id))


# --- exports ----------------------------------------------------------------------------------


def _export_filters() -> store.SubmissionFilters | ResponseReturnValue:
    parsed = parse_filters(request.args)
    if parsed.errors:
        return bad_request(" ".join(error.message for error in parsed.errors))
    return parsed.filters


def _batches(clinic_id: int, filters: store.SubmissionFilters) -> Iterator[list[Submission]]:
    after = None
    while True:
        page = store.list_submissions(clinic_id, filters, after, EXPORT_BATCH, with_answers=True)
        yield page.items
        # Loaded rows are no longer needed once written: keep the session small.
        db.session.expunge_all()
        if page.next_after is None:
            return
        after = page.next_after


def _with_reviews(
    clinic_id: int, batches: Iterator[list[Submission]]
) -> Iterator[exports.ReviewedBatch]:
    for batch in batches:
        yield batch, store.reviews_of(clinic_id, (submission.id for submission in batch))


def _reviewer_names(clinic_id: int) -> dict[int, str]:
    return {user.id: user.display_name for user in store.list_staff_users(clinic_id)}


def _filter_names(filters: store.SubmissionFilters) -> str:
    # The search text can be a patient's name, so only the names of the filters used are kept.
    used = [name for name, value in filters.model_dump().items() if value not in (None, False)]
    return ",".join(used) or "none"


def _audit_export(action: str, filters: store.SubmissionFilters) -> None:
    me = staff()
    count = store.count_submissions(me.clinic_id, filters)
    detail = f"rows={count}; filters={_filter_names(filters)}"
    with writing():
        write_audit(action, user_id=me.id, clinic_id=me.clinic_id, detail=detail)


def _audit_list_view(page: ListPage, filters: store.SubmissionFilters) -> None:
    """A list page shows patients' names and flags: record which submissions it showed
    (their ids, or the newest and oldest when the list of ids would not fit)."""
    me = staff()
    ids = [str(item.id) for item in page.items]
    shown = ",".join(ids)
    if len(shown) > LIST_IDS_ROOM:
        shown = f"{ids[0]}..{ids[-1]}"
    detail = f"shown={len(ids)}; filters={_filter_names(filters)}; ids={shown or 'none'}"
    with writing():
        write_audit("list_view", user_id=me.id, clinic_id=me.clinic_id, detail=detail)


def _download_name(extension: str) -> str:
    return f"submissions-{utcnow().strftime('%Y%m%d-%H%M%S')}.{extension}"


@bp.route("/export.csv")
def export_csv() -> ResponseReturnValue:
    filters = _export_filters()
    if not isinstance(filters, store.SubmissionFilters):
        return filters
    me = staff()
    _audit_export("export_csv", filters)
    ruleset = current_ruleset()
    chunks = exports.csv_chunks(
        ruleset, _batches(me.clinic_id, filters), _reviewer_names(me.clinic_id)
    )
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_download_name("csv")}"'},
    )


@bp.route("/export.json")
def export_json() -> ResponseReturnValue:
    filters = _export_filters()
    if not isinstance(filters, store.SubmissionFilters):
        return filters
    me = staff()
    _audit_export("export_json", filters)
    chunks = exports.json_chunks(
        current_ruleset(),
        _with_reviews(me.clinic_id, _batches(me.clinic_id, filters)),
        _reviewer_names(me.clinic_id),
        exported_at=utcnow(),
    )
    return Response(
        stream_with_context(chunks),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{_download_name("json")}"'},
    )


def questionnaire_url() -> str:
    """The canonical URL of the FHIR Questionnaire: configured, or this server's own."""
    configured = current_app.config.get("FHIR_QUESTIONNAIRE_URL")
    if configured:
        return str(configured).rstrip("/")
    return url_for("clinic.fhir_questionnaire", _external=True).removesuffix(".json")


@bp.route("/submissions/<row_id:submission_id>/fhir.json")
def submission_fhir(submission_id: int) -> ResponseReturnValue:
    me = staff()
    submission = own_submission(submission_id)
    resource = fhir.build_questionnaire_response(
        current_ruleset(),
        questionnaire_url(),
        reference=submission.reference,
        answers=submission.answers or {},
        authored=submission.created_at,
        version=submission.ruleset_version,
        patient_name=submission.patient_name,
        date_of_birth=submission.date_of_birth,
    )
    with writing():
        write_audit("export_fhir", user_id=me.id, clinic_id=me.clinic_id, record_id=submission.id)
    return _fhir_response(resource, f"{submission.reference}.fhir.json")


@bp.route("/fhir/Questionnaire.json")
def fhir_questionnaire() -> ResponseReturnValue:
    resource = fhir.build_questionnaire(current_ruleset(), questionnaire_url())
    return _fhir_response(resource, "Questionnaire.fhir.json")


def _fhir_response(resource: dict[str, Any], filename: str) -> Response:
    response = Response(json.dumps(resource, ensure_ascii=False, indent=2))
    response.mimetype = "application/fhir+json"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# --- the audit log (admins) -------------------------------------------------------------------


@bp.route("/audit")
@admin_required
def audit_log() -> ResponseReturnValue:
    me = staff()
    raw = request.args.get("after", "")
    if raw and (
        not (raw.isascii() and raw.isdigit()) or len(raw) > 18 or int(raw) > LARGEST_ROW_ID
    ):
        return bad_request(
            "The 'after' part of this page's address must be a whole number, like after=120. "
            "Go back to the first page of the audit log and use the 'Older' link."
        )
    unknown = [name for name in request.args if name != "after"]
    if unknown:
        return bad_request(f"'{unknown[0]}' is not part of the audit log page. Use only 'after'.")
    with writing():
        write_audit("audit_view", user_id=me.id, clinic_id=me.clinic_id)
    query = select(AuditEvent).where(AuditEvent.clinic_id == me.clinic_id)
    if raw:
        query = query.where(AuditEvent.id < int(raw))
    rows = list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE_SIZE + 1)))
    older = str(rows[AUDIT_PAGE_SIZE - 1].id) if len(rows) > AUDIT_PAGE_SIZE else None
    return render_template(
        "clinic/audit.html",
        rows=rows[:AUDIT_PAGE_SIZE],
        older=older,
        names=_reviewer_names(me.clinic_id),
        first_page=not raw,
    )
