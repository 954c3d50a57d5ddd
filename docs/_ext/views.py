"""The interactive views' script and style, on the pages that have a view and on no other page.

A page cell that ends with :func:`attention_ref.book.views.attention_view` puts a
``<div class="attn-view">`` holding its data into the page. For such a page only, this extension adds
``_static/attention-views.js`` (deferred: it runs once the page is parsed and never blocks the first
paint) and ``_static/attention-views.css``. Sphinx keeps assets added during ``html-page-context`` for
that one page, so the other pages load neither file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sphinx.application import Sphinx

JS_FILE = "attention-views.js"
CSS_FILE = "attention-views.css"
MARKER = '<div class="attn-view"'  # what attention_ref.book.views.view_html writes (a code sample has &lt;div)


def add_view_assets(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    """On a page whose body holds a view, load the views' script (deferred) and style sheet."""
    if MARKER in context.get("body", ""):
        app.add_js_file(JS_FILE, loading_method="defer")
        app.add_css_file(CSS_FILE)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", add_view_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
