"""Helpers shared by tests/pdf/conftest.py and the tests: where things are, poppler, the pages' titles."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SITE = Path(os.environ.get("ATTN_SITE", DOCS / "_build" / "html")).resolve()
PDF = Path(os.environ.get("ATTN_PDF", SITE / "attention-textbook.pdf")).resolve()
POPPLER = ("pdftotext", "pdffonts", "pdfimages")



def poppler(tool: str, *args: str) -> str:
    return subprocess.run([tool, *args], check=True, capture_output=True, text=True, encoding="utf-8").stdout


def squash(text: str) -> str:
    """Runs of whitespace (line ends included) as one space: the PDF breaks lines where it likes."""
    return re.sub(r"\s+", " ", text).strip()


def page_title(path: Path) -> str:
    """The page's title: its first ``# `` heading after the front matter (code cells come later)."""
    text = path.read_text("utf-8")
    if text.startswith("---"):
        text = text[text.index("\n---", 3) + 4 :]
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    msg = f"{path} has no '# ' title"
    raise ValueError(msg)


@dataclass(frozen=True)
class Chapter:
    number: int
    name: str  # docs/<name>.md
    title: str

    @property
    def label(self) -> str:  # how the PDF's headings, table of contents and bookmarks name it
        return f"{self.number}장 {self.title}"


def chapter_sources() -> list[Path]:
    return sorted(p for p in DOCS.glob("[0-9][0-9]-*.md"))
