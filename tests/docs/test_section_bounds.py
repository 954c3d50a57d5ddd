"""docs/_ext/section_bounds.py: which sections the browser may skip, and the height each reserves.

That the bounds hold in a real browser is checked by tests/browser/test_scroll_marks.py."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))
import section_bounds

PAGE = """<html><body><nav><section id="nav">menu</section></nav>
<article class="bd-article"><section id="chapter"><h1>장</h1><p>머리말</p>
<section id="a"><h2>가</h2><p>{text}</p>
<section id="a1"><h3>가.1</h3><pre>{code}</pre></section>
</section>
<section id="b" class="x"><h2>나</h2><details class="hide"><summary>코드 보기</summary><pre>{code}</pre></details></section>
</section></article></body></html>"""


def marked(html: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(
        r'<section id="(\w+)" class="attn-lazy[^"]*" style="contain-intrinsic-block-size: auto (\d+)px"', html)}


def test_only_subsections_without_subsections_are_marked_once():
    html = section_bounds.with_bounds(PAGE.format(text="글" * 300, code="x\n" * 10))
    bounds = marked(html)
    assert set(bounds) == {"a1", "b"}  # not the page's section, not one holding a section, not outside the article
    assert 'class="attn-lazy x"' in html
    assert section_bounds.with_bounds(html) == html  # a second pass (an incremental build) changes nothing


def test_bounds_grow_with_what_a_section_holds():
    def bound(**parts: str) -> int:
        return marked(section_bounds.with_bounds(PAGE.format(**parts)))["a1"]

    short, long = bound(text="", code="x\n" * 5), bound(text="", code="x\n" * 50)
    assert long - short == round(45 * section_bounds.CODE_LINE_PX * section_bounds.SAFETY)


def test_a_folded_block_counts_as_its_summary():
    open_bound = section_bounds.height_bound("<details open><summary>s</summary><pre>" + "x\n" * 40 + "</pre></details>")
    folded = section_bounds.height_bound("<details><summary>s</summary><pre>" + "x\n" * 40 + "</pre></details>")
    assert folded < open_bound - 30 * section_bounds.CODE_LINE_PX
    assert folded == section_bounds.height_bound("<p><summary>s</summary></p>")


def test_figures_formulas_and_views_reserve_their_height():
    base = section_bounds.height_bound("<p>글</p>")
    img = section_bounds.height_bound('<p>글</p><img src="_images/a.png" width="800" height="600">')
    assert img - base >= 600
    display = section_bounds.height_bound(
        '<p>글</p><mjx-container class="MathJax" display="true"><svg width="20ex" height="10ex"></svg></mjx-container>')
    assert display - base >= 10 * section_bounds.EX_PX
    view = section_bounds.height_bound('<p>글</p><div class="attn-view" data-view="scale"></div>')
    assert view - base >= section_bounds.VIEW_PX


API = """<html><body><article class="bd-article"><section id="api"><h1>API</h1>
<dl class="py function"><dt class="sig" id="f">f(x)</dt><dd><p>{text}</p></dd></dl>
<dl class="py class"><dt class="sig" id="C">C</dt><dd><p>클래스</p>
<dl class="py method"><dt class="sig" id="C.m">m()</dt><dd><pre>{code}</pre></dd></dl>
<dl class="field-list simple"><dt>Parameters</dt><dd>x</dd></dl></dd></dl>
<dl class="simple"><dt>용어</dt><dd>뜻</dd></dl>
<section id="more"><h2>더</h2><dl class="py function"><dt class="sig" id="g">g()</dt><dd>g</dd></dl></section>
</section></article></body></html>"""


def test_the_api_pages_top_level_entries_are_marked_with_what_they_hold():
    html = section_bounds.with_bounds(API.format(text="글" * 300, code="x\n" * 40))
    entries = dict(re.findall(r'<dl class="attn-lazy py (\w+)" style="contain-intrinsic-block-size: auto (\d+)px"',
                              html))
    # the function and the class (its method inside it is not marked again), the function in the section
    # "more" (which is lazy itself); not a plain list
    assert set(entries) == {"function", "class"}, entries
    assert html.count("attn-lazy") == 4  # three entries and the section "more"
    assert '<section id="more" class="attn-lazy"' in html
    assert int(entries["class"]) > 40 * section_bounds.CODE_LINE_PX  # the method's code is in the class's bound
    assert section_bounds.with_bounds(html) == html
