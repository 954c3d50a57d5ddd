"""The pages' "PyTorch로는" snippets: each file in docs/pytorch runs against torch and asserts agreement.

The docs build has no torch, so a page only shows these files (``literalinclude``); this test runs them,
so that every line of PyTorch a reader sees has been executed and compared with the package.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = sorted((ROOT / "docs" / "pytorch").glob("[0-9][0-9]_*.py"))
PAGES = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("[0-9][0-9]-*.md")}


def test_chapters_1_to_6_each_have_a_snippet():
    chapters = {p.name[:2] for p in SNIPPETS}
    assert {f"{n:02d}" for n in range(1, 7)} <= chapters, sorted(chapters)


@pytest.mark.parametrize("path", SNIPPETS, ids=lambda p: p.name)
def test_snippet_runs_and_agrees_with_the_package(path):
    runpy.run_path(str(path), run_name="__main__")  # the file's own asserts compare torch with attention_ref


@pytest.mark.parametrize("path", SNIPPETS, ids=lambda p: p.name)
def test_snippet_is_shown_on_its_chapter(path):
    page = next(text for name, text in PAGES.items() if name[:2] == path.name[:2])
    assert re.search(rf"```\{{literalinclude\}}\s+pytorch/{re.escape(path.name)}", page), path.name
