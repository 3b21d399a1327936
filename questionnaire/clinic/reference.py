"""Reference codes a patient can read aloud over the phone, such as ``K7M-4PX-9QD``.

Nine characters from an alphabet without look-alikes (no 0/O, 1/I/L, U/V) give
30**9, about 2**44, codes: too many to guess, short enough to say.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 9
GROUP = 3

_SEPARATORS = re.compile(r"[\s\-]+")
_CANONICAL = re.compile(f"^[{ALPHABET}]{{{LENGTH}}}$")


_CODES = len(ALPHABET) ** LENGTH


def new_reference() -> str:
    """A fresh random code, formatted for display (``K7M-4PX-9QD``).

    One uniform draw below 30**9, written in base 30: the same codes, equally likely, as a
    draw per character, for one read of the system's random source instead of nine.
    """
    number = secrets.randbelow(_CODES)
    characters = []
    for _ in range(LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        characters.append(ALPHABET[digit])
    return format_reference("".join(characters))


def format_reference(canonical: str) -> str:
    return "-".join(canonical[i : i + GROUP] for i in range(0, len(canonical), GROUP))


def parse_reference(text: str) -> str | None:
    """The stored form of ``text`` if it is a well-formed code, typed in any case and with
    any spaces or dashes (``k7m 4px 9qd``); otherwise None."""
    canonical = _SEPARATORS.sub("", text).upper()
    if not _CANONICAL.match(canonical):
        return None
    return format_reference(canonical)


def spell_reference(reference: str) -> str:
    """The code as a screen reader should say it: ``K 7 M, 4 P X, 9 Q D``."""
    return ", ".join(" ".join(group) for group in reference.split("-"))
