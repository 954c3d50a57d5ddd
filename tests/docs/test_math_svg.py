"""docs/_ext/math_svg.py: every page's new formulas go to Node in one run, in the background."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from docutils import nodes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))
import math_svg


def page(*formulas: tuple[str, bool]) -> nodes.document:
    doc = nodes.section()
    for tex, display in formulas:
        doc += nodes.math_block(tex, tex) if display else nodes.paragraph("", "", nodes.math(tex, tex))
    return doc


@pytest.fixture
def app(tmp_path, monkeypatch):
    calls = []

    def fake_render(items):
        calls.append(list(items))
        return {"items": [{"svg": f"<svg>{t}</svg>", "mml": "<math/>", "error": None} for t, _ in items],
                "glyphs": {}, "css": "css"}

    monkeypatch.setattr(math_svg, "render", fake_render)
    app = SimpleNamespace(builder=SimpleNamespace(format="html"), outdir=str(tmp_path / "html"),
                          env=SimpleNamespace(docname=None))
    math_svg.start(app)
    app.calls = calls
    return app


def read(app, docname, doctree):
    app.env.docname = docname
    math_svg.note_items(app, doctree)


def test_all_pages_formulas_are_rendered_in_one_run_before_any_page_is_written(app):
    read(app, "a", page(("x^2", False), ("a = b", True)))
    read(app, "b", page(("x^2", False), (r"\alpha", False)))
    math_svg.render_ahead(app, app.env)
    math_svg.collect(app, page(("x^2", False), ("a = b", True)), "a")
    math_svg.collect(app, page(("x^2", False), (r"\alpha", False)), "b")
    assert app.calls == [[("x^2", False), ("a = b", True), (r"\alpha", False)]]
    assert set(math_svg._cache().formulas) == {"Ix^2", "Da = b", r"I\alpha"}


def test_a_formula_not_seen_while_reading_is_rendered_when_its_page_is_written(app):
    read(app, "a", page(("x^2", False)))
    math_svg.render_ahead(app, app.env)
    math_svg.collect(app, page(("x^2", False), ("y", False)), "a")
    assert app.calls == [[("x^2", False)], [("y", False)]]


def test_nothing_new_nothing_rendered(app):
    read(app, "a", page(("x^2", False)))
    math_svg.render_ahead(app, app.env)
    math_svg._cache()
    math_svg.purge_items(app, app.env, "a")
    math_svg.render_ahead(app, app.env)
    assert app.calls == [[("x^2", False)]]


def test_an_error_in_the_background_is_raised_in_the_build(app, monkeypatch):
    def broken(items):
        raise RuntimeError("math_svg.js failed (1)")

    monkeypatch.setattr(math_svg, "render", broken)
    read(app, "a", page(("x^2", False)))
    math_svg.render_ahead(app, app.env)
    with pytest.raises(RuntimeError, match=r"math_svg\.js failed"):
        math_svg.collect(app, page(("x^2", False)), "a")
