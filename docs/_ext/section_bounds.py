"""Sections the browser may skip while they are off screen, each with a height it can never exceed.

A chapter is long (6,000 elements, 80 formulas, 30 code cells): a phone laid all of it out before the
reader could scroll, the longest task of its load (Lighthouse: 0.4-0.9 s of total blocking time on its
4x slower phone). With ``content-visibility: auto`` (custom.css, on ``section.attn-lazy``) the browser
lays out a section only when it comes near the screen and keeps its remembered height after that; until
then it reserves ``contain-intrinsic-block-size``. That reserved height must not be smaller than the
section's real one: what the browser (or a tool such as axe-core, in Lighthouse's accessibility audit)
measures inside a section it has skipped is laid out as it really is, and would spill over the next
section (axe then reads the wrong background behind a link). So each section without subsections gets,
after the build, an upper bound of its height on the narrowest screen (320 px: the fewest characters
per line), computed from what it holds:

- text: its characters at ``CHARS_PER_LINE`` per line, plus a line and a margin per block (paragraph,
  list item, heading, caption...); a table: a line and padding per row, and its cells' text as above;
  an inline formula counts as the characters its width takes;
- a folded block (``<details>`` not open): its summary line;
- code and outputs: one line per line (they scroll sideways, they never wrap), plus padding;
- a display formula: its SVG's height (in ex) plus margins; a figure: its image's height attribute (the
  column only ever scales it down) plus its caption's text; an interactive view: ``VIEW_PX``.

The API pages are a few long sections of autodoc entries (``<dl class="py function">``...), the first
of which fills the screen, and so is laid out whole: there each entry that is in no other list (a class
with its methods is one) is such a unit too, inside its section.

The bound is then multiplied by ``SAFETY``. tests/browser/test_scroll_marks.py checks on every page, at
320 and 390 px wide, that no section is taller than its bound, and that the bounds are not wildly more
(the page's scroll bar is drawn from them until the reader gets there).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sphinx.application import Sphinx

CLASS = "attn-lazy"
CHARS_PER_LINE = 15  # 320 px screen: a column of about 270 px, Korean at 16 px a character is 17 a line
LINE_PX = 28  # text: 16 px at line-height 1.65 is 26.4 px
BLOCK_PX = 40  # a block's margin and its last, partly filled line
ROW_PX = 16  # a table row's padding
CODE_LINE_PX = 24
CODE_PAD_PX = 70  # padding, the copy button's room, a cell's margins and prompt
EX_PX = 9  # MathJax's SVG sizes are in ex: about 8.4 px at 16 px
DISPLAY_PAD_PX = 40
FIGURE_PAD_PX = 40
VIEW_PX = 1600  # an interactive view (docs/_static/attention-views.js) on a phone, controls and all
SAFETY = 1.15
BASE_PX = 120

SECTION_TAG = re.compile(r"<section\b[^>]*>|</section>")
DL_TAG = re.compile(r"<dl\b[^>]*>|</dl>")
ENTRY = re.compile(r'<dl class="py ')  # an autodoc entry: a function, class, attribute...
PRE = re.compile(r"<pre\b[^>]*>(.*?)</pre>", re.S)
# a folded block (a hidden cell, an exercise's answer): its summary line only, until it is opened (and
# then shown: from then on the browser keeps the section's real height)
FOLDED = re.compile(r"<details\b(?![^>]*\bopen\b)[^>]*>.*?</details>", re.S)
SUMMARY = re.compile(r"<summary\b.*?</summary>", re.S)
SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1>", re.S)
DISPLAY = re.compile(r'<mjx-container\b[^>]*display="true"[^>]*>.*?</mjx-container>', re.S)
INLINE = re.compile(r"<mjx-container\b[^>]*>.*?</mjx-container>", re.S)
SVG_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)ex"[^>]*?\bheight="([\d.]+)ex"')
IMG_HEIGHT = re.compile(r'<img\b[^>]*?\bheight="(\d+)"')
BLOCKS = re.compile(r"<(?:p|li|h[1-6]|dt|dd|caption|figcaption|summary|blockquote)\b")
ITEM_PARAGRAPH = re.compile(r"<li\b[^>]*>\s*<p\b")
ROWS = re.compile(r"<tr\b")
TABLE = re.compile(r"<table\b.*?</table>", re.S)
TAG = re.compile(r"<[^>]+>")
ENTITY = re.compile(r"&[#\w]+;")


def _chars(html: str) -> int:
    """The characters the text of this HTML shows, spaces left out (an entity is one)."""
    return len("".join(ENTITY.sub("x", TAG.sub("", html)).split()))


def _folded(m: re.Match) -> str:
    summary = SUMMARY.search(m.group(0))
    return f"<p>{summary.group(0)}</p>" if summary else "<p></p>"


def height_bound(html: str) -> int:
    """An upper bound, in CSS px, of the height of this HTML on a 320 px screen (see the module's text)."""
    html = FOLDED.sub(_folded, SCRIPT.sub("", html))
    px = html.count('class="attn-view"') * VIEW_PX
    for m in PRE.finditer(html):
        px += (m.group(1).count("\n") + 1) * CODE_LINE_PX + CODE_PAD_PX
    html = PRE.sub("", html)
    for m in DISPLAY.finditer(html):
        size = SVG_SIZE.search(m.group(0))
        px += (float(size.group(2)) * EX_PX if size else 3 * LINE_PX) + DISPLAY_PAD_PX
    html = DISPLAY.sub("", html)

    def inline(m: re.Match) -> str:
        size = SVG_SIZE.search(m.group(0))
        return "x" * math.ceil(float(size.group(1)) * EX_PX / 16) if size else "xxxx"

    html = INLINE.sub(inline, html)
    for m in TABLE.finditer(html):  # a row is a line and padding; its cells' text as if no two shared a line
        rows = len(ROWS.findall(m.group(0)))
        px += rows * (LINE_PX + ROW_PX) + math.ceil(_chars(m.group(0)) / CHARS_PER_LINE) * LINE_PX + BLOCK_PX
    html = TABLE.sub("", html)
    for m in IMG_HEIGHT.finditer(html):
        px += int(m.group(1)) + FIGURE_PAD_PX
    blocks = len(BLOCKS.findall(html)) - len(ITEM_PARAGRAPH.findall(html))  # <li><p>: one block
    px += math.ceil(_chars(html) / CHARS_PER_LINE) * LINE_PX + blocks * (LINE_PX + BLOCK_PX)
    return round(px * SAFETY + BASE_PX)


def leaf_sections(html: str, start: int) -> list[tuple[int, int]]:
    """``(start, end)`` of every subsection after ``start`` that holds no other section."""
    stack: list[tuple[int, bool]] = []  # (where the opening tag is, holds a section)
    leaves: list[tuple[int, int]] = []
    for m in SECTION_TAG.finditer(html, start):
        if m.group(0) != "</section>":
            if stack:
                stack[-1] = (stack[-1][0], True)
            stack.append((m.start(), False))
            continue
        if not stack:
            break
        opened, nested = stack.pop()
        if not nested and stack:  # a subsection (the page's own top section stays laid out)
            leaves.append((opened, m.end()))
    return leaves


def top_entries(html: str, start: int, end: int) -> list[tuple[int, int]]:
    """``(start, end)`` of every autodoc entry between ``start`` and ``end`` that is inside no other list."""
    depth, opened, entries = 0, -1, []
    for m in DL_TAG.finditer(html, start, end):
        if m.group(0) != "</dl>":
            if depth == 0 and ENTRY.match(m.group(0)):
                opened = m.start()
            depth += 1
            continue
        depth -= 1
        if depth == 0 and opened >= 0:
            entries.append((opened, m.end()))
            opened = -1
    return entries


def with_bounds(html: str) -> str:
    """Every leaf subsection of the article, and every autodoc entry in no other list, marked lazy with its
    height bound."""
    start = html.find('<article class="bd-article"')
    if start < 0:
        return html
    end = html.find("</article>", start)
    units = leaf_sections(html, start) + top_entries(html, start, end if end > 0 else len(html))
    out, last = [], 0
    for opened, closed in sorted(units):
        tag_end = html.index(">", opened)
        tag = html[opened:tag_end]
        if CLASS in tag:
            continue
        bound = height_bound(html[tag_end + 1 : closed])
        if 'class="' in tag:
            tag = tag.replace('class="', f'class="{CLASS} ', 1)
        else:
            tag += f' class="{CLASS}"'
        tag += f' style="contain-intrinsic-block-size: auto {bound}px"'
        out += [html[last:opened], tag]
        last = tag_end
    out.append(html[last:])
    return "".join(out)


def finish(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.name != "html":
        return
    for page in Path(app.outdir).glob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = with_bounds(text)
        if new != text:
            page.write_text(new, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("build-finished", finish, priority=600)  # after docs/_ext/images.py (heights of figures)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
