"""Fixtures for the checks of the book's PDF (run by ``nox -s pdf``, after docs/_tools/make_pdf.py).

The PDF (``docs/_build/html/attention-textbook.pdf``, or ``$ATTN_PDF``) is read with poppler's command
line tools (``pdftotext``, ``pdffonts``, ``pdfimages``) and with pypdf (outline, links, destinations);
what it should hold comes from the pages' sources (``docs/*.md``) and the built site (``$ATTN_SITE``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

sys.path.insert(0, str(Path(__file__).resolve().parent))  # pdf_helpers, for the tests too (importlib mode)

from pdf_helpers import DOCS, PDF, POPPLER, SITE, Chapter, chapter_sources, page_title, poppler, squash


def pytest_configure(config: pytest.Config) -> None:
    if not PDF.is_file():
        msg = f"no PDF at {PDF}: run `nox -s pdf` (after `nox -s docs`)"
        raise pytest.UsageError(msg)
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if missing:
        msg = f"{', '.join(missing)} not found: `apt-get install -y poppler-utils`"
        raise pytest.UsageError(msg)


@pytest.fixture(scope="session")
def chapters() -> list[Chapter]:
    found = [Chapter(int(p.name[:2]), p.stem, page_title(p)) for p in chapter_sources()]
    assert len(found) >= 8, f"expected the chapters docs/01-*.md ... docs/08-*.md, found {found}"
    return found


@pytest.fixture(scope="session")
def appendix_titles() -> list[str]:
    """The front page and the appendices the PDF prints (the API reference is left out)."""
    return [page_title(DOCS / f"{name}.md") for name in ("glossary", "references")]


@pytest.fixture(scope="session")
def front_title() -> str:
    return page_title(DOCS / "index.md")


@pytest.fixture(scope="session")
def pdf_path() -> Path:
    return PDF


@pytest.fixture(scope="session")
def site() -> Path:
    return SITE


@pytest.fixture(scope="session")
def pages_text() -> list[str]:
    """The text of every page (pdftotext, reading order), one string per page."""
    pages = poppler("pdftotext", "-enc", "UTF-8", str(PDF), "-").split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    return pages


@pytest.fixture(scope="session")
def text(pages_text: list[str]) -> str:
    """The whole book's text with its whitespace squashed."""
    return squash(" ".join(pages_text))


@pytest.fixture(scope="session")
def reader() -> PdfReader:
    return PdfReader(str(PDF))


@pytest.fixture(scope="session")
def outline(reader: PdfReader) -> list[tuple[str, int, int]]:
    """The bookmarks as (title, depth, 1-based page), in order."""
    items: list[tuple[str, int, int]] = []

    def walk(entries: list, depth: int) -> None:
        for entry in entries:
            if isinstance(entry, list):
                walk(entry, depth + 1)
            else:
                items.append((entry.title, depth, reader.get_destination_page_number(entry) + 1))

    walk(reader.outline, 0)
    return items
