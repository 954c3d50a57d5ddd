"""docs/_ext/notebook_download.py: the site's wheel, built without touching the checkout.

The buildcheck session runs two Sphinx builds of the book at once; each builds the package's wheel at
build-finished. Built in the checkout, setuptools' ``build/`` folder is shared by both runs and one of
them fails (it did in CI: "sphinx-build failed" in test_site_metadata). These tests build the wheel of
a copy of the project twice at the same time, as those builds do.
"""

from __future__ import annotations

import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))
import notebook_download

REPO = Path(__file__).resolve().parents[2]


def project_copy(root: Path) -> Path:
    """The files the wheel is built from, and an empty docs/ folder for ``confdir``."""
    notebook_download.copy_sources(REPO, notebook_download.wheel_sources(REPO), root)
    (root / "docs").mkdir()
    return root


def fake_app(root: Path, out: Path) -> SimpleNamespace:
    (out / "html").mkdir(parents=True)
    return SimpleNamespace(confdir=str(root / "docs"), outdir=str(out / "html"), builder=SimpleNamespace(format="html"))


def test_two_builds_at_once_each_get_the_wheel_and_leave_the_sources_alone(tmp_path):
    root = project_copy(tmp_path / "project")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    apps = [fake_app(root, tmp_path / name) for name in ("published", "local")]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda app: notebook_download.build_wheel(app, None), apps))
    name = notebook_download.wheel_name(apps[0])
    for app in apps:
        wheel = Path(app.outdir, notebook_download.WHEEL_DIR, name)
        assert wheel.is_file(), wheel
        names = set(zipfile.ZipFile(wheel).namelist())
        assert "attention_ref/training/seq2seq.py" in names and "attention_ref/book/pages.py" in names, names
    after = sorted(p.relative_to(root) for p in root.rglob("*"))
    assert after == before, f"the wheel build wrote into the sources: {sorted(set(after) - set(before))}"


def test_a_second_build_reuses_the_cached_wheel(tmp_path):
    root = project_copy(tmp_path / "project")
    app = fake_app(root, tmp_path / "out")
    notebook_download.build_wheel(app, None)
    cached = next(Path(app.outdir).parent.glob(".wheels/*/*.whl"))
    stamp = cached.stat().st_mtime_ns
    notebook_download.build_wheel(app, None)
    assert cached.stat().st_mtime_ns == stamp  # not built again
    (root / "attention_ref" / "softmax.py").write_text("# changed\n", encoding="utf-8")
    notebook_download.build_wheel(app, None)
    wheels = list(Path(app.outdir).parent.glob(".wheels/*/*.whl"))
    assert len(wheels) == 1 and wheels[0] != cached, wheels  # new sources, new wheel; the old one removed


def test_the_wheel_started_early_is_the_one_put_into_the_site(tmp_path, monkeypatch):
    # env-updated starts the build in a thread; build-finished waits for it and copies it in
    root = project_copy(tmp_path / "project")
    app = fake_app(root, tmp_path / "out")
    calls = []
    real = notebook_download.make_wheel
    monkeypatch.setattr(notebook_download, "make_wheel", lambda app: calls.append(app) or real(app))
    notebook_download.start_wheel(app, None)
    notebook_download.start_wheel(app, None)  # a second env-updated round does not start another
    notebook_download.build_wheel(app, None)
    assert len(calls) == 1
    assert Path(app.outdir, notebook_download.WHEEL_DIR, notebook_download.wheel_name(app)).is_file()


def test_a_wheel_that_fails_in_the_background_fails_the_build(tmp_path, monkeypatch):
    app = fake_app(project_copy(tmp_path / "project"), tmp_path / "out")

    def broken(app):
        raise RuntimeError("building attention_ref-0.1.0-py3-none-any.whl failed")

    monkeypatch.setattr(notebook_download, "make_wheel", broken)
    notebook_download.start_wheel(app, None)
    try:
        notebook_download.build_wheel(app, None)
    except RuntimeError as error:
        assert "failed" in str(error)
    else:
        raise AssertionError("the error of the wheel's thread was lost")
