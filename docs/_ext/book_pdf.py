"""The whole book as one PDF: a "책 전체 PDF" entry in every page's download menu, and the print styles.

``nox -s pdf`` prints a ``singlehtml`` build of the book with Chromium (docs/_tools/make_pdf.py) into
``<html outdir>/attention-textbook.pdf``, so the hosted site serves it next to the pages. This extension

- adds an entry linking to that file (a relative URL: the site may be served from a sub-path) to the
  download menu sphinx-book-theme builds in ``context["header_buttons"]``; a page without a download
  menu (the general index, the search page) gets a menu holding only this entry. The link is there even
  before the PDF is built.
- in a ``singlehtml`` build only (the one make_pdf.py prints), adds ``_static/print.css``, the book's
  print styles: page breaks, running text widths, code and tables that must not be clipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sphinx.application import Sphinx

BOOK_PDF = "attention-textbook.pdf"  # in the html output directory; make_pdf.py writes it there
ENTRY_TEXT = "책 전체 PDF"
ENTRY_LABEL = "download-book-pdf-button"  # the link's class becomes btn-download-book-pdf-button


def book_pdf_entry(pathto: Any) -> dict[str, str]:
    return {
        "type": "link",
        "url": pathto(BOOK_PDF, 1),  # relative to the page, e.g. "../attention-textbook.pdf"
        "text": ENTRY_TEXT,
        "tooltip": "책 전체를 PDF 한 파일로 내려받기",
        "icon": "fas fa-book",
        "label": ENTRY_LABEL,
    }


def add_book_pdf_entry(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    buttons = context.get("header_buttons")
    if buttons is None or "pathto" not in context:  # not sphinx-book-theme, or not a themed page
        return
    entry = book_pdf_entry(context["pathto"])
    for button in buttons:
        if button.get("type") == "group" and button.get("label") == "download-buttons":
            button["buttons"].append(entry)
            return
    # pages built from no source (genindex, search) have no download menu: give them one
    buttons.insert(0, {
        "type": "group",
        "tooltip": "내려받기",
        "icon": "fas fa-download",
        "buttons": [entry],
        "label": "download-buttons",
    })


def add_print_css(app: Sphinx) -> None:
    if app.builder.name == "singlehtml":
        app.add_css_file("print.css", media="print")


def setup(app: Sphinx) -> dict[str, Any]:
    # after sphinx-book-theme's add_header_buttons (priority 501), which creates the download menu
    app.connect("html-page-context", add_book_pdf_entry, priority=600)
    app.connect("builder-inited", add_print_css)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
