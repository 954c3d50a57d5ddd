"""The execution cache's directory depends on every module of attention_ref (docs/conf.py).

The full check (build, change the package, rebuild, see the page change) is tests/docs/test_stale_outputs.py;
these fast tests pin down the key itself, with the real docs/conf.py imported as a module (``docs`` is on
the path by pyproject.toml's pytest ``pythonpath``). Its fingerprint reads the package under ``conf.ROOT``,
so pointing ``ROOT`` at a copy of the package fingerprints the copy.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import conf  # docs/conf.py
import pytest

REPO = Path(__file__).resolve().parents[1]


def reload_conf(monkeypatch) -> None:
    """Run docs/conf.py again (it reads ATTN_NB_CACHE at import), keeping sys.path as it was."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # conf.py puts docs/_ext in front of sys.path
    importlib.reload(conf)


@pytest.fixture
def book(tmp_path, monkeypatch):
    """A copy of the package, which conf's fingerprint reads instead of the real one."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "attention_ref", tmp_path / "attention_ref", ignore=ignore)
    (tmp_path / "docs").mkdir()
    monkeypatch.setattr(conf, "ROOT", tmp_path)
    return tmp_path


def fingerprint() -> str:
    return conf._package_fingerprint()


def edit_middle_line(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[len(lines) // 2] += "  # edited"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_conf_reads_the_real_package():
    assert conf.ROOT == REPO and conf.DOCS == REPO / "docs"
    assert Path(conf.nb_execution_cache_path).name == fingerprint()


def test_cache_lives_under_ATTN_NB_CACHE_in_a_folder_named_by_the_fingerprint(tmp_path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATTN_NB_CACHE", str(tmp_path / "cache"))
        reload_conf(mp)
        path = Path(conf.nb_execution_cache_path)
        expected = tmp_path / "cache" / fingerprint()
    with pytest.MonkeyPatch.context() as mp:  # back to this environment's own setting
        reload_conf(mp)
    assert path == expected
    assert Path(conf.nb_execution_cache_path).parent != tmp_path / "cache"


def test_fingerprint_is_stable(book):
    first = fingerprint()
    assert len(first) == 16 and int(first, 16) >= 0
    assert fingerprint() == first  # same sources, same cache: unchanged pages are not re-run


@pytest.mark.parametrize(
    "edit",
    [
        lambda pkg: (pkg / "softmax.py").write_text((pkg / "softmax.py").read_text() + "\n# changed\n"),
        lambda pkg: edit_middle_line(pkg / "attention.py"),
        lambda pkg: (pkg / "new_module.py").write_text("X = 1\n"),
        lambda pkg: (pkg / "sub").mkdir() or (pkg / "sub" / "deep.py").write_text("Y = 2\n"),
        lambda pkg: (pkg / "masks.py").rename(pkg / "masks_renamed.py"),
        lambda pkg: edit_middle_line(pkg / "training" / "train.py"),
    ],
    ids=["append", "edit-constant", "new-module", "new-subpackage-module", "rename", "subpackage-edit"],
)
def test_any_change_to_the_package_moves_the_cache(book, edit):
    before = fingerprint()
    edit(book / "attention_ref")
    assert fingerprint() != before


def test_changes_to_the_pages_keep_the_cache(book):
    before = fingerprint()
    (book / "docs" / "page.md").write_text("# A page\n")  # the page's own cells are jupyter-cache's key
    assert fingerprint() == before
