"""The theme's Font Awesome icons drawn by a small stylesheet instead of pydata-sphinx-theme's fontawesome.js.

pydata-sphinx-theme loads ``_static/scripts/fontawesome.js`` (1.5 MB, about 540 KB gzipped) on every page
to turn a dozen ``<i class="fa-solid fa-...">`` elements into inline SVG. ``docs/_templates/layout.html``
leaves that script out, and this extension writes ``_static/icons.css``: each icon the site uses, as a
CSS mask (an inline SVG data URL) painted in ``currentColor``, so it follows the text colour in light
and dark mode (and in forced-colours mode). The shapes are read at build time from the installed
theme's own ``fontawesome.js`` (its packs hold ``"name":[width,height,[aliases],"unicode","path"]``),
so they stay those of the theme's Font Awesome version.

``ICONS`` names the icons; at the end of the build every written page is scanned, and an ``fa-`` icon
class that the stylesheet does not draw is a warning (``-W`` makes it an error): add it to ``ICONS``.
So is a page that still loads ``fontawesome.js``. The script itself (and its source map) is removed
from the output, so nothing can load it by accident.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sphinx.util import logging

if TYPE_CHECKING:
    from sphinx.application import Sphinx

logger = logging.getLogger(__name__)

CSS_NAME = "icons.css"
_STATE: dict[str, Any] = {}  # the stylesheet and what it draws, made once when the extension loads

# (style, icon) pairs the site draws. solid: the pages' header, sidebar (chevron-down: a nested toctree's
# toggle), menus and footer; the repository
# buttons when ATTN_REPOSITORY / GITHUB_REPOSITORY is set (github, lightbulb, pencil); xmark: the close
# button pydata's script adds to a version-warning or announcement banner; rocket: launch buttons.
ICONS: tuple[tuple[str, str], ...] = (
    ("solid", "angle-left"),
    ("solid", "angle-right"),
    ("solid", "arrow-up"),
    ("solid", "bars"),
    ("solid", "book"),
    ("solid", "chevron-down"),
    ("solid", "circle-half-stroke"),
    ("solid", "code"),
    ("solid", "download"),
    ("solid", "expand"),
    ("solid", "file"),
    ("solid", "file-pdf"),
    ("solid", "lightbulb"),
    ("solid", "list"),
    ("solid", "magnifying-glass"),
    ("solid", "moon"),
    ("solid", "pencil"),
    ("solid", "rocket"),
    ("solid", "sun"),
    ("solid", "xmark"),
    ("brands", "github"),
)

# the class names that pick a style (Font Awesome 5's short ones too; a bare "fa" is solid)
STYLE_CLASSES = {
    "solid": ("fa-solid", "fas", "fa"),
    "regular": ("fa-regular", "far"),
    "brands": ("fa-brands", "fab"),
}
# the packs in fontawesome.js: each `var b={...}` is registered later by p("fas", b) / p("far", b) / p("fab", b)
PACK_PREFIX = {"fas": "solid", "far": "regular", "fab": "brands"}

# fa- classes that are modifiers, not icons (fa-rotate-left is an icon, fa-rotate-90 a modifier)
MODIFIERS = re.compile(
    r"fa-(?:solid|regular|brands|classic|duotone|light|thin|sharp|kit|\d{1,2}x|2?x[sl]|sm|lg|fw"
    r"|width-(?:auto|fixed)|ul|li|border|inverse|pull-(?:left|right|start|end)|rotate-(?:90|180|270|by)"
    r"|flip(?:-horizontal|-vertical|-both)?|spin(?:-pulse|-reverse)?|pulse|beat(?:-fade)?|bounce|fade|shake"
    r"|stack(?:-1x|-2x)?|swap-opacity|layers(?:-text|-counter|-bottom-right|-bottom-left|-top-right|-top-left)?)"
)
CLASS_ATTR = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)')""")
# one icon: "name" (quoted, or bare when it is a JS identifier: download, sun) :[width,height,[aliases],
# "unicode","path"]
ENTRY = re.compile(
    r'(?:"([\w-]+)"|([A-Za-z_$][\w$]*)|(\d+)):\[(\d+),(\d+),\[([^\]]*)\],"[0-9a-f]*",("(?:[^"\\]|\\.)*"|\[[^\]]*\])\]'
)

_ALL = ":is(.fa,.fas,.far,.fab,.fa-solid,.fa-regular,.fa-brands)"

# Box and alignment as Font Awesome's own SVG stylesheet has them (.svg-inline--fa), so an icon sits
# where the theme's SVG did; the rules after it repeat the theme's rules that targeted the SVG element.
# Some of Font Awesome 7's paths reach past their viewBox (the sun's rays), which its SVG (overflow:
# visible) still draws; a mask is clipped to its box, so each icon's viewBox gets a margin of 1/8 of its
# height (PAD) all round, and the mask's box reaches as far past the icon's box.
PAD = 1 / 8
BASE_CSS = f"""\
{_ALL} {{
  position: relative;
  height: 1em;
  vertical-align: -0.125em;
}}
{_ALL}::before {{
  content: "";  /* no glyph from the theme's icon web font */
  position: absolute;
  inset: -{PAD}em;
  background-color: currentColor;
  -webkit-mask: var(--attn-icon) center / contain no-repeat;
  mask: var(--attn-icon) center / contain no-repeat;
  forced-color-adjust: none;  /* currentColor is already the forced text colour */
}}
{_ALL}.fa-2xs {{ vertical-align: 0.1em; }}
{_ALL}.fa-xs {{ vertical-align: 0; }}
{_ALL}.fa-sm {{ vertical-align: -0.0714em; }}
{_ALL}.fa-lg {{ vertical-align: -0.2em; }}
{_ALL}.fa-xl {{ vertical-align: -0.25em; }}
{_ALL}.fa-2xl {{ vertical-align: -0.3125em; }}
.bd-header-article .btn {_ALL} {{ width: 1.3rem; }}
#pst-search-dialog[open] form.bd-search {_ALL} {{ font-size: var(--pst-font-size-icon); }}
ul.navbar-icon-links {_ALL},
.bd-sidebar-primary ul.navbar-icon-links .nav-link {_ALL} {{
  font-size: var(--pst-font-size-icon);
  vertical-align: middle;
}}
.search-button-field > {_ALL} {{ display: var(--fa-display, inline-block); }}
/* the theme's rules for its web-font icons (<i>), which the SVG that used to replace the <i> escaped */
.prev-next-area {_ALL} {{ font-size: inherit; }}
"""


def theme_fontawesome_js() -> Path:
    import pydata_sphinx_theme

    theme = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme"
    return theme / "static" / "scripts" / "fontawesome.js"


def _license_header(js: Path) -> str:
    notice = js.with_name(js.name + ".LICENSE.txt")
    text = notice.read_text(encoding="utf-8") if notice.is_file() else js.read_text(encoding="utf-8")[:400]
    match = re.search(r"Font Awesome Free [\d.]+.*?Fonticons, Inc\.", text, flags=re.S)
    if match is None:
        return "Font Awesome Free - https://fontawesome.com - License: https://fontawesome.com/license/free"
    return re.sub(r"\s*\n\s*\*?\s*", "\n * ", match.group(0))


def read_packs(js: Path) -> dict[str, dict[str, tuple[int, int, str]]]:
    """style -> icon name (and each alias) -> (width, height, SVG path), from fontawesome.js."""
    source = js.read_text(encoding="utf-8")
    packs: dict[str, dict[str, tuple[int, int, str]]] = {}
    starts = [m.end() for m in re.finditer(r"var b=\{", source)]
    for start in starts:
        registered = re.compile(r'p\("(fa[a-z]*)",b\)').search(source, start)
        if registered is None or registered.group(1) not in PACK_PREFIX:
            continue
        style = PACK_PREFIX[registered.group(1)]
        body = source[start : registered.start()]
        icons = packs.setdefault(style, {})
        aliases: dict[str, tuple[int, int, str]] = {}
        for m in ENTRY.finditer(body):
            name = m.group(1) or m.group(2) or m.group(3)
            path = m.group(7)
            if path.startswith("["):  # duotone: two layers; not in the free packs the theme ships
                continue
            shape = (int(m.group(4)), int(m.group(5)), path[1:-1])
            icons.setdefault(name, shape)
            for alias in re.findall(r'"([\w-]+)"', m.group(6)):
                aliases.setdefault(alias, shape)
        # an old name (an alias) never hides an icon of that name: "list" is an icon, not an alias
        for alias, shape in aliases.items():
            icons.setdefault(alias, shape)
    return packs


def _data_url(width: int, height: int, path: str) -> str:
    pad = round(height * PAD)
    box = f"{-pad} {-pad} {width + 2 * pad} {height + 2 * pad}"
    svg = f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='{box}'><path d='{path}'/></svg>"
    return "data:image/svg+xml," + quote(svg, safe=" '/=:.,-")


def _aliases(packs: dict[str, dict[str, tuple[int, int, str]]], style: str, name: str) -> list[str]:
    shape = packs[style][name]
    return sorted(n for n, s in packs[style].items() if s is shape and not n.isdigit())


def build_css(js: Path, icons: tuple[tuple[str, str], ...] = ICONS) -> tuple[str, set[tuple[str, str]]]:
    """The stylesheet, and every (style, class name) it draws (aliases included)."""
    packs = read_packs(js)
    rules = []
    covered: set[tuple[str, str]] = set()
    for style, name in icons:
        if name not in packs.get(style, {}):
            logger.warning("icons: %s has no %s icon %r (ICONS in docs/_ext/icons.py)", js, style, name)
            continue
        width, height, path = packs[style][name]
        names = _aliases(packs, style, name)
        covered.update((style, n) for n in names)
        selector = ",".join(f".{c}.fa-{n}" for n in names for c in STYLE_CLASSES[style])
        rules.append(f'{selector}{{--attn-icon:url("{_data_url(width, height, path)}")}}')
    header = (
        "/*\n * Icons for the book's interface, written by docs/_ext/icons.py from the theme's fontawesome.js.\n"
        f" * {_license_header(js)}\n"
        " * The icons are Font Awesome Free icons, licensed under CC BY 4.0:\n"
        " * https://creativecommons.org/licenses/by/4.0/ (attribution: Font Awesome by Fonticons, Inc.,\n"
        " * https://fontawesome.com); here each is drawn as a CSS mask from its SVG path, unchanged.\n */\n"
    )
    return header + BASE_CSS + "\n".join(rules) + "\n", covered


def write_css(app: Sphinx) -> None:
    """Write _static/icons.css before any page is written (each page links it with its checksum)."""
    if app.builder.format != "html" or _STATE.get("css") is None:
        return
    target = Path(app.outdir, "_static", CSS_NAME)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file() or target.read_text(encoding="utf-8") != _STATE["css"]:
        target.write_text(_STATE["css"], encoding="utf-8")


def icon_classes(html: str) -> set[tuple[str, str]]:
    """(style, icon) of every Font Awesome icon element in a page."""
    found = set()
    for m in CLASS_ATTR.finditer(html):
        classes = (m.group(1) or m.group(2) or "").split()
        styles = [s for s, names in STYLE_CLASSES.items() if any(c in names for c in classes)]
        if not styles:
            continue
        for c in classes:
            if c.startswith("fa-") and not MODIFIERS.fullmatch(c):
                found.add((styles[0], c[3:]))
    return found


def check_pages(app: Sphinx, exception: Exception | None) -> None:
    """Every icon class of every written page is drawn; no page loads fontawesome.js; drop the script."""
    if exception is not None or app.builder.format != "html":
        return
    covered: set[tuple[str, str]] = _STATE.get("covered", set())
    outdir = Path(app.outdir)
    missing: dict[tuple[str, str], list[str]] = {}
    for page in sorted(outdir.rglob("*.html")):
        rel = page.relative_to(outdir).as_posix()
        if rel.startswith("_"):
            continue
        html = page.read_text(encoding="utf-8")
        if "fontawesome.js" in html:
            logger.warning("icons: %s still loads fontawesome.js (see docs/_templates/layout.html)", rel)
        for icon in icon_classes(html) - covered:
            missing.setdefault(icon, []).append(rel)
    for (style, name), pages in sorted(missing.items()):
        logger.warning(
            "icons: %s uses the %s icon fa-%s, which %s does not draw: add (%r, %r) to ICONS in docs/_ext/icons.py",
            ", ".join(pages[:3]) + (" ..." if len(pages) > 3 else ""), style, name, CSS_NAME, style, name,
        )
    for leftover in (outdir / "_static" / "scripts").glob("fontawesome.js*"):
        leftover.unlink()


def setup(app: Sphinx) -> dict[str, Any]:
    js = theme_fontawesome_js()
    if js.is_file():
        _STATE["css"], _STATE["covered"] = build_css(js)
        digest = hashlib.sha256(_STATE["css"].encode()).hexdigest()[:16]
    else:
        logger.warning("icons: %s not found; the theme's icons are not drawn", js)
        digest = ""
    # the stylesheet's hash as an "html" config value: when it changes (ICONS edited, theme upgraded) every
    # page is written again, so none links the stylesheet with an outdated ?v= checksum
    app.add_config_value("icons_css_digest", digest, "html", types=frozenset({str}))
    app.connect("builder-inited", write_css)
    app.connect("build-finished", check_pages)
    app.add_css_file(CSS_NAME)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
