"""Pages drawn once per shape, then filled in for each request.

A question page without errors differs from one patient to the next only in its CSRF token and
the answers in its fields; everything else on it (the layout, headings, notes and links) depends
only on the rule set, the page, the patient's position in the form and the back link. Such a
page is drawn once per shape with a marker in each of those places, and split at the markers;
a request then puts its own token and answers between the pieces.

Frames are drawn in a fresh app context and a request that carries no cookie, so nothing from
one patient's session or a staff member's sign-in can end up in a piece that others are sent.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from flask import current_app, request
from markupsafe import Markup

# Shapes are few (pages x positions x back links x follow-up notes); the bound guards memory.
MAX_FRAMES = 512
_EXTENSION = "questionnaire.frames"


@dataclass(frozen=True)
class Frame:
    """A page split at its slots: one more piece than there are slots."""

    pieces: tuple[str, ...]

    def fill(self, values: Sequence[str]) -> str:
        if len(values) != len(self.pieces) - 1:
            raise ValueError(f"a frame with {len(self.pieces) - 1} slots got {len(values)} values")
        parts = [self.pieces[0]]
        for value, piece in zip(values, self.pieces[1:], strict=True):
            parts.append(value)
            parts.append(piece)
        return "".join(parts)


def slot_markers(count: int) -> list[Markup]:
    """Markers for a template to print where each slot goes, unique to this drawing."""
    token = secrets.token_hex(8)
    return [Markup("<!--slot-{}-{}-->").format(token, index) for index in range(count)]


def split_at(html: str, markers: Sequence[str]) -> Frame:
    """The page cut at each marker; every marker must appear exactly once, in order."""
    pieces: list[str] = []
    rest = html
    for marker in markers:
        before, found, rest = rest.partition(marker)
        if not found or marker in rest:
            raise RuntimeError(f"the page must show slot {marker} exactly once, in order")
        pieces.append(before)
    pieces.append(rest)
    return Frame(tuple(pieces))


def site_root() -> tuple[str, str, str]:
    """What a drawn page's links depend on besides its path: scheme, host and mount point.
    Part of every frame's shape; cheaper to read than ``request.url_root``."""
    return (request.scheme, request.host, request.root_path)


def draw_frame(draw: Callable[[Sequence[Markup]], str], slots: int) -> Frame:
    """Draw a page with a marker in each slot and split it there; ``draw`` gets the markers."""
    markers = slot_markers(slots)
    path, root = request.path, request.url_root
    # Same address and mount point as this request, but a new app context (its own ``g``,
    # where the signed-in user is kept) and a request with no cookie (an empty session).
    with current_app.app_context(), current_app.test_request_context(path, base_url=root):
        return split_at(draw(markers), markers)


class FrameCache:
    """This app's frames by shape; drawn on first use, in a request without a cookie."""

    def __init__(self, max_frames: int = MAX_FRAMES) -> None:
        self._max = max_frames
        self._frames: dict[Hashable, Frame] = {}
        self._lock = threading.Lock()

    def get(self, shape: Hashable, draw: Callable[[Sequence[Markup]], str], slots: int) -> Frame:
        frame = self._frames.get(shape)
        if frame is None:
            frame = draw_frame(draw, slots)
            with self._lock:
                if len(self._frames) >= self._max:
                    self._frames.clear()
                self._frames[shape] = frame
        return frame


def frame_cache() -> FrameCache:
    cache: FrameCache | None = current_app.extensions.get(_EXTENSION)
    if cache is None:
        cache = current_app.extensions.setdefault(_EXTENSION, FrameCache())
    return cache
