"""What the site tells the web about itself, and what the packages behind it leave undone.

``docs/conf.py`` turns the features on from ``book_repository`` and ``book_site_url``
(``docs/_ext/book_site.py``): sphinx-book-theme's repository, issue and edit buttons; sphinx-sitemap and
sphinx-notfound-page (only when the site's address is known); sphinxext-opengraph (always). This
extension adds:

- the page's description (``og:description``, ``<meta name="description">``, ``og:image:alt``) read as
  the page shows it: sphinxext-opengraph's own reader puts a space between every two inline elements,
  which detaches Korean particles from a term link or inline code ("셀프 어텐션 에서", "``softmax`` 는");
- the social cards (sphinxext-opengraph draws them with matplotlib) in a Korean font: its own Roboto Flex
  has no Hangul. NanumGothic, which koreanize-matplotlib ships, is registered with matplotlib from the
  package's folder (the package is not imported: importing it changes matplotlib's settings). A card
  shows the site's name, the page's title and the address, not the description: the platforms print
  og:description beside the picture anyway, the card's small text runs its Korean lines into each other
  (NanumGothic has no line gap), and it would draw characters the font lacks as boxes (画 in chapter
  1's Japanese example). A title the font cannot draw is a warning;
- without a site address, sphinxext-opengraph writes ``og:url`` as a relative address, which Open Graph
  does not allow (it must be absolute): that tag is left out;
- ``robots.txt`` naming the sitemap, when the site's address is known;
- the 404 page is never a chapter: the front page's chapter toctree globs ``[0-9]*``, which matches
  ``404`` (it would be chapter 9 in the sidebar, and a chapter of the singlehtml build the PDF prints);
- the 404 page, served by GitHub Pages for any missing path (``/REPO/a/b/c``), keeps working links:
  sphinx-notfound-page prefixes the theme's links and images with ``notfound_urls_prefix``; this
  does the same for the links in the page's own text;
- the issue button's prefilled title and text in Korean;
- a description for the pages that have no text to take one from (search, the indexes, 404).
"""

from __future__ import annotations

import functools
import html
import importlib.util
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.config import Config

logger = logging.getLogger(__name__)

NOT_FOUND = "404"  # sphinx-notfound-page's default notfound_pagename, and what GitHub Pages serves
CARD_FONT_PACKAGE = "koreanize_matplotlib"
# NanumGothic at weights 400 (text), 600 and 700 (the card's title and address ask for "bold", 700)
CARD_FONT_FILES = ("NanumGothic.ttf", "NanumGothicBold.ttf", "NanumGothicExtraBold.ttf")


# --- the page's description -------------------------------------------------------------------------
# not read for a description: notes and warnings, comments, code, raw HTML, formulas set apart, the
# bibliography's entries and footnotes
_NOT_PROSE = (nodes.Admonition, nodes.Invisible, nodes.literal_block, nodes.raw, nodes.math_block,
              nodes.citation, nodes.footnote, nodes.field_list)


def _is_prose(paragraph: nodes.paragraph) -> bool:
    node = paragraph.parent
    while node is not None:
        if isinstance(node, _NOT_PROSE) or "cell_output" in node.get("classes", ()):
            return False
        node = node.parent
    return True


def page_description(doctree: nodes.document, description_length: int, known_titles: Any = ()) -> str:
    """The page's first paragraphs as the reader sees them, cut at a word to ``description_length``.

    Drop-in for sphinxext-opengraph's ``get_description`` (same arguments; the result is HTML-escaped, as
    the tag writer expects): the text of each paragraph is taken whole (``astext``), so a particle stays
    on its word: ``셀프 어텐션에서``, not ``셀프 어텐션 에서``.
    """
    text = ""
    for paragraph in doctree.findall(nodes.paragraph):
        if not _is_prose(paragraph):
            continue
        text = f"{text} {' '.join(paragraph.astext().split())}".strip()
        if len(text) > description_length:
            cut = text[: max(description_length - 3, 0)]
            text = (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "..."
            break
    return html.escape(text, quote=True)


# --- the social cards -------------------------------------------------------------------------------
def card_font_files() -> list[Path]:
    """The NanumGothic font files that koreanize-matplotlib ships (found without importing it)."""
    spec = importlib.util.find_spec(CARD_FONT_PACKAGE)
    if spec is None or spec.origin is None:
        return []
    fonts = Path(spec.origin).parent / "fonts"
    return [fonts / name for name in CARD_FONT_FILES if (fonts / name).is_file()]


@functools.cache
def _card_charmap() -> frozenset[int]:
    from matplotlib import font_manager

    files = card_font_files()
    return frozenset(font_manager.get_font(str(files[0])).get_charmap()) if files else frozenset()


def drawable(text: str) -> bool:
    """Whether the card font has a glyph for every character of ``text``.

    >>> drawable("셀프 어텐션: “hate”, √d_k"), drawable("この映画が嫌い")
    (True, False)
    """
    charmap = _card_charmap()
    return all(ord(ch) in charmap for ch in text if not ch.isspace())


def _title_only(create_social_card: Any) -> Any:
    """Wrap sphinxext-opengraph's card drawer: the card without the description; a title it can draw."""
    if getattr(create_social_card, "_site_metadata", False):
        return create_social_card

    @functools.wraps(create_social_card)
    def create(config_social, site_name, page_title, description, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not drawable(page_title):
            logger.warning("social card: the font has no glyph for some of %r (drawn as boxes)", page_title)
        return create_social_card(config_social, site_name, page_title, "", *args, **kwargs)

    create._site_metadata = True  # type: ignore[attr-defined]
    return create


def set_up_open_graph(app: Sphinx, config: Config) -> None:
    """Korean descriptions for sphinxext-opengraph; its cards in NanumGothic, with the title only."""
    if "sphinxext.opengraph" not in config.extensions:
        return
    import sphinxext.opengraph as ogp

    ogp.get_description = page_description  # looked up by ogp.get_tags at each page
    cards = config.ogp_social_cards or {}
    if cards.get("enable") is False or getattr(ogp, "create_social_card", None) is None:
        return
    ogp.create_social_card = _title_only(ogp.create_social_card)
    from matplotlib import font_manager

    for path in card_font_files():
        font_manager.fontManager.addfont(str(path))
    family = cards.get("font")
    if family and family not in {f.name for f in font_manager.fontManager.ttflist}:
        logger.warning(
            "social cards: font %r not found (pip install koreanize-matplotlib); its Hangul would be boxes",
            family,
        )


def keep_not_found_out_of_toctrees(app: Sphinx, doctree: nodes.document) -> None:
    """Remove the 404 page from toctrees that a glob made (before Sphinx records them, priority < 500)."""
    for toctree in doctree.findall(addnodes.toctree):
        if NOT_FOUND in toctree["includefiles"]:
            toctree["includefiles"] = [d for d in toctree["includefiles"] if d != NOT_FOUND]
            toctree["entries"] = [e for e in toctree["entries"] if e[1] != NOT_FOUND]


def _not_found_prefix(app: Sphinx) -> str | None:
    """sphinx-notfound-page's URL prefix, or None when the extension is not loaded (a local build)."""
    if "notfound.extension" not in app.extensions:
        return None
    return app.config.notfound_urls_prefix or "/"


def prefix_not_found_links(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """On the 404 page, the links of its text as absolute paths under the site (``/REPO/01-attention.html``)."""
    prefix = _not_found_prefix(app)
    if prefix is None or docname != NOT_FOUND:
        return
    for ref in doctree.findall(nodes.reference):
        uri = ref.get("refuri", "")
        if uri and not uri.startswith(("#", "/")) and not urlsplit(uri).scheme:
            ref["refuri"] = prefix + uri


def drop_relative_og_url(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Without a site address ``og:url`` is relative: not valid Open Graph, so it is left out."""
    if app.config.ogp_site_url or "metatags" not in context:
        return
    lines = context["metatags"].split("\n")
    context["metatags"] = "\n".join(
        line for line in lines if not (line.startswith('<meta property="og:url"') and "://" not in line)
    )


# pages with no text of their own to describe them (Sphinx writes the first three; 404 has ogp_disable)
GENERATED_DESCRIPTIONS = {
    "search": "어텐션 메커니즘 교과서의 본문과 용어집을 검색합니다. "
    "조사를 붙인 낱말(어텐션은, 쿼리를)로 찾아도 됩니다.",
    "genindex": "어텐션 메커니즘 교과서의 색인: 용어집의 용어와 attention_ref 패키지의 함수, "
    "클래스가 가나다순으로 있습니다.",
    "py-modindex": "어텐션 메커니즘 교과서가 쓰는 attention_ref 패키지의 모듈 목록입니다.",
    NOT_FOUND: "요청한 주소에 어텐션 메커니즘 교과서의 페이지가 없습니다. 차례에서 읽으려던 장을 고르세요.",
}


def describe_generated_pages(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """A ``<meta name="description">`` for the pages sphinxext-opengraph gives none (search engines show it)."""
    metatags = context.get("metatags", "")
    if pagename not in GENERATED_DESCRIPTIONS or 'name="description"' in metatags:
        return
    text = html.escape(GENERATED_DESCRIPTIONS[pagename], quote=True)
    context["metatags"] = f'{metatags}\n<meta name="description" content="{text}" />'


ISSUE_BODY = "어느 부분에서 무엇이 잘못되었거나 궁금한지 적어 주세요."


def issue_query(pagename: str, title: str, site_url: str | None) -> str:
    """The query of GitHub's new-issue form for a page: a Korean title and text naming the page.

    >>> from urllib.parse import parse_qs
    >>> q = parse_qs(issue_query("01-attention", "어텐션이란", "https://kim.github.io/attention-book/"))
    >>> q["title"], q["body"][0].splitlines()[0]
    (['[01-attention] 어텐션이란'], '페이지: https://kim.github.io/attention-book/01-attention.html')
    """
    body = ISSUE_BODY if not site_url else f"페이지: {site_url}{pagename}.html\n\n{ISSUE_BODY}"
    return f"title={quote(f'[{pagename}] {title}')}&body={quote(body)}"


def korean_issue_text(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """The issue button opens GitHub's form with a Korean title and text (the theme writes English)."""
    buttons = list(context.get("header_buttons", []))
    for group in context.get("header_buttons", []):
        buttons += group.get("buttons", [])
    title = html.unescape(re.sub(r"<[^>]+>", "", context.get("title", ""))).strip()
    for button in buttons:
        if button.get("label") == "source-issues-button" and "/issues/new?" in button.get("url", ""):
            base = button["url"].split("?", 1)[0]
            button["url"] = f"{base}?{issue_query(pagename, title, app.config.book_site_url)}"


def robots_txt(site_url: str) -> str:
    """``robots.txt`` for the site at ``site_url``: everything may be read; where the sitemap is.

    >>> print(robots_txt("https://kim.github.io/attention-book/"), end="")
    User-agent: *
    Disallow:
    <BLANKLINE>
    Sitemap: https://kim.github.io/attention-book/sitemap.xml
    """
    return f"User-agent: *\nDisallow:\n\nSitemap: {site_url}sitemap.xml\n"


def write_robots_txt(app: Sphinx, exception: Exception | None) -> None:
    """robots.txt next to sitemap.xml (crawlers read it only at a host's root: a custom domain or a
    user site; under a project site's sub-path it is harmless)."""
    site_url = app.config.book_site_url
    if exception is not None or app.builder.format != "html" or not site_url:
        return
    Path(app.outdir, "robots.txt").write_text(robots_txt(site_url), encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("book_site")  # book_site_url
    app.connect("config-inited", set_up_open_graph)
    app.connect("doctree-read", keep_not_found_out_of_toctrees, priority=400)
    app.connect("doctree-resolved", prefix_not_found_links)
    app.connect("html-page-context", drop_relative_og_url, priority=600)  # after sphinxext-opengraph (500)
    app.connect("html-page-context", korean_issue_text, priority=600)  # after the theme's buttons (501)
    app.connect("html-page-context", describe_generated_pages, priority=600)
    app.connect("build-finished", write_robots_txt)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
