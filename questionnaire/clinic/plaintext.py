"""Names and addresses that staff and patients read: which characters they may hold."""

from __future__ import annotations

import unicodedata


def has_hidden_characters(text: str) -> bool:
    """Whether ``text`` holds a character no name or address needs, one that does not show or
    changes how the text around it shows: a control character (a bell, a new line), a format
    character (a right-to-left override, a zero-width space), or a surrogate, private-use or
    unassigned code point. Unicode puts all of these, and only these, in category C."""
    return any(unicodedata.category(char).startswith("C") for char in text)
