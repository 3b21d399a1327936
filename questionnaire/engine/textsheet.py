"""The personalised sheet as plain text, for the command line."""

from __future__ import annotations

import textwrap

from questionnaire.engine.result import Result

WIDTH = 78
URGENT_LEAD = "GET MEDICAL HELP NOW. This questionnaire cannot assess these symptoms."


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=first if first is not None else indent, subsequent_indent=indent
    ) or [first or indent]


def render_text(result: Result) -> str:
    lines: list[str] = []
    if result.urgent:
        lines += ["!" * WIDTH, *_wrap(URGENT_LEAD)]
        for reason in result.urgent_reasons:
            lines += _wrap(reason, "  ", "- ")
        lines += ["!" * WIDTH, ""]
    if result.care_team_notes:
        lines += ["TELL YOUR CARE TEAM", ""]
        for note in result.care_team_notes:
            lines += _wrap(note.text, "  ", "- ")
        lines.append("")
    lines += ["QUESTIONS TO ASK YOUR DOCTOR", ""]
    for question in result.questions:
        lines += _wrap(question.text, "    ", "[ ] ")
        lines += _wrap(f"Why you are seeing this: {question.because.reason}", "    ", "    ")
    lines.append("")
    lines += ["PARTS OF THE GUIDE FOR YOU", ""]
    for section in result.sections:
        lines += [section.title.upper()]
        for paragraph in section.body.split("\n\n"):
            lines += [*_wrap(" ".join(paragraph.split())), ""]
    lines += _wrap(result.disclaimer)
    lines += ["", f"Rule set {result.ruleset.version} (sha256 {result.ruleset.sha256[:12]})"]
    return "\n".join(lines) + "\n"
