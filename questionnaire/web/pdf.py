"""The sheet as a PDF, drawn by WeasyPrint from the same HTML as the printed page.

WeasyPrint may read only the app's own static files: every other URL (http, https, data,
file paths outside static/) is refused, so rendering never reaches the network.
"""

from __future__ import annotations

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
