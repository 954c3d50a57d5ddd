"""attention_ref.book.pages.glue: myst-nb's glue in the book's build, a plain display in a reader's Jupyter."""

from __future__ import annotations

import sys
import types

import pytest

from attention_ref.book.pages import glue


def test_glue_hands_over_to_myst_nb_when_it_is_there(monkeypatch):
    calls = []
    fake = types.ModuleType("myst_nb")
    fake.glue = lambda name, value, display=True: calls.append((name, value, display))
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    glue("alpha", 0.5, display=False)
    glue("beta", 2)
    assert calls == [("alpha", 0.5, False), ("beta", 2, True)]


def test_glue_without_myst_nb_shows_the_value_or_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import myst_nb raises ImportError
    shown = []
    ipython_display = types.ModuleType("IPython.display")
    ipython_display.display = shown.append
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", ipython_display)
    glue("alpha", 0.5, display=False)
    assert shown == []
    glue("beta", 2)
    assert shown == [2]


@pytest.mark.parametrize("name", ["", None, 3])
def test_glue_needs_a_name(name):
    with pytest.raises(TypeError, match="name must be a non-empty str"):
        glue(name, 1)
