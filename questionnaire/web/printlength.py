"""How long the sheet is on paper, estimated without laying it out.

The printed sheet must fit on two pages of A4 and of US Letter. Its notes and questions always
print in full; the guide sections print in full only as far as they fit, and the rest as a short
list of titles. Which sections fit is decided when the sheet is built, from this estimate:

- each block of the print layout (a heading, a note, a question, a paragraph) is its lines of
  text, wrapped word by word at the column's width with the advance widths of Helvetica (the
  print fonts, Arial and Liberation Sans, share them), times the line height, plus its margins;
- the blocks are poured into the columns of two pages, in order, as the layout breaks them:
  never inside a note or a question, never right after a heading, the line that leads into
  the questions or a guide section's reason, and a paragraph only with two lines or more on
  each side of the break;
- it fits when nothing is left over, on both papers.

A sheet whose notes and questions leave no room on two pages even for the list of titles takes
a compact print layout, in steps, as few as it needs (COMPACT_STEPS; each step keeps the ones
before it and is a class on .sheet-body that print.css uses; on screen nothing changes):

1. no lines to write on under the questions; the line above them says, once, to write the
   answers on the back of the page or on a separate piece of paper;
2. the reasons ("Why you are seeing these: ...") in one paragraph after each list, each
   distinct reason once, instead of under every note and question;
3. the reasons in one paragraph after the last list, each once for the whole sheet (the notes
   and the safety questions mostly share theirs);
4. the notes and questions in 9pt type instead of 10pt.

Every note and question, and the urgent box, print in full with their text at every step, and
so does every reason. The steps are chosen when the sheet is built, so they depend only on the
result and the guide's address. A sheet too long even with every step prints every section by
title and runs longer. With today's rules a search of the answers (thousands of random sets,
then changing one answer at a time towards a longer sheet) found none that needs step 4: the
longest, "not sure" to most questions with every red flag, fits on Letter in step 3 with some
50 points to spare (tests/web/patient_forms.py, LONGEST).

The numbers and words mirror static/css/print.css (with the screen styles it keeps) and the
sheet's templates; change them together. Against WeasyPrint's PDFs of a few hundred sheets the
estimate was exact to a point or two, or longer (kerning makes some lines a little shorter than
the advance widths say), never shorter by more than a fraction of a point, and Chromium's print
of the same sheets fitted too. With the compact layout it was checked again, block by block,
on A4 and Letter, against 1,440 renders: 300 sheets (half of them urgent) as they print, and 60
dense urgent sheets and 8 named ones with each step forced. No block ended further down the
sheet than the estimate says; where they differ the estimate is longer (a line that kerning
shortens, or a note that fits at the foot of a column because WeasyPrint drops its margin below
there). Chromium's print of 48 of the densest sheets left more room than the estimate on both
papers. A small reserve at the foot of each column covers the rest (the page counts are tested
in tests/web/test_pdf.py and tests/browser/test_print.py).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from questionnaire.engine.result import NoteOut, QuestionOut, Result, SectionOut

if TYPE_CHECKING:
    from questionnaire.web.sheetview import QuestionGroup

PT_PER_MM = 72 / 25.4
PT_PER_PX = 0.75

# Advance widths in thousandths of an em of the printable ASCII characters, " " to "~".
# Italic has the widths of regular.
_REGULAR = (
    (278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278)
    + (556,) * 10
    + (278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278)
    + (500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667)
    + (611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222)
    + (222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500)
    + (500, 334, 260, 334, 584)
)
_BOLD = (
    (278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278)
    + (556,) * 10
    + (333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611, 778, 722, 278)
    + (556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667)
    + (611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278)
    + (278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556)
    + (500, 389, 280, 389, 584)
)
# Outside ASCII: typographic quotes and dashes; anything else counts as a wide letter.
_OTHER_REGULAR = {"\u2018": 222, "\u2019": 222, "\u201c": 333, "\u201d": 333, "\u2013": 556}
_OTHER_BOLD = {"\u2018": 278, "\u2019": 278, "\u201c": 500, "\u201d": 500, "\u2013": 556}
_OTHER_SHARED = {"\u00a0": 278, "\u00b7": 278, "\u2014": 1000, "\u2026": 1000}
_WIDE_LETTER = 722


def _width_table(ascii_widths: tuple[int, ...], other: dict[str, int]) -> dict[str, int]:
    table = {chr(32 + offset): width for offset, width in enumerate(ascii_widths)}
    return table | _OTHER_SHARED | other


_WIDTHS = {False: _width_table(_REGULAR, _OTHER_REGULAR), True: _width_table(_BOLD, _OTHER_BOLD)}


@dataclass(frozen=True)
class Style:
    """Text as print.css sets it: size and line height in points."""

    size: float
    line_height: float
    bold: bool = False


# body: 10pt, line-height 1.25; .because: 8pt; headings keep the screen's line heights.
TEXT = Style(10, 12.5)
# .sheet-body--small-type .ask-list__text: 9pt.
SMALL_TEXT = Style(9, 9 * 1.25)
BECAUSE = Style(8, 10)
H1 = Style(17, 17 * 1.15, bold=True)
H2 = Style(13, 13 * 1.2, bold=True)
H3 = Style(11, 11 * 1.3, bold=True)
META = Style(9, 9 * 1.25)
# .guide-section: 9pt, line-height 1.22.
GUIDE_TEXT = Style(9, 9 * 1.22)
GUIDE_BECAUSE = Style(8, 8 * 1.22)
# A section printed by title only: its title, in bold at the text's size, in a short list.
TITLE_IN_LIST = Style(10, 12.5, bold=True)


@dataclass(frozen=True)
class Paper:
    width: float  # points
    height: float


PAPERS = {"a4": Paper(210 * PT_PER_MM, 297 * PT_PER_MM), "letter": Paper(612, 792)}
# @page margins; two columns (.sheet-body) 18pt apart.
MARGIN_TOP = 12 * PT_PER_MM
MARGIN_SIDES = 13 * PT_PER_MM
MARGIN_BOTTOM = 14 * PT_PER_MM
COLUMN_GAP = 18.0
PAGES = 2
# Kept free at the foot of each column, in case a layout comes out a little longer.
RESERVE = 4.0

# .ask-list__item: padding-left 18pt, margin-bottom 3pt; .ask-list: margin-bottom 4pt.
ITEM_INDENT = 18.0
ITEM_SPACE = 3.0
LIST_SPACE = 4.0
NOTE_LINE = 12.0  # .note-lines__line
# .urgent-box: 3pt border, padding 6pt 9pt; its list is indented 20px.
URGENT_INSET = 2 * (3 + 9)
URGENT_LIST_INDENT = 20 * PT_PER_PX
# .disclaimer: 3pt left border, padding 4pt 8pt.
DISCLAIMER_INSET = 3 + 2 * 8

SHEET_TITLE = "Your questions for your appointment"
URGENT_TITLE = "Get medical help now"
URGENT_LEAD = "Your answers include signs that need a doctor to check you soon:"
URGENT_END = (
    ("Get medical help now. This questionnaire cannot assess these signs.", True),
    (
        " Call your local emergency number or go to an emergency department. If you cannot, "
        "call your doctor today. Do not wait for your appointment.",
        False,
    ),
)
META_LINE = "Made on 30 September 2026. Questionnaire version 2026.11.0 (0123456789ab)."
NOTES_TITLE = "Tell your care team"
QUESTIONS_TITLE = "Questions to ask your doctor"
QUESTIONS_LEAD = "Tick each one when you have asked it. There is space to write the answer."
QUESTIONS_LEAD_NO_LINES = (
    "Tick each one when you have asked it. Write the answers on the back of the page or on a "
    "separate piece of paper."
)
GUIDE_TITLE = "From the guide: what to read before your appointment"
MORE_TITLE = "More in the guide"
BECAUSE_LEAD = "Why you are seeing this: "
REASONS_LEAD = "Why you are seeing these: "
SHEET_REASONS_LEAD = "Why you are seeing these notes and questions: "

# The steps of the compact print layout, in the order they are taken; a sheet that takes one
# takes the ones before it too. Each is a class on .sheet-body.
NO_NOTE_LINES = "sheet-body--no-note-lines"
REASONS_BY_GROUP = "sheet-body--reasons-by-group"
REASONS_ONCE = "sheet-body--reasons-once"
SMALL_TYPE = "sheet-body--small-type"
COMPACT_STEPS = (NO_NOTE_LINES, REASONS_BY_GROUP, REASONS_ONCE, SMALL_TYPE)


@dataclass(frozen=True)
class PrintPlan:
    """How the sheet prints: the steps of the compact layout it takes (none for most sheets),
    and how many guide sections, from the first, print in full."""

    compact: tuple[str, ...]
    in_full: int


def print_plan(
    result: Result,
    question_groups: Sequence[QuestionGroup],
    other_sections: int,
    guide_url: str,
    note_lines: int,
) -> PrintPlan:
    """The fewest steps of the compact layout that let the sheet fit on two pages of either
    paper size, with every section at least by title; then as many sections in full as fit,
    from the first. A sheet that fits with no step never takes one."""
    # The shorter paper first: a sheet that does not fit mostly fails on it, and the other
    # need not be laid out.
    papers = sorted(PAPERS.values(), key=lambda paper: paper.height)
    for step in range(len(COMPACT_STEPS) + 1):
        compact = COMPACT_STEPS[:step]
        reasons = reasons_after_lists(result, question_groups, compact)
        layouts: list[_PrintLayout] = []
        for paper in papers:
            body = _SheetBody(paper, note_lines, guide_url, compact)
            layout = _PrintLayout(body, result, question_groups, reasons, other_sections)
            layouts.append(layout)
            if not layout.fits(0):
                break
        else:
            count = 0
            while count < len(result.sections) and all(
                layout.fits(count + 1) for layout in layouts
            ):
                count += 1
            return PrintPlan(compact, count)
    return PrintPlan(COMPACT_STEPS, 0)  # longer than two pages even so


def reasons_after_lists(
    result: Result, groups: Sequence[QuestionGroup], compact: Collection[str]
) -> tuple[str | None, list[str | None]]:
    """The paragraphs of reasons that follow the list of notes and each group's list of
    questions on paper, in the compact layout's steps 2 and 3 (None: no paragraph there).

    Step 2: each list's reasons, each once, after it. Step 3: the reasons of all the notes and
    questions, each once, after the last list.
    """
    notes = result.care_team_notes
    after_groups: list[str | None] = [None] * len(groups)
    if REASONS_ONCE in compact:
        items: list[NoteOut | QuestionOut] = [*notes]
        items += [question for group in groups for question in group.questions]
        once = SHEET_REASONS_LEAD + " ".join(distinct_reasons(result, items))
        if groups:
            after_groups[-1] = once
            return None, after_groups
        return once, after_groups
    if REASONS_BY_GROUP in compact:
        after_groups = [
            REASONS_LEAD + " ".join(distinct_reasons(result, group.questions)) for group in groups
        ]
        return REASONS_LEAD + " ".join(distinct_reasons(result, notes)), after_groups
    return None, after_groups


def distinct_reasons(result: Result, items: Sequence[NoteOut | QuestionOut]) -> list[str]:
    """Why the items are on the sheet: the reasons of the rules that added them, each once, in
    the order they first come (an item's reason is those of its rules, one after another)."""
    by_rule = {rule.id: rule.because for rule in result.fired_rules}
    reasons: list[str] = []
    for item in items:
        rules = item.because.rule_ids
        if all(rule in by_rule for rule in rules):
            own = [by_rule[rule] for rule in rules]
        else:
            own = [item.because.reason]
        reasons += [reason for reason in dict.fromkeys(own) if reason not in reasons]
    return reasons


class _PrintLayout:
    """The sheet's blocks and columns on one paper size (the body's)."""

    def __init__(
        self,
        body: _SheetBody,
        result: Result,
        question_groups: Sequence[QuestionGroup],
        reasons: tuple[str | None, list[str | None]],
        other_sections: int,
    ) -> None:
        # In the order of the page: the first heading has no space above it.
        self.head = [*body.notes(result, reasons[0]), *body.questions(question_groups, reasons[1])]
        self.guide_heading = body.guide_heading() if result.sections else []
        self.all_sections = result.sections
        self.sections: list[list[Block]] = []  # in full, as far as needed so far
        self.more = body.more(other_sections)
        self.body = body
        height = body.paper.height - MARGIN_TOP - MARGIN_BOTTOM
        first_page = height - _header_height(result, body.paper.width - 2 * MARGIN_SIDES) - RESERVE
        self.columns = [first_page] * 2 + [height - RESERVE] * 2 * (PAGES - 1)

    def blocks(self, in_full: int) -> list[Block]:
        """The blocks of .sheet-body, in order, with the first ``in_full`` sections in full."""
        while len(self.sections) < in_full:
            self.sections.append(self.body.section(self.all_sections[len(self.sections)]))
        blocks = [*self.head, *self.guide_heading]
        for section in self.sections[:in_full]:
            blocks += section
        blocks += self.body.titles(self.all_sections[in_full:], after_sections=in_full > 0)
        blocks += self.more
        return blocks

    def fits(self, in_full: int) -> bool:
        """Whether the sheet fits with the first ``in_full`` sections in full."""
        return _pour(self.blocks(in_full), self.columns)


# -- text -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def line_count(text: str, style: Style, width: float) -> int:
    """Lines of ``text`` in ``style`` wrapped at ``width`` points."""
    return _line_count([(text, style.bold)], style.size, width)


@functools.lru_cache(maxsize=1024)
def runs_line_count(runs: tuple[tuple[str, bool], ...], size: float, width: float) -> int:
    """Lines of text made of runs (text, bold) at one size, wrapped at ``width`` points."""
    return _line_count(runs, size, width)


def _line_count(runs: Sequence[tuple[str, bool]], size: float, width: float) -> int:
    """Lines of text made of runs (text, bold) at one size, wrapped word by word at spaces and
    after hyphens; a word longer than the line takes a line of its own."""
    limit = width * 1000 / size  # in thousandths of an em
    lines, x = 1, 0.0
    for piece, space_before, bold in _pieces(runs):
        widths = _WIDTHS[bold]
        advance = sum(widths.get(char, _WIDE_LETTER) for char in piece)
        lead = widths[" "] if space_before and x > 0 else 0
        if x > 0 and x + lead + advance > limit:
            lines += 1
            x = advance
        else:
            x += lead + advance
    return lines


def _pieces(runs: Sequence[tuple[str, bool]]) -> Iterator[tuple[str, bool, bool]]:
    """(piece, whether a space comes before it, bold) for every piece a line may end after."""
    space = False
    for text, bold in runs:
        space = space or text[:1].isspace()
        for word in text.split():
            parts = word.split("-")
            for index, part in enumerate(parts):
                piece = part if index == len(parts) - 1 else part + "-"
                if piece:
                    yield piece, space and index == 0, bold
            space = True
        space = text[-1:].isspace()


# -- blocks and columns -----------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A box of the print layout: ``lines`` line heights, and the margins around it.

    ``whole``: never broken inside (a note, a question, a heading); otherwise it may break
    between lines with at least two on each side. ``with_next``: never the last in a column.
    """

    lines: tuple[float, ...]
    above: float = 0.0
    below: float = 0.0
    whole: bool = True
    with_next: bool = False


def _text_block(
    text: str, style: Style, width: float, *, below: float = 0, with_next: bool = False
) -> Block:
    lines = (style.line_height,) * line_count(text, style, width)
    return Block(lines, below=below, whole=len(lines) < 4, with_next=with_next)


def _heading(text: str, style: Style, width: float, above: float, below: float) -> Block:
    lines = (style.line_height,) * line_count(text, style, width)
    return Block(lines, above, below, whole=True, with_next=True)


@dataclass(frozen=True)
class _Unit:
    """An unbreakable run of lines: the pieces the columns are filled with."""

    height: float
    above: float
    below: float
    joined: bool  # no column break before it


def _units(blocks: Sequence[Block]) -> list[_Unit]:
    units: list[_Unit] = []
    joined = False
    for block in blocks:
        if block.whole:
            runs = [block.lines]
        else:
            # Breaks only with two lines or more on each side (orphans and widows: 2).
            first, last = block.lines[:2], block.lines[-2:]
            runs = [first, *((line,) for line in block.lines[2:-2]), last]
        for index, run in enumerate(runs):
            units.append(
                _Unit(
                    height=sum(run),
                    above=block.above if index == 0 else 0.0,
                    below=block.below if index == len(runs) - 1 else 0.0,
                    joined=joined if index == 0 else False,
                )
            )
        joined = block.with_next
    return units


def _pour(blocks: Sequence[Block], columns: Sequence[float]) -> bool:
    """Whether the blocks fit into the columns, each filled as far as it goes before the next.

    Vertical margins between neighbours collapse (the larger one counts); the margin below
    the last unit in a column must fit too. A unit joined to the one before it moves to the
    next column with it.
    """
    units = _units(blocks)
    start = 0
    for capacity in columns:
        y, below = 0.0, 0.0
        end = start  # the units up to here fit in this column, and a break may follow them
        index = start
        while index < len(units):
            unit = units[index]
            top = y + (max(below, unit.above) if index > start else unit.above)
            if top + unit.height + unit.below > capacity:
                break
            y, below = top + unit.height, unit.below
            index += 1
            if index == len(units) or not units[index].joined:
                end = index
        if end == len(units):
            return True
        if end == start:
            return False  # a run taller than a column
        start = end
    return False


class _SheetBody:
    """The blocks of _sheet_body.html on paper, in a column of the paper, in the steps
    ``compact`` of the compact layout."""

    def __init__(
        self, paper: Paper, note_lines: int, guide_url: str, compact: Collection[str] = ()
    ) -> None:
        self.paper = paper
        self.column = (paper.width - 2 * MARGIN_SIDES - COLUMN_GAP) / 2
        lines = NO_NOTE_LINES not in compact
        self.note_lines = note_lines if lines else 0
        self.questions_lead = QUESTIONS_LEAD if lines else QUESTIONS_LEAD_NO_LINES
        self.reasons_by_group = REASONS_BY_GROUP in compact  # not under each item
        self.text = SMALL_TEXT if SMALL_TYPE in compact else TEXT
        self.guide_url = guide_url
        self.first = True  # the first heading of .sheet-body has no space above it

    def _h2(self, text: str) -> Block:
        above = 0.0 if self.first else 12.0
        self.first = False
        return _heading(text, H2, self.column, above, 5)

    def _item(self, text: str, because: str | None, note_lines: int) -> Block:
        width = self.column - ITEM_INDENT
        lines = [self.text.line_height] * line_count(text, self.text, width)
        if because is not None and not self.reasons_by_group:
            lines += [BECAUSE.line_height] * line_count(BECAUSE_LEAD + because, BECAUSE, width)
        lines += [NOTE_LINE] * note_lines
        return Block(tuple(lines), below=ITEM_SPACE)

    def _end_list(self, items: list[Block], reasons: str | None) -> list[Block]:
        """The list's margin below its last item, and the paragraph of reasons that follows
        it, if any (.group-reasons: never at the top of a column)."""
        last = items[-1]
        below = max(last.below, LIST_SPACE)
        if reasons is None:
            items[-1] = Block(last.lines, last.above, below)
            return items
        items[-1] = Block(last.lines, last.above, below, with_next=True)
        return [*items, _text_block(reasons, BECAUSE, self.column, below=6)]

    def notes(self, result: Result, reasons: str | None) -> list[Block]:
        notes = result.care_team_notes
        if not notes:
            return []
        items = [self._item(note.text, note.because.reason, 0) for note in notes]
        return [self._h2(NOTES_TITLE), *self._end_list(items, reasons)]

    def questions(
        self, groups: Sequence[QuestionGroup], reasons: Sequence[str | None]
    ) -> list[Block]:
        if not groups:
            return []
        # h2 + .secondary-text: break-after: avoid, so it goes with the first group.
        lead = _text_block(self.questions_lead, TEXT, self.column, below=6, with_next=True)
        blocks = [self._h2(QUESTIONS_TITLE), lead]
        for group, after in zip(groups, reasons, strict=True):
            blocks.append(_heading(group.category.title, H3, self.column, 8, 3))
            items = []
            previous = None
            for question in group.questions:
                # As the template: a run of questions with the same reason shows it once.
                reason = question.because.reason
                because = reason if reason != previous else None
                items.append(self._item(question.text, because, self.note_lines))
                previous = reason
            blocks += self._end_list(items, after)
        return blocks

    def guide_heading(self) -> list[Block]:
        return [self._h2(GUIDE_TITLE)]

    def section(self, section: SectionOut) -> list[Block]:
        """A guide section in full: .guide-section is 9pt text with 6pt below."""
        because = BECAUSE_LEAD + section.because.reason
        blocks = [
            _heading(section.title, H3, self.column, 0, 3),
            # .guide-section .because: margin-bottom 10px; break-after: avoid.
            _text_block(because, GUIDE_BECAUSE, self.column, below=7.5, with_next=True),
        ]
        for paragraph in section_paragraphs(section.body):
            blocks.append(_text_block(paragraph, GUIDE_TEXT, self.column, below=4))
        last = blocks[-1]
        blocks[-1] = Block(last.lines, last.above, 6, whole=last.whole)
        return blocks

    def titles(self, sections: Sequence[SectionOut], *, after_sections: bool) -> list[Block]:
        """The sections printed by title only: one paragraph, .guide-titles."""
        if not sections:
            return []
        runs = [("Also read in the guide: " if after_sections else "Read in the guide: ", False)]
        for index, section in enumerate(sections):
            separator = " \u00b7 " if index < len(sections) - 1 else " "
            runs += [(section.title, True), (separator, False)]
        runs.append((f"\u2014 at {self.guide_url}", False))
        count = runs_line_count(tuple(runs), TITLE_IN_LIST.size, self.column)
        return [Block((TITLE_IN_LIST.line_height,) * count, below=6, whole=count < 4)]

    def more(self, other_sections: int) -> list[Block]:
        if not other_sections:
            return []
        text = f"The other {other_sections} parts of the guide are at {self.guide_url}"
        return [self._h2(MORE_TITLE), _text_block(text, TEXT, self.column)]


def section_paragraphs(body: str) -> list[str]:
    """Guide text is plain text with paragraphs separated by a blank line."""
    return [part.strip() for part in body.split("\n\n") if part.strip()]


def _header_height(result: Result, width: float) -> float:
    """Page 1 above the columns: title, urgent box, date and rule set, disclaimer.

    Margins: h1 6pt below; .urgent-box 10pt below; .sheet-meta 6pt below; .disclaimer 8pt
    above and below.
    """
    height = line_count(SHEET_TITLE, H1, width) * H1.line_height + 6
    if result.urgent:
        inner = width - URGENT_INSET
        box = 2 * (3 + 6) + line_count(URGENT_TITLE, H2, inner) * H2.line_height + 5
        box += line_count(URGENT_LEAD, TEXT, inner) * TEXT.line_height + 6
        for reason in result.urgent_reasons:
            box += line_count(reason, TEXT, inner - URGENT_LIST_INDENT) * TEXT.line_height + 2
        box += 6 - 2  # the list's margin below takes over from the last item's
        box += runs_line_count(URGENT_END, TEXT.size, inner) * TEXT.line_height
        height += box + 10
    height += line_count(META_LINE, META, width) * META.line_height + 8
    disclaimer = line_count(result.disclaimer, TEXT, width - DISCLAIMER_INSET)
    return height + disclaimer * TEXT.line_height + 2 * 4 + 8
