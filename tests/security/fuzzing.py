"""Hostile input for the fuzz tests: payloads, one-field corruptions, and the checks that every
answer to them must pass.

A corruption starts from a valid submission and spoils exactly one thing, so each example
probes one way input can be wrong while the rest of the request stays good enough to reach
the code behind the validation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def fuzz(max_examples: int) -> settings:
    """Settings of a fuzz test: requests are slow next to what hypothesis expects of a test
    body, so there is no deadline, and the number of examples bounds the run time."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


MARKUP = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
)
UNICODE = (
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate: only its UTF-8-like bytes can be sent, not valid UTF-8
    "\udfff",
    "\u202egnp.exe",  # right-to-left override
    "\U0001f600\U0001f9b4\U0001f468\u200d\U0001f469\u200d\U0001f467",  # emoji and a ZWJ family
    "e\u0301\u0301\u0301\u0301\u0301",  # stacked combining marks
    "\ufeffBOM",
    "\u200b\u200c\u200d",
    "\uffff\ufffe",
    "Zo\u00eb \u0130stanbul \u00df \ufb01",
    "\r\n\r\n",
    "\t",
)
WRONG = (
    "",
    " ",
    "0",
    "-1",
    "7.5",
    "1e309",
    "NaN",
    "Infinity",
    "99999999999999999999999999",
    "true",
    "null",
    "[]",
    "{}",
    "none",
    "yes",
    "not_sure",
    "../../etc/passwd",
    "' OR '1'='1",
    "%00",
    "{{7*7}}",
)
HUGE = "A" * 100_000
HUGE_MARKUP = "<b>" * 30_000

payloads = st.one_of(
    st.sampled_from(MARKUP + UNICODE + WRONG + (HUGE, HUGE_MARKUP)),
    st.text(max_size=40),
    st.builds(
        lambda before, markup, after: before + markup + after,
        st.text(max_size=8),
        st.sampled_from(MARKUP),
        st.text(max_size=8),
    ),
)
EXTRA_NAMES = ("extra", "answers", "__class__", "csrf_token2", "is_admin", "clinic_id", "role[]")


@dataclass(frozen=True)
class Corruption:
    """One thing spoiled in a valid form: a field replaced, doubled, dropped or added."""

    kind: str  # "replace", "repeat", "drop", "extra"
    field: str
    value: str

    def apply(self, form: Mapping[str, str | Sequence[str]]) -> list[tuple[str, str]]:
        pairs = [
            (name, item)
            for name, value in form.items()
            for item in ([value] if isinstance(value, str) else value)
        ]
        if self.kind == "extra":
            return [*pairs, (self.field, self.value)]
        kept = [(name, item) for name, item in pairs if name != self.field]
        if self.kind == "drop":
            return kept
        if self.kind == "repeat":
            return [*pairs, (self.field, self.value)]
        return [*kept, (self.field, self.value)]


def corruptions(fields: Sequence[str]) -> st.SearchStrategy[Corruption]:
    field = st.sampled_from(fields)
    extra_name = st.sampled_from(EXTRA_NAMES) | st.text(min_size=1, max_size=20)
    return st.one_of(
        st.builds(Corruption, st.sampled_from(["replace", "repeat"]), field, payloads),
        st.builds(Corruption, st.just("drop"), field, st.just("")),
        st.builds(Corruption, st.just("extra"), extra_name, payloads),
    )


def form_body(pairs: Sequence[tuple[str, str]]) -> bytes:
    """URL-encode as a browser would; a lone surrogate goes as the bytes it would have been."""
    return "&".join(f"{_quote(name)}={_quote(value)}" for name, value in pairs).encode("ascii")


def _quote(text: str) -> str:
    return quote_plus(text.encode("utf-8", "surrogatepass"))


FORM = "application/x-www-form-urlencoded"


def markup_in(value: str) -> list[str]:
    """The pieces of markup inside a payload that must never come back unescaped."""
    return [markup for markup in MARKUP if markup in value]


def check_answer(response: Any, sent: Sequence[str]) -> str:
    """What every answer to hostile input must be: no server error, no trace, no markup
    echoed as markup. Returns the body."""
    body: str = response.get_data(as_text=True)
    assert response.status_code < 500, f"{response.status_code}: {body[:500]}"
    assert "Traceback" not in body
    assert 'File "' not in body
    if response.mimetype == "text/html":
        for value in sent:
            for markup in markup_in(value):
                assert markup not in body, f"{markup!r} came back unescaped"
    return body
