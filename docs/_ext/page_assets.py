"""What a page loads before it can paint: one stylesheet, no blocking script, lighter code blocks.

Measured with Lighthouse's mobile profile (simulated slow 4G, 4x CPU slowdown; docs/_tools/lighthouse.py),
a page of this book spent its first two seconds on what the theme loads in ``<head>``: eleven
stylesheets (one of them ``@import``-ing a twelfth), eight synchronous scripts, two script preloads that
compete with the stylesheets for the connection, and Font Awesome's 115 KB ``fa-solid-900.woff2``
fetched for the few glyphs that the theme's CSS draws (admonition and breadcrumb icons). A chapter's
DOM held 11,000 elements, 4,000 of them ``<span>`` wrappers that Pygments puts around names and
punctuation and that the theme's colours draw exactly like the surrounding code. This extension:

* writes ``_static/book.css`` at the end of the build: the theme's two stylesheets
  (``styles/theme.css`` with its ``@import`` of ``basic.css`` inlined, ``styles/pydata-sphinx-theme.css``)
  and every stylesheet registered for all pages, in the order Sphinx would link them, each ``url()``
  rewritten for the bundle's folder. Font Awesome's table of icon classes (``.fa-x{--fa:"..."}``, 66 KB;
  docs/_ext/icons.py draws the ``<i>`` icons) is left out, and each Font Awesome ``@font-face`` keeps
  only the glyphs that the remaining CSS names, as a subset font inlined in the stylesheet (a few KB,
  no request). ``docs/_templates/layout.html`` links the bundle instead of the theme's files. A small
  stylesheet added for one page (the views', 10 KB) is written into that page's ``<head>`` instead of
  being a second stylesheet to wait for; the print stylesheet stays a link (it never blocks);
* drops from the bundle every selector that needs a class no page or script of the built site names
  (``drop_unused_rules``): two thirds of the bundle were rules for theme and sphinx-design components
  this book does not use (482 KB -> 169 KB, 80 -> 36 KB gzipped, when it was written). A class that a
  script adds is a word of that script and stays; so does a family whose names a script builds
  (`` `bs-${x}` ``, ``"kind-" + x``);
* makes every script file in ``<head>`` ``defer`` (they run in the same order, after parsing, before
  ``DOMContentLoaded``), with ``documentation_options.js`` inlined so that the inline scripts that set
  ``DOCUMENTATION_OPTIONS.pagename`` still find it;
* takes out of pydata-sphinx-theme's script the check that measures every code block, output and table
  of the page once it has loaded (to make those that scroll focusable): with custom.css letting the
  browser skip the layout of sections off screen, that check was the one task that laid out the whole
  chapter at once. ``_static/korean-interface.js`` makes the same boxes focusable, each as it nears the
  screen, every one at the reader's first Tab;
* unwraps, inside highlighted code, the Pygments spans whose token style equals the code's base style
  in both the light and the dark Pygments style of the theme (so nothing changes on screen); which
  classes those are is computed from the styles, not listed here. Likewise docutils' span around each
  word of inline code and of API signatures, whose only rule custom.css already undoes in the article.

The build fails (a warning under ``-W``) when the theme's stylesheets or that check are not where this expects them,
when an ``@import`` cannot be inlined, or when a glyph named by the CSS is missing from its font.
"""

from __future__ import annotations

import base64
import io
import posixpath
import re
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphinx.util import logging

if TYPE_CHECKING:
    from sphinx.application import Sphinx

logger = logging.getLogger(__name__)

BUNDLE = "book.css"
# pydata-sphinx-theme's own stylesheets, linked by its head_pre_assets() macro before Sphinx's css_files
THEME_CSS = ("styles/theme.css", "styles/pydata-sphinx-theme.css")
OPTIONS_JS = "_static/documentation_options.js"

_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?(['"]?)([^'");\s]+)\1\s*\)?\s*([^;]*);""")
_SOURCE_MAP = re.compile(r"/\*#\s*sourceMappingURL=[^*]*\*/")
# Font Awesome's icon classes: `.fa-a,.fa-b{--fa:"\f123"}` (one rule per icon, after a closing brace)
_FA_TABLE = re.compile(r"""(?<=\})(?:\.fa-[\w-]+,?)+\{--fa:"(?:[^"\\]|\\.)*"\}""")
_FONT_FACE = re.compile(r"@font-face\s*\{([^}]*)\}")
_PUA_ESCAPE = re.compile(r"\\([0-9a-fA-F]{4,6})\s?")
_PUA = range(0xE000, 0xF900)  # Unicode's private use area, where icon fonts put their glyphs


# --- the stylesheet bundle -------------------------------------------------------------------------------------


def _is_relative(url: str) -> bool:
    return not re.match(r"^(?:[a-z][a-z0-9+.-]*:|/|#)", url, flags=re.I)


def inline_css(static: Path, name: str, seen: tuple[str, ...] = ()) -> str:
    """The stylesheet ``static/name`` with its ``@import``s inlined and its URLs relative to ``static``."""
    if name in seen:
        msg = f"@import cycle: {' -> '.join((*seen, name))}"
        raise ValueError(msg)
    path = static / name
    if not path.is_file():
        msg = f"{path} is missing"
        raise FileNotFoundError(msg)
    folder = posixpath.dirname(name)
    text = _SOURCE_MAP.sub("", path.read_text(encoding="utf-8"))

    def rebase(url: str) -> str:
        return posixpath.normpath(posixpath.join(folder, url)) if _is_relative(url) else url

    def imported(match: re.Match[str]) -> str:
        target, media = match.group(2), match.group(3).strip()
        if not _is_relative(target) or media:
            msg = f"{path}: cannot inline {match.group(0)!r}"
            raise ValueError(msg)
        return inline_css(static, rebase(target), (*seen, name))

    # the @imports set aside, the file's own url()s rebased, then the imported files (already rebased) put in
    held: list[re.Match[str]] = []
    text = _IMPORT.sub(lambda m: held.append(m) or f"\0{len(held) - 1}\0", text)
    text = _URL.sub(lambda m: f'url("{rebase(m.group(2))}")', text)
    text = re.sub("\0(\\d+)\0", lambda m: imported(held[int(m.group(1))]), text)
    return f"/* {name} */\n{text}\n"


def glyphs_named(css: str) -> set[int]:
    """Private-use code points that the stylesheet names (as ``\\f123`` escapes or as characters)."""
    points = {int(h, 16) for h in _PUA_ESCAPE.findall(css)}
    points |= {ord(c) for c in css if ord(c) in _PUA}
    return {p for p in points if p in _PUA}


def subset_font(font_file: Path, points: set[int]) -> tuple[bytes, set[int]]:
    """``font_file`` cut down to the glyphs of ``points`` it has, as WOFF2 bytes; and those points."""
    import logging as stdlib_logging

    from fontTools import subset
    from fontTools.ttLib import TTFont

    stdlib_logging.getLogger("fontTools").setLevel(stdlib_logging.WARNING)  # its INFO lines reach stderr

    font = TTFont(str(font_file))
    have = points & set(font.getBestCmap())
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(have))
    subsetter.subset(font)
    out = io.BytesIO()
    font.flavor = "woff2"
    font.save(out)
    return out.getvalue(), have


def fold_icon_fonts(css: str, static: Path) -> tuple[str, dict[str, int]]:
    """Font Awesome's class table dropped, its fonts subset to the glyphs the CSS names and inlined.

    Returns the stylesheet and, per font file, how many glyphs it kept (0: the ``@font-face`` is gone).
    """
    css = _FA_TABLE.sub("", css)
    points = glyphs_named(_FONT_FACE.sub("", css))
    kept: dict[str, int] = {}

    def face(match: re.Match[str]) -> str:
        body = match.group(1)
        if "font awesome" not in body.lower().replace("\\", ""):
            return match.group(0)
        urls = [u for _, u in _URL.findall(body) if _is_relative(u)]
        if len(urls) != 1:
            msg = f"a Font Awesome @font-face with {len(urls)} local fonts: {body[:200]}"
            raise ValueError(msg)
        data, have = subset_font(static / urls[0], points)
        kept[urls[0]] = len(have)
        drawn.update(have)
        if not have:
            return ""
        src = f'url("data:font/woff2;base64,{base64.b64encode(data).decode()}") format("woff2")'
        return "@font-face{" + re.sub(r"src\s*:[^;}]*", "src:" + src, body) + "}"

    drawn: set[int] = set()
    css = _FONT_FACE.sub(face, css)
    missing = points - drawn
    if missing:
        msg = f"no Font Awesome font draws the glyphs {sorted(map(hex, missing))}"
        raise ValueError(msg)
    return css, kept


# --- rules that match nothing on the site ------------------------------------------------------------------------

# at-rules whose block holds style rules (filtered like the top level); any other block is kept whole
_GROUPING = frozenset({"media", "supports", "layer", "container", "document", "-moz-document"})
# pseudo-classes whose argument is a selector: a class inside it need not be on the page for the rule to match
_SELECTOR_ARG = re.compile(r":(?:not|is|where|has|matches|-webkit-any|-moz-any)\(")
_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_WORDS = re.compile(r"[\w-]+")
# a class name that a script builds: `bs-${name}`, "kind-" + x
_BUILT_PREFIX = re.compile(r"""(?:`|["'])([A-Za-z][\w-]*-)(?:\$\{|["']\s*\+)""")


def _skip_string_or_comment(css: str, i: int) -> int:
    """The index after the string or comment starting at ``css[i]``, or ``i`` when none starts there."""
    if css.startswith("/*", i):
        end = css.find("*/", i + 2)
        return len(css) if end < 0 else end + 2
    if css[i] in "\"'":
        j = i + 1
        while j < len(css) and css[j] != css[i]:
            j += 2 if css[j] == "\\" else 1
        return j + 1
    return i


def css_items(css: str) -> list[tuple[str, str | None]]:
    """The top-level items of a stylesheet: ``(prelude, block)``; ``block`` is None for ``@import ...;``."""
    items: list[tuple[str, str | None]] = []
    i = start = 0
    while i < len(css):
        skip = _skip_string_or_comment(css, i)
        if skip != i:
            i = skip
        elif css[i] == ";":
            items.append((css[start:i + 1], None))
            i = start = i + 1
        elif css[i] == "{":
            depth, j = 1, i + 1
            while j < len(css) and depth:
                skip = _skip_string_or_comment(css, j)
                if skip != j:
                    j = skip
                    continue
                depth += {"{": 1, "}": -1}.get(css[j], 0)
                j += 1
            if depth:
                msg = f"unbalanced braces after {css[max(0, i - 80):i]!r}"
                raise ValueError(msg)
            items.append((css[start:i], css[i + 1:j - 1]))
            i = start = j
        else:
            i += 1
    if css[start:].strip():
        items.append((css[start:], None))
    return items


def _top_level_commas(selectors: str) -> list[str]:
    parts, depth, begin = [], 0, 0
    for k, ch in enumerate(selectors):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(selectors[begin:k])
            begin = k + 1
    return [*parts, selectors[begin:]]


def classes_required(selector: str) -> set[str]:
    """The classes an element must have for ``selector`` to match it (not those inside ``:not()``, ``:is()``...)."""
    selector = re.sub(r"\[[^\]]*\]", "", selector)  # attribute values may hold dots
    kept, i = [], 0
    while (m := _SELECTOR_ARG.search(selector, i)) is not None:
        kept.append(selector[i:m.start()])
        depth, i = 1, m.end()
        while i < len(selector) and depth:
            depth += {"(": 1, ")": -1}.get(selector[i], 0)
            i += 1
    kept.append(selector[i:])
    return set(_CLASS.findall("".join(kept)))


def words_and_built_prefixes(texts: Any) -> tuple[set[str], tuple[str, ...]]:
    """Every word of the site's pages and scripts, and the class prefixes their scripts build names from."""
    words: set[str] = set()
    prefixes: set[str] = set()
    for text in texts:
        words.update(_WORDS.findall(text))
        prefixes.update(_BUILT_PREFIX.findall(text))
    return words, tuple(sorted(prefixes))


def drop_unused_rules(css: str, words: set[str], prefixes: tuple[str, ...] = ()) -> tuple[str, int]:
    """``css`` without the selectors that need a class no page or script names; and how many went.

    A selector stays when each class it requires is one of ``words`` (every word of the site's HTML and
    JavaScript, so a class a script adds stays too) or starts with one of ``prefixes`` (names a script
    builds); a rule stays with the selectors that stay, and goes with none; an ``@media`` (and the like)
    goes when nothing inside stays. Comments between rules go; ``@font-face``, ``@keyframes`` and other
    at-rules stay whole.
    """
    dropped = 0

    def used(cls: str) -> bool:
        return cls in words or cls.startswith(prefixes)

    def walk(text: str) -> str:
        nonlocal dropped
        out = []
        for prelude, block in css_items(text):
            prelude = re.sub(r"/\*.*?\*/", "", prelude, flags=re.S).strip()
            if block is None:
                if prelude:
                    out.append(prelude)
                continue
            if prelude.startswith("@"):
                name = re.match(r"@([\w-]*)", prelude).group(1).lower()
                if name in _GROUPING:
                    inner = walk(block)
                    if inner:
                        out.append(prelude + "{" + inner + "}")
                else:
                    out.append(prelude + "{" + block + "}")
                continue
            selectors = [s.strip() for s in _top_level_commas(prelude)]
            keep = [s for s in selectors if all(map(used, classes_required(s)))]
            dropped += len(selectors) - len(keep)
            if keep:
                out.append(",".join(keep) + "{" + block + "}")
        return "".join(out)  # no separator: fold_icon_fonts finds Font Awesome's table right after a "}"

    return walk(css), dropped


def site_texts(outdir: Path) -> Any:
    """The text of every HTML page and script of the built site (the search index aside: it holds no markup)."""
    for path in sorted(outdir.rglob("*")):
        if path.suffix in (".html", ".js") and path.name != "searchindex.js" and path.is_file():
            yield path.read_text(encoding="utf-8", errors="replace")


def bundled(builder: Any) -> list[Any]:
    """The stylesheets registered for every page that go into the bundle (not the print-only ones)."""
    return [
        css for css in builder._orig_css_files
        if for_screen(css.attributes) and not css.attributes.get("disabled")
    ]


def for_screen(attributes: dict[str, str]) -> bool:
    """A stylesheet that applies on screen (no media, or ``all``/``screen``): print-only ones stay linked."""
    return attributes.get("media", "all") in ("all", "screen")


def write_bundle(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or not _is_html(app):
        return
    static = Path(app.builder.outdir) / "_static"
    names = [*THEME_CSS, *(str(css.filename).removeprefix("_static/") for css in sorted(
        bundled(app.builder), key=lambda css: css.priority))]
    try:
        css = "\n".join(inline_css(static, name) for name in names)
        full = len(css)
        css, dropped = drop_unused_rules(css, *words_and_built_prefixes(site_texts(Path(app.builder.outdir))))
        css, kept = fold_icon_fonts(css, static)
    except (OSError, ValueError) as err:
        logger.warning("page_assets: %s", err)
        return
    css += sharpen_togglers(static)
    (static / BUNDLE).write_text(css, encoding="utf-8")
    logger.info("page_assets: %s from %d stylesheets (%d selectors that match nothing on the site dropped: "
                "%d -> %d characters); icon font glyphs kept %s", BUNDLE, len(names), dropped, full, len(css), kept)


TOGGLERS = ("minus.png", "plus.png")  # Sphinx's module index: the +/- beside a package's modules
TOGGLER_SCALE = 3  # a phone's screen has 2-3 pixels per CSS pixel (Lighthouse: image-size-responsive)


def sharpen_togglers(static: Path) -> str:
    """Sphinx's 11 px +/- images redrawn at 3x (each pixel a 3x3 block: the same picture, sharp on a phone).

    Returns the CSS that shows them at their old size. Idempotent: an image already scaled is left.
    """
    from PIL import Image

    size = None
    for name in TOGGLERS:
        path = static / name
        if not path.is_file():
            continue
        with Image.open(path) as image:
            image.load()
        if image.width > 16:  # already redrawn by an earlier build into this folder
            size = image.width // TOGGLER_SCALE, image.height // TOGGLER_SCALE
            continue
        size = image.size
        big = image.resize((image.width * TOGGLER_SCALE, image.height * TOGGLER_SCALE), Image.Resampling.NEAREST)
        big.save(path, optimize=True)
    if size is None:
        return ""
    return f"\n/* page_assets.py: Sphinx's +/- togglers, drawn at {TOGGLER_SCALE}x */\n" \
        f"img.toggler {{ width: {size[0]}px; height: {size[1]}px; }}\n"


# --- scripts and code blocks in each page ----------------------------------------------------------------------


def _is_html(app: Sphinx) -> bool:
    from sphinx.builders.html import StandaloneHTMLBuilder

    return isinstance(app.builder, StandaloneHTMLBuilder) and app.builder.format == "html"


def plain_token_classes(light: str, dark: str) -> frozenset[str]:
    """Pygments' short class names whose style is the base text style in both named styles."""
    from pygments.styles import get_style_by_name
    from pygments.token import STANDARD_TYPES, Text

    def plain(style: Any, token: Any) -> bool:
        base, own = style.style_for_token(Text), style.style_for_token(token)
        return own == base

    styles = [get_style_by_name(light), get_style_by_name(dark)]
    return frozenset(cls for token, cls in STANDARD_TYPES.items() if cls and all(plain(s, token) for s in styles))


def theme_pygments_styles(app: Sphinx) -> tuple[str, str]:
    """The light and dark Pygments styles pydata-sphinx-theme writes into pygments.css (its own lookup)."""
    from pydata_sphinx_theme.utils import get_theme_options_dict

    options = get_theme_options_dict(app)
    defaults = app.builder.theme.get_options()
    return tuple(options.get(f"pygments_{k}_style") or defaults[f"pygments_{k}_style"] for k in ("light", "dark"))


_PRE = re.compile(r'(<div class="highlight"><pre>)(.*?)(</pre></div>)', flags=re.S)


def unwrap_plain_spans(html: str, classes: frozenset[str]) -> str:
    """``<span class="n">x</span>`` -> ``x`` inside highlighted code, for the given classes."""
    if not classes:
        return html
    span = re.compile(r'<span class="(?:' + "|".join(map(re.escape, sorted(classes))) + r')">([^<]*)</span>')
    return _PRE.sub(lambda m: m.group(1) + span.sub(r"\1", m.group(2)) + m.group(3), html)


_LITERAL = re.compile(r'(<code class="[^"]*\bliteral\b[^"]*">)(.*?)(</code>)', flags=re.S)
_SIGNATURE = re.compile(r'(<dt class="sig\b[^"]*"[^>]*>)(.*?)(</dt>)', flags=re.S)
_WORD = re.compile(r'<span class="pre">([^<]*)</span>')


def unwrap_literal_words(html: str) -> str:
    """Docutils' ``<span class="pre">`` around each word of inline code and signatures, removed.

    Sphinx's basic.css keeps such a word on one line (``white-space: nowrap``); this book's custom.css
    lets words of inline code and of API signatures wrap on a phone (``white-space: normal``) inside the
    article, so there the spans change nothing: only those (in ``code.literal`` and ``dt.sig``) go.
    """
    def inner(m: re.Match[str]) -> str:
        return m.group(1) + _WORD.sub(r"\1", m.group(2)) + m.group(3)

    return _SIGNATURE.sub(inner, _LITERAL.sub(inner, html))


def page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if not _is_html(app):
        return
    from sphinx.builders.html._assets import _JavaScript

    # stylesheets: the bundle replaces the theme's two and every page-wide one (layout.html links it);
    # a small one added for this page only (the views') is written into the page's <head>
    context["book_css_bundle"] = BUNDLE
    state = _STATE.setdefault(app, {})
    in_bundle = {css.filename for css in bundled(app.builder)}
    kept, inline = [], []
    for css in context["css_files"]:
        if css.filename in in_bundle:
            continue
        text = _inlinable(Path(app.builder.outdir) / css.filename, css.attributes)
        if text is None:
            kept.append(css)
        else:
            inline.append(f"/* {css.filename} */\n{text.strip()}")
    context["css_files"] = kept
    context["book_inline_css"] = "\n".join(inline)
    # scripts: files deferred; documentation_options.js inlined (inline scripts after it read it)
    scripts = []
    for js in context["script_files"]:
        attrs = dict(js.attributes)
        if js.filename == OPTIONS_JS:
            if "options" not in state:  # written once, before the pages
                state["options"] = (Path(app.builder.outdir) / OPTIONS_JS).read_text(encoding="utf-8").strip()
            scripts.append(_JavaScript("", priority=js.priority, body=state["options"]))
            continue
        if js.filename and "async" not in attrs and "defer" not in attrs and attrs.get("type") != "module":
            attrs["defer"] = "defer"
        scripts.append(_JavaScript(js.filename, priority=js.priority, **attrs))
    context["script_files"] = scripts
    # code: spans that draw like the text around them
    if "body" in context:
        classes = state.get("classes")
        if classes is None:
            classes = state["classes"] = plain_token_classes(*theme_pygments_styles(app))
        context["body"] = unwrap_literal_words(unwrap_plain_spans(context["body"], classes))


INLINE_LIMIT = 16 * 1024  # bytes: a page's own stylesheet up to this size goes into its <head>


def _inlinable(path: Path, attributes: dict[str, str]) -> str | None:
    """The stylesheet's text when it can sit in a ``<style>`` of the page (small, no URLs), else None."""
    if not for_screen(attributes) or not path.is_file():
        return None
    if path.stat().st_size > INLINE_LIMIT:
        return None
    text = path.read_text(encoding="utf-8")
    return None if "url(" in text or "</" in text else text


# what page_context works out once per build (not per page): one dict per Sphinx application, so that two
# builds in one process (the tests' tiny books) do not share it
_STATE: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


# --- the theme's scroll check ---------------------------------------------------------------------------------

THEME_JS = "scripts/pydata-sphinx-theme.js"
# pydata-sphinx-theme 0.16: once the page has loaded, I() reads scrollWidth/scrollHeight of every <pre>,
# output and table wrapper of the page (to give those that scroll tabindex 0): a layout of the whole
# chapter in one task, 0.4-1.4 s of total blocking time on Lighthouse's phone. korean-interface.js
# marks the same boxes the same way, each when it nears the screen, every one at the first Tab.
THEME_SCROLL_CHECK = '"complete"===document.readyState?I():window.addEventListener("load",I)'
THEME_SCROLL_CHECK_OFF = "/* page_assets.py: the scroll check is korean-interface.js's */void I"


def theme_scroll_check_off(static: Path) -> bool:
    """Take the theme's load-time scroll check out of its script; False when the script is not as expected.

    Idempotent: a script already rewritten (a second build into the same folder) is left as it is.
    """
    path = static / THEME_JS
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    if THEME_SCROLL_CHECK_OFF in text:
        return True
    if text.count(THEME_SCROLL_CHECK) != 1:
        return False
    path.write_text(text.replace(THEME_SCROLL_CHECK, THEME_SCROLL_CHECK_OFF), encoding="utf-8")
    return True


def write_theme_js(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or not _is_html(app):
        return
    if not theme_scroll_check_off(Path(app.builder.outdir) / "_static"):
        logger.warning("page_assets: %s no longer has the load-time scroll check this expects (%s); "
                       "see THEME_SCROLL_CHECK", THEME_JS, THEME_SCROLL_CHECK)


def setup(app: Sphinx) -> dict[str, Any]:
    # late: after the extensions that add page assets (views) and before rendering
    app.connect("html-page-context", page_context, priority=900)
    # after pydata-sphinx-theme rewrites pygments.css (build-finished, priority 500)
    app.connect("build-finished", write_bundle, priority=900)
    app.connect("build-finished", write_theme_js, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
