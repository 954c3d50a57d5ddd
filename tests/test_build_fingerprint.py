"""The execution cache's directory depends on every module of attention_ref (docs/conf.py).

The full check (build, change the package, rebuild, see the page change) is tests/docs/test_stale_outputs.py;
these fast tests pin down the key itself: the real conf.py, run as if it sat next to a copy of the package.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def cache_path(root: Path) -> str:
    """``nb_execution_cache_path`` that the real docs/conf.py computes for a book rooted at ``root``."""
    src = (REPO / "docs" / "conf.py").read_text(encoding="utf-8")
    ns = {"__file__": str(root / "docs" / "conf.py"), "__name__": "conf"}
    exec(compile(src, str(REPO / "docs" / "conf.py"), "exec"), ns)
    return ns["nb_execution_cache_path"]


def edit_middle_line(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[len(lines) // 2] += "  # edited"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def book(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_NB_CACHE", str(tmp_path / "cache"))
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "attention_ref", tmp_path / "attention_ref", ignore=ignore)
    (tmp_path / "docs").mkdir()
    return tmp_path


def test_cache_lives_under_ATTN_NB_CACHE_and_is_stable(book):
    first = cache_path(book)
    assert Path(first).parent == book / "cache"
    assert cache_path(book) == first  # same sources, same cache: unchanged pages are not re-run


@pytest.mark.parametrize(
    "edit",
    [
        lambda pkg: (pkg / "softmax.py").write_text((pkg / "softmax.py").read_text() + "\n# changed\n"),
        lambda pkg: edit_middle_line(pkg / "attention.py"),
        lambda pkg: (pkg / "new_module.py").write_text("X = 1\n"),
        lambda pkg: (pkg / "sub").mkdir() or (pkg / "sub" / "deep.py").write_text("Y = 2\n"),
        lambda pkg: (pkg / "masks.py").rename(pkg / "masks_renamed.py"),
    ],
    ids=["append", "edit-constant", "new-module", "new-subpackage-module", "rename"],
)
def test_any_change_to_the_package_moves_the_cache(book, edit):
    before = cache_path(book)
    edit(book / "attention_ref")
    after = cache_path(book)
    assert after != before and Path(after).parent == Path(before).parent


def test_changes_to_the_pages_keep_the_cache(book):
    before = cache_path(book)
    (book / "docs" / "page.md").write_text("# A page\n")  # the page's own cells are jupyter-cache's key
    assert cache_path(book) == before
