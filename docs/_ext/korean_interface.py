"""The site's interface in Korean: theme strings, search-page messages, notebook cell prompts.

- ``docs/locale/ko/LC_MESSAGES/sphinx.po`` (via ``locale_dirs`` in conf.py): Sphinx compiles it to
  ``sphinx.mo`` when the build starts and puts it before its own Korean catalog. It translates
  pydata-sphinx-theme's strings (Back to top, Skip to main content, Color mode ...) and fixes Sphinx's
  empty or awkward Korean ones.
- ``booktheme.po`` beside it: compiled here to ``booktheme.mo`` and registered before
  sphinx-book-theme's own Korean catalog ("By" -> "으로", "Search..." untranslated).
- ``translations.js`` (messages of the search page: "검색 결과", "... 찾았습니다"): Sphinx copies its own
  prebuilt Korean file, which has an empty "Search finished" message. It is rewritten at the end of the
  build from the merged catalogs above, so the .po files are the one source for both.
- myst-nb's collapsed-cell prompts: conf.py sets ``nb_code_prompt_show = "{type} 보기"``; myst-nb fills
  ``{type}`` with an English word (source, outputs, content), translated here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphinx.locale import get_translator
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.i18n import CatalogInfo

if TYPE_CHECKING:
    from sphinx.application import Sphinx

logger = logging.getLogger(__name__)

LANGUAGE = "ko"

# myst-nb's {type} in the hidden-cell prompts
CELL_PARTS = {"content": "코드 셀", "source": "코드", "output": "출력", "outputs": "출력"}


def _locale_dirs(app: Sphinx) -> list[Path]:
    return [Path(app.srcdir, d) for d in app.config.locale_dirs]


def register_book_theme_catalog(app: Sphinx) -> None:
    """Compile our booktheme.po and register it ahead of the theme's (which loads after us)."""
    for base in _locale_dirs(app):
        po = base / LANGUAGE / "LC_MESSAGES" / "booktheme.po"
        if po.is_file():
            catalog = CatalogInfo(str(po.parent), "booktheme", "utf-8")
            if catalog.is_outdated():
                catalog.write_mo(LANGUAGE)
            app.add_message_catalog("booktheme", str(base))


def _read_po_ids(po: Path) -> list[str | tuple[str, str]]:
    """msgids of a .po file (pairs for plural entries)."""
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        return [m.id for m in read_po(f) if m.id]


def write_translations_js(app: Sphinx, exception: Exception | None) -> None:
    """Rewrite _static/translations.js from the merged catalogs (ours first, then Sphinx's)."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir, "_static", "translations.js")
    if not target.is_file():
        return
    source = target.read_text(encoding="utf-8")
    match = re.search(r"Documentation\.addTranslations\((\{.*\})\);", source, flags=re.S)
    if match is None:
        logger.warning("translations.js has an unexpected format; left as Sphinx wrote it")
        return
    catalog = json.loads(match.group(1))
    ids: list[str | tuple[str, str]] = [
        k if isinstance(v, str) else (k, k) for k, v in catalog["messages"].items()
    ]
    for base in _locale_dirs(app):
        po = base / LANGUAGE / "LC_MESSAGES" / "sphinx.po"
        if po.is_file():
            ids += _read_po_ids(po)
    translator = get_translator()
    messages: dict[str, Any] = {}
    for msgid in ids:
        if isinstance(msgid, tuple):
            singular, plural = msgid
            messages[singular] = [translator.ngettext(singular, plural, 1)]
        else:
            messages[msgid] = translator.gettext(msgid)
    catalog["messages"] = messages
    catalog["locale"] = LANGUAGE
    target.write_text(
        "Documentation.addTranslations("
        + json.dumps(catalog, ensure_ascii=False, indent=4, sort_keys=True)
        + ");\n",
        encoding="utf-8",
    )


class KoreanCellPrompts(SphinxPostTransform):
    """Translate the part named in myst-nb's show/hide prompts (runs after myst-nb's at 199)."""

    default_priority = 200
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        from myst_nb.sphinx_ import HideCodeCellNode

        for node in self.document.findall(HideCodeCellNode):
            for key in ("prompt_show", "prompt_hide"):
                word, _, rest = node[key].partition(" ")
                if word in CELL_PARTS:
                    node[key] = f"{CELL_PARTS[word]} {rest}"


def setup(app: Sphinx) -> dict[str, Any]:
    register_book_theme_catalog(app)
    app.add_post_transform(KoreanCellPrompts)
    app.connect("build-finished", write_translations_js)
    # copy-button tooltips (sphinx-copybutton has no Korean) and a hard-coded aria label
    app.add_js_file("korean-interface.js", priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
