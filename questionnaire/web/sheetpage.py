"""The sheet page and its PDF, drawn from an evaluated result.

The screen sheet differs between patients with the same result only in the link to send it to
a clinic, so the rest of it is drawn once per result and day (``frames``, ``resultcache``).
The PDF is drawn from the print version and kept in a small cache (``pdf.PdfCache``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app, render_template, url_for
from markupsafe import Markup

from questionnaire.engine import RuleSet
from questionnaire.engine.result import Result
from questionnaire.web.frames import draw_frame, site_root
from questionnaire.web.pdf import PAPER_SIZES, PdfCache, cached_pdf, html_to_pdf
from questionnaire.web.prerender import template_macro
from questionnaire.web.resultcache import result_memo, sheet_body
from questionnaire.web.sheetview import build_sheet

# Where this app keeps its finished PDFs, and its sheets' links to send them to a clinic.
PDF_CACHE = "questionnaire.pdf_cache"
SEND_LINKS = "questionnaire.send_links"
MAX_SEND_LINKS = 1024


def render_sheet(rs: RuleSet, answers: Mapping[str, Any], *, print_mode: bool) -> str:
    """The sheet's HTML; ``print_mode`` leaves out the links and buttons (the PDF's source)."""
    return render_result(rs, rs.evaluate(rs.validate(answers)), print_mode=print_mode)


def render_result(rs: RuleSet, result: Result, *, print_mode: bool) -> str:
    """The sheet's HTML for a result from ``RuleSet.evaluate``."""
    today = date.today()
    if print_mode or current_app.jinja_env.auto_reload:
        return _draw_sheet(rs, result, today, print_mode=print_mode, send_link=_send_link())

    # The screen sheet differs between patients with the same result only in the link to
    # send it to a clinic: the rest is drawn once per result and day (frames.py).
    def draw(markers: Sequence[Markup]) -> str:
        return _draw_sheet(rs, result, today, print_mode=False, send_link=markers[0])

    shape = ("sheet-page", rs.sha256, today, site_root())
    frame = result_memo().get(result, shape, lambda: draw_frame(draw, slots=1))
    return frame.fill([_send_link()])


def _draw_sheet(
    rs: RuleSet, result: Result, today: date, *, print_mode: bool, send_link: Markup
) -> str:
    # On paper a link is only useful as a full address.
    guide_url = url_for("patient.guide", _external=True)
    guide_link = guide_url if print_mode else url_for("patient.guide")
    sheet = build_sheet(rs, result, today, guide_url)
    return render_template(
        "patient/sheet.html",
        sheet=sheet,
        body=sheet_body(rs, sheet, guide_url, guide_link),
        send_link=send_link,
        paper_sizes=PAPER_SIZES,
        print_mode=print_mode,
    )


def _send_link() -> Markup:
    """The link to send the sheet to this browser's clinic, drawn once per clinic."""
    # Imported here: the clinic feature builds on this module, not the other way round.
    from questionnaire.clinic.sending import clinic_to_send_to, sent_to

    clinic = clinic_to_send_to()
    sent = clinic is not None and sent_to(clinic)
    if current_app.jinja_env.auto_reload:
        return _draw_send_link(clinic, sent)
    links: dict[Hashable, Markup] = current_app.extensions.setdefault(SEND_LINKS, {})
    # It shows nothing but the clinic's name, whether this browser sent to it, and the
    # address of /send.
    key = (clinic, sent, site_root())
    link = links.get(key)
    if link is None:
        if len(links) >= MAX_SEND_LINKS:
            links.clear()
        link = links[key] = _draw_send_link(clinic, sent)
    return link


def _draw_send_link(clinic: Any, sent: bool) -> Markup:
    return template_macro("patient/_send_link.html", "send_link")(clinic, sent)


def sheet_pdf_bytes(html: str, paper: str) -> bytes:
    """The PDF of the sheet's print HTML on the given paper, from this app's cache if drawn
    before."""
    static_folder = Path(current_app.static_folder or "")
    static_url_path = current_app.static_url_path or "/static"
    if current_app.jinja_env.auto_reload:
        # Debug runs: the stylesheets may be edited while the app runs; draw afresh.
        return html_to_pdf(html, static_folder, static_url_path, paper)
    cache: PdfCache | None = current_app.extensions.get(PDF_CACHE)
    if cache is None:
        cache = current_app.extensions.setdefault(PDF_CACHE, PdfCache())
    return cached_pdf(cache, html, static_folder, static_url_path, paper)
