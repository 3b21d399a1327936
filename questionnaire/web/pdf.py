"""The sheet as a PDF, drawn by WeasyPrint from the same HTML as the printed page.

WeasyPrint may read only the app's own static files: every other URL (http, https, data,
file paths outside static/) is refused, so rendering never reaches the network.

Drawing a PDF takes a few hundred milliseconds; the same sheet is often downloaded again (both
paper sizes, a second click, a reload), so finished PDFs are kept in a small in-memory cache.
An entry is found by a digest of the exact HTML it was drawn from and the paper size: the HTML
carries everything a sheet depends on (rule set version and fingerprint, the answers' result,
the date, the guide's address), so a cached PDF is only ever served for an identical sheet, and
the cache holds no answers, only digests and PDF bytes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint import CSS, HTML
from weasyprint.document import Document
from weasyprint.urls import URLFetcher, URLFetcherResponse

# Links in the page are absolute paths ("/static/css/print.css"); against this base they become
# file URLs whose path the fetcher maps into the static folder.
BASE_URL = "file:///"

# The "paper" choices of the download link, as CSS page sizes.
PAPER_SIZES = {"a4": "A4", "letter": "letter"}

_CONTENT_TYPES = {".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}

# A sheet's PDF is 30-60 KB: 32 of them stay well under the byte cap.
CACHE_ENTRIES = 32
CACHE_BYTES = 8 * 1024 * 1024


class StaticOnlyFetcher(URLFetcher):
    """Serves files from the static folder and refuses everything else."""

    def __init__(self, static_folder: Path, static_url_path: str) -> None:
        super().__init__(allowed_protocols=["file"], allow_redirects=False)
        self._folder = static_folder.resolve()
        self._prefix = static_url_path.rstrip("/") + "/"

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        path = unquote(parts.path)
        if parts.scheme != "file" or parts.netloc or not path.startswith(self._prefix):
            raise ValueError(f"refused to fetch {url!r}: only static files are allowed")
        target = (self._folder / path.removeprefix(self._prefix)).resolve()
        if not target.is_relative_to(self._folder) or not target.is_file():
            raise ValueError(f"refused to fetch {url!r}: not a static file")
        content_type = _CONTENT_TYPES.get(target.suffix, "application/octet-stream")
        return URLFetcherResponse(url, target.read_bytes(), {"Content-Type": content_type})


def render_document(
    html: str, static_folder: Path, static_url_path: str, paper: str = "a4"
) -> Document:
    """Lay the page out for print on the given paper; the margins come from print.css."""
    fetcher = StaticOnlyFetcher(static_folder, static_url_path)
    page_size = CSS(string=f"@page {{ size: {PAPER_SIZES[paper]}; }}", url_fetcher=fetcher)
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    return document.render(stylesheets=[page_size])


def html_to_pdf(html: str, static_folder: Path, static_url_path: str, paper: str = "a4") -> bytes:
    pdf: bytes = render_document(html, static_folder, static_url_path, paper).write_pdf()
    return pdf


class PdfCache:
    """Finished PDFs by (digest of their HTML, paper): bounded by count and by bytes, least
    recently used first out; safe to share between threads."""

    def __init__(self, max_entries: int = CACHE_ENTRIES, max_bytes: int = CACHE_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(html: str, paper: str) -> tuple[str, str]:
        return hashlib.sha256(html.encode("utf-8")).hexdigest(), paper

    def get(self, key: tuple[str, str]) -> bytes | None:
        with self._lock:
            pdf = self._entries.get(key)
            if pdf is not None:
                self._entries.move_to_end(key)
            return pdf

    def put(self, key: tuple[str, str], pdf: bytes) -> None:
        if len(pdf) > self.max_bytes:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous)
            self._entries[key] = pdf
            self._bytes += len(pdf)
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes


def cached_pdf(
    cache: PdfCache, html: str, static_folder: Path, static_url_path: str, paper: str
) -> bytes:
    """The PDF of this HTML on this paper, drawn once and then served from the cache."""
    key = cache.key(html, paper)
    pdf = cache.get(key)
    if pdf is None:
        pdf = html_to_pdf(html, static_folder, static_url_path, paper)
        cache.put(key, pdf)
    return pdf
