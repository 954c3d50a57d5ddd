"""Accessibility fixes to the HTML that the theme, myst-nb and docutils write (checked by axe-core:
tests/browser/test_axe.py).

In each page's body (``html-page-context``):

- myst-nb's collapsed cells: ``<summary aria-label="Toggle hidden content">`` names the toggle with a
  phrase that is not the text it shows ("코드 보기"), which WCAG 2.5.3 (label in name) forbids; without
  the label its name is the shown text.
- the references list: docutils writes ``<div role="list">`` holding ``role="doc-biblioentry"`` items, a
  role that DPUB-ARIA 1.1 deprecates and that a list may not hold; the items become ``listitem``.
- footnotes (the API page's docstrings): docutils wraps them in ``<aside class="footnote-list">``, a
  complementary landmark inside ``<main>``; the wrapper gets ``role="none"`` (each footnote keeps
  ``role="doc-footnote"``).

In the page around it, through the ``a11y_chrome`` filter that ``docs/_templates/layout.html`` applies to
its ``content`` block:

- the primary sidebar's brand (the book's title linking to its first page) sits outside every landmark;
  it is put in a ``<nav>`` of its own, with a Korean label;
- the sidebar's search button shows "검색 Ctrl+K" but is labelled "검색"; without the label its name is
  what it shows;
- the Python module index lays its rows out with a table that has no header cells: it is marked
  ``role="presentation"`` (a layout table, read as the list it is).

What depends on the screen is done in the browser, by docs/_static/korean-interface.js: a code block,
output, table or formula that scrolls on a phone is made reachable with the keyboard (and a scrolling
table named as a region), each box when it nears the screen, every one at the reader's first Tab.

If the sidebar's brand or search button is no longer what the theme writes, that is a warning (``-W``:
an error); the body's fixes are checked by tests/browser/test_axe.py, so a theme or docutils update
cannot undo a fix unnoticed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from sphinx.util import logging

if TYPE_CHECKING:
    from sphinx.application import Sphinx

logger = logging.getLogger(__name__)

BRAND_LABEL = "책 첫 페이지"

HIDDEN_CELL_SUMMARY = re.compile(r'<summary aria-label="[^"]*">')
BIBLIOENTRY = re.compile(r'(<div class="citation"[^>]*?) role="doc-biblioentry"')
FOOTNOTE_LIST = re.compile(r'<aside class="footnote-list')
SIDEBAR = 'class="sidebar-primary-items__start'
BRAND = re.compile(
    r'(<div class="sidebar-primary-item">)(\s*<a class="navbar-brand logo"[^>]*>.*?</a>\s*)(</div>)', re.S
)
SEARCH_FIELD = re.compile(r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="[^"]*"')
INDEX_TABLE = re.compile(r'<table class="indextable modindextable">')


def fix_body(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    body = context.get("body")
    if not body:
        return
    body = HIDDEN_CELL_SUMMARY.sub("<summary>", body)
    body = BIBLIOENTRY.sub(r'\1 role="listitem"', body)
    body = FOOTNOTE_LIST.sub('<aside role="none" class="footnote-list', body)
    context["body"] = body


# the sidebar's toggle of a page with sub-pages (pydata's toctree): an icon only, so axe's summary-name
# asks for a name
TOCTREE_TOGGLE = '<summary><span class="toctree-toggle" role="presentation">'
TOCTREE_TOGGLE_LABEL = "하위 페이지 목록 열고 닫기"


def a11y_chrome(html: str, pagename: str = "") -> Markup:
    """The page's layout with the sidebar's brand in a landmark, the search button named by its text, and
    the sidebar's sub-page toggles named."""
    html = str(html)
    if SIDEBAR in html:
        html, found = BRAND.subn(rf'\1<nav class="bd-brand-nav" aria-label="{BRAND_LABEL}">\2</nav>\3', html, count=1)
        if not found:
            logger.warning("a11y: %s: the sidebar's brand is not where docs/_ext/a11y.py looks for it", pagename)
    if "search-button-field" in html:
        html, found = SEARCH_FIELD.subn(r"\1", html)
        if not found:
            logger.warning("a11y: %s: the search button is not what docs/_ext/a11y.py expects", pagename)
    html = INDEX_TABLE.sub('<table class="indextable modindextable" role="presentation">', html)
    named = TOCTREE_TOGGLE.replace("<summary>", f'<summary aria-label="{TOCTREE_TOGGLE_LABEL}">')
    html = html.replace(TOCTREE_TOGGLE, named)
    return Markup(html)


def register_filter(app: Sphinx) -> None:
    templates = getattr(app.builder, "templates", None)
    if templates is not None and hasattr(templates, "environment"):
        templates.environment.filters["a11y_chrome"] = a11y_chrome


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", register_filter)
    app.connect("html-page-context", fix_body)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
