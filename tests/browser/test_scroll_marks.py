"""A chapter on a phone: the browser lays out only what is near the screen, and every box that scrolls
is still reachable with the keyboard.

custom.css gives the article's subsections that hold no subsection ``content-visibility: auto`` (a
section off screen is not laid out), with the height bound that docs/_ext/section_bounds.py writes into
each (checked here: never less than the section's real height, on a 320 and a 390 px screen);
docs/_ext/page_assets.py takes out the theme's load-time check that measured every code block, output
and table (and so laid out the whole chapter at once); docs/_static/korean-interface.js marks the
boxes instead: each when it comes near the screen, every one at the reader's first Tab. The rule is the
theme's (a box that scrolls: tabindex 0, one that does not: -1; a display formula: 0 while it scrolls
sideways, else none), checked here against the boxes' sizes, measured by the test.
"""

from __future__ import annotations

BOXES = ('pre, .nboutput > .output_area, .cell_output > .output, .jp-RenderedHTMLCommon, '
         '.pst-scrollable-table-container, mjx-container[display="true"]')

# read the marks first, then measure (measuring lays the page out)
STATE = """(boxes) => {
  const all = [...document.querySelectorAll(boxes)];
  const marks = all.map(b => b.getAttribute('tabindex'));
  const screen = innerHeight;
  return {
    state: document.documentElement.dataset.scrollMarks,
    skipped: [...document.querySelectorAll('.bd-article section section')]
      .filter(s => getComputedStyle(s).contentVisibility === 'auto').length,
    boxes: all.map((b, i) => {
      const formula = b.matches('mjx-container');
      const scrolls = b.scrollWidth > b.clientWidth + 1 || (!formula && b.scrollHeight > b.clientHeight + 1);
      const want = formula ? (scrolls ? '0' : null) : (scrolls ? '0' : '-1');
      const top = b.getBoundingClientRect().top;
      return {i, mark: marks[i], want, scrolls, far: top > 3 * screen, tag: b.tagName + '.' + b.className};
    }),
  };
}"""


def wrong(boxes: list[dict]) -> list[dict]:
    return [b for b in boxes if b["mark"] != b["want"]]


def settled(page, seconds: float = 3.0) -> list[dict]:
    """The boxes once their marks agree with their sizes, or as they are after ``seconds``.

    After a resize the column may still narrow by a few pixels once the first boxes are marked; the
    script marks a box again whenever its size changes (a ResizeObserver), so the marks must come to
    agree, and stay so.
    """
    for _ in range(int(seconds * 10)):
        boxes = page.evaluate(STATE, BOXES)["boxes"]
        if not wrong(boxes):
            break
        page.wait_for_timeout(100)
    return boxes


def test_boxes_are_marked_near_the_screen_and_all_at_the_first_tab(visit):
    v = visit("06-transformer.html", width=390, height=844)
    v.page.wait_for_function("document.documentElement.dataset.scrollMarks === 'near'")
    v.page.wait_for_timeout(200)  # the observer's first report
    before = v.page.evaluate(STATE, BOXES)
    assert before["skipped"] > 5, "the article's sections are no longer content-visibility: auto"
    far = [b for b in before["boxes"] if b["far"]]
    near = [b for b in before["boxes"] if b["i"] < 3 and not b["far"]]
    # far below the screen nothing was measured (the theme's check would have marked every box)
    assert len(far) > 20 and all(b["mark"] is None for b in far if b["want"] is not None), far[:3]
    assert near and not wrong(near), near
    v.page.keyboard.press("Tab")
    v.page.wait_for_function("document.documentElement.dataset.scrollMarks === 'all'")
    after = settled(v.page)
    assert not wrong(after), wrong(after)[:5]
    assert sum(b["scrolls"] for b in after) >= 5, "no box scrolls on a phone: the check checks nothing"
    # a wider screen: the boxes are measured again (fewer scroll sideways)
    v.page.set_viewport_size({"width": 1280, "height": 900})
    v.page.wait_for_function("document.documentElement.dataset.scrollMarks === 'near'")
    v.page.keyboard.press("Tab")
    v.page.wait_for_function("document.documentElement.dataset.scrollMarks === 'all'")
    wide = settled(v.page)
    assert not wrong(wide), wrong(wide)[:5]
    assert sum(b["scrolls"] for b in wide) < sum(b["scrolls"] for b in after)
    assert not v.problems(), "\n".join(v.problems())


def test_a_box_far_down_is_marked_once_scrolled_to(visit):
    v = visit("06-transformer.html", width=390, height=844)
    v.page.wait_for_function("document.documentElement.dataset.scrollMarks === 'near'")
    boxes = v.page.locator(BOXES)
    # the last code block or output shown (not a formula, not in a folded cell)
    shown = boxes.evaluate_all("bs => bs.map(b => !b.matches('mjx-container') && !b.closest('details:not([open])'))")
    last = max(i for i, ok in enumerate(shown) if ok)
    assert boxes.nth(last).get_attribute("tabindex") is None
    boxes.nth(last).scroll_into_view_if_needed()
    v.page.wait_for_function(f"document.querySelectorAll({BOXES!r})[{last}].hasAttribute('tabindex')")
    state = v.page.evaluate(STATE, BOXES)
    assert state["state"] == "near"  # no Tab pressed: only what came near the screen was measured
    assert not wrong([state["boxes"][last]]), state["boxes"][last]
    assert not v.problems(), "\n".join(v.problems())


BOUNDS = """() => {
  const sections = [...document.querySelectorAll('.bd-article .attn-lazy')];  // sections, API entries
  for (const s of sections) s.style.contentVisibility = 'visible';  // every section laid out as it is
  return sections.map(s => ({id: s.id, height: s.getBoundingClientRect().height,
                             bound: parseFloat(s.style.containIntrinsicBlockSize.replace('auto', ''))}));
}"""


def test_no_section_is_taller_than_its_bound(reused_tab, html_page):
    """What a skipped section reserves is at least what it holds: nothing laid out in it spills over."""
    for width in (320, 390):
        sections = reused_tab(html_page, width=width, height=800).evaluate(BOUNDS)
        over = [s for s in sections if s["height"] > s["bound"]]
        assert not over, f"{html_page} at {width} px: sections taller than their bound: {over}"
        if width == 390 and sections:
            real, bound = sum(s["height"] for s in sections), sum(s["bound"] for s in sections)
            # the scroll bar is drawn from the bounds until the reader gets there: not wildly off
            assert bound <= 3.5 * real, f"{html_page}: bounds {bound:.0f} px for {real:.0f} px of sections"


def test_chapters_have_lazy_sections(site):
    for page in site.glob("0*.html"):
        assert page.read_text(encoding="utf-8").count('class="attn-lazy') >= 5, page.name
    for page in site.glob("api*.html"):  # one section each: their autodoc entries are the lazy units
        text = page.read_text(encoding="utf-8")
        assert text.count('<dl class="attn-lazy py ') >= 10, page.name
