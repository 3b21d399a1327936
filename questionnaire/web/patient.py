"""The patient's pages: start, one topic per page, urgent care, check answers, the sheet.

Every form posts back to its own page and redirects (Post/Redirect/Get); answers live in the
signed session only (see ``answerstore``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from questionnaire.engine import AnswersError, RuleSet
from questionnaire.engine.definition import Page
from questionnaire.web.answerstore import (
    CHECK,
    after_urgent,
    clear_answers,
    load_answers,
    save_page,
    set_after_urgent,
)
from questionnaire.web.app import current_ruleset
from questionnaire.web.checkanswers import check_rows
from questionnaire.web.errors import BadInput
from questionnaire.web.formdata import form_values, posted_values, raw_answers
from questionnaire.web.pdf import PAPER_SIZES
from questionnaire.web.posting import is_post
from questionnaire.web.prerender import section_bodies
from questionnaire.web.progress import (
    RED_FLAGS,
    first_incomplete_page,
    first_page,
    is_page_asked,
    next_page,
    ticked_red_flags,
)
from questionnaire.web.questionpage import render_question_page
from questionnaire.web.ratelimits import rate_limited
from questionnaire.web.sheetpage import render_result, sheet_pdf_bytes
from questionnaire.web.sheetview import paragraphs

bp = Blueprint("patient", __name__)
bp.add_app_template_filter(paragraphs, "paragraphs")


@bp.get("/")
def start() -> str:
    rs = current_ruleset()
    answers = load_answers(rs)
    first = first_page(rs, answers)
    return render_template(
        "patient/start.html",
        start_url=url_for(".question", page_id=first.id) if first else url_for(".check"),
        has_answers=bool(answers),
    )


@bp.route("/questions/<page_id>", methods=["GET", "POST"])
def question(page_id: str) -> str | BaseResponse:
    rs = current_ruleset()
    page = rs.page_by_id.get(page_id)
    if page is None:
        abort(404)
    returning = request.args.get("return") == CHECK
    answers = load_answers(rs)
    if not is_page_asked(rs, page, answers):
        # Every question here is hidden by earlier answers: the page is skipped.
        return redirect(_next_url(rs, page, answers, returning))
    if not is_post():
        return render_question_page(
            rs, page, answers, returning, form_values(page.questions, answers)
        )

    raw = raw_answers(page.questions, request.form)
    try:
        cleaned = rs.validate_page(page.id, raw, answers)
    except AnswersError as error:
        values = posted_values(page.questions, request.form)
        return render_question_page(rs, page, answers, returning, values, error.errors)
    answers = save_page(rs, page.id, cleaned)
    target = _next_url(rs, page, answers, returning)
    if RED_FLAGS in cleaned and ticked_red_flags(rs, answers):
        set_after_urgent(target)
        return redirect(url_for(".urgent"))
    return redirect(target)


@bp.get("/urgent")
def urgent() -> str | BaseResponse:
    rs = current_ruleset()
    answers = load_answers(rs)
    ticked = ticked_red_flags(rs, answers)
    if not ticked:
        return redirect(url_for(".start"))
    incomplete = first_incomplete_page(rs, answers)
    fallback = url_for(".question", page_id=incomplete.id) if incomplete else url_for(".check")
    return render_template(
        "patient/urgent.html",
        ticked=ticked,
        continue_url=after_urgent() or fallback,
        back_url=url_for(".question", page_id=rs.page_of_question[RED_FLAGS]),
    )


@bp.get("/check")
def check() -> str | BaseResponse:
    rs = current_ruleset()
    answers = load_answers(rs)
    ready = _sheet_answers(rs, answers)
    if isinstance(ready, str):
        return redirect(ready)
    return render_template("patient/check.html", groups=check_rows(rs, answers))


@bp.get("/sheet")
def sheet() -> str | BaseResponse:
    rs = current_ruleset()
    ready = _sheet_answers(rs, load_answers(rs))
    if isinstance(ready, str):
        return redirect(ready)
    return render_result(rs, rs.evaluate(ready), print_mode=False)


def pdf_limit() -> str:
    """PDF downloads per client address (Flask-Limiter syntax): ``PDF_RATE_LIMIT``."""
    limit: str = current_app.config["PDF_RATE_LIMIT"]
    return limit


@bp.get("/sheet.pdf")
@rate_limited(pdf_limit)  # drawing a PDF is costly
def sheet_pdf() -> BaseResponse:
    paper = request.args.get("paper", "a4")
    if paper not in PAPER_SIZES:
        raise BadInput(f"The paper size '{paper[:20]}' is not known. Use paper=a4 or paper=letter.")
    rs = current_ruleset()
    ready = _sheet_answers(rs, load_answers(rs))
    if isinstance(ready, str):
        return redirect(ready)
    html = render_result(rs, rs.evaluate(ready), print_mode=True)
    pdf = sheet_pdf_bytes(html, paper)
    filename = f"back-injection-questions-{date.today().isoformat()}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/guide")
def guide() -> str:
    rs = current_ruleset()
    return render_template("patient/guide.html", sections=rs.guide, bodies=section_bodies(rs))


@bp.route("/clear", methods=["GET", "POST"])
def clear() -> str | BaseResponse:
    if is_post():
        clear_answers()
        flash("Your answers have been cleared from this browser.")
        return redirect(url_for(".start"))
    return render_template("patient/clear.html")


def _next_url(rs: RuleSet, page: Page, answers: Mapping[str, Any], returning: bool) -> str:
    if returning:
        # Back to the summary unless a newly asked required question is still unanswered.
        incomplete = first_incomplete_page(rs, answers)
        if incomplete is None:
            return url_for(".check")
        return url_for(".question", page_id=incomplete.id) + "?return=" + CHECK
    following = next_page(rs, page.id, answers)
    if following is None:
        return url_for(".check")
    return url_for(".question", page_id=following.id)


def _sheet_answers(rs: RuleSet, answers: Mapping[str, Any]) -> dict[str, Any] | str:
    """The validated answers when they can make a sheet; otherwise the address of the page
    to ask again."""
    incomplete = first_incomplete_page(rs, answers)
    if incomplete is not None:
        return url_for(".question", page_id=incomplete.id)
    try:
        return rs.validate(answers)
    except AnswersError as error:
        # Saved under an older rule set: ask that page again.
        for field_error in error.errors:
            page_id = rs.page_of_question.get(field_error.field)
            if page_id is not None:
                return url_for(".question", page_id=page_id)
        first = first_page(rs, answers)
        return url_for(".question", page_id=first.id) if first else url_for(".start")
