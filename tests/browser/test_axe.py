"""axe-core on every page of the built site: no accessibility violation, in light and dark mode, on a
desktop (1280 px) and a phone (390 px) screen; and the theme's controls, whose icons
docs/_ext/icons.py draws without fontawesome.js, still drawn and still answering a click.

axe-core comes bundled with ``axe-playwright-python`` (its ``axe.min.js``; nothing is downloaded). The
rules run are those tagged WCAG 2.0 and 2.1 level A and AA or best practice, experimental ones included.
One browser for the whole run and one tab per view (``reused_tab``) that goes from page to page; the
tabs check at the same time. Which rules each view runs: ``VIEW_RULES`` (every rule is run in every
mode and width; ``ATTN_AXE_ALL_VIEWS=1`` runs all of them in all four views).

``ATTN_AXE_SUMMARY=1`` adds a test that prints the number of offending elements per rule and view.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from axe_playwright_python.base import AXE_FILE_PATH

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SCREENS = {"desktop": (1280, 900), "phone": (390, 844)}

# The colour rules: the only ones whose result can change with the colour mode (the DOM is the same in
# both modes), and the costly ones (axe measures every text element). The theme's colours do not depend
# on the screen width, and the structure (every other rule) does not depend on the mode; so each view
# checks what it alone can get wrong, and together they check every rule in every mode and width.
# ATTN_AXE_ALL_VIEWS=1 runs every rule in each of the four views instead (about twice as long).
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
VIEW_RULES = {
    ("light", "desktop"): "all",
    ("light", "phone"): "structure",
    ("dark", "desktop"): "colour",
}
if os.environ.get("ATTN_AXE_ALL_VIEWS"):
    VIEW_RULES = {(mode, screen): "all" for mode in ("light", "dark") for screen in SCREENS}

# Every rule carrying one of the tags, the experimental ones too (label-content-name-mismatch,
# p-as-heading, td-has-header, ...), which a run by tag would leave out. The colour rules run last and
# apart, without the code blocks' repeated tokens: Pygments gives every token of a kind the same colour
# on the same background (and so do autodoc to the parts of a signature and docutils to inline code), so
# one span per (colour, background, font size, weight) stands for the rest, which are made invisible (visibility: hidden keeps the layout, and axe skips what is not visible) --
# on a chapter, most of the text elements axe would otherwise measure one by one. The run is started
# without waiting (window.__attnAxe holds the promise), so the tabs of the views check at the same time.
START_AXE = """([tags, which, colourRules]) => {
  const ruleIds = axe.getRules(tags).map(r => r.ruleId);
  const structure = ruleIds.filter(r => !colourRules.includes(r));
  const run = (rules) => axe.run(document, {runOnly: {type: "rule", values: rules}, resultTypes: ["violations"]});
  const hideRepeatedTokens = () => {
    const seen = new Set();
    const repeats = [];  // read every style first, then hide: no style recalculation per span
    for (const [tokens, box] of [['.highlight pre span', '.highlight'], ['dt.sig *:not(:has(*))', 'dt.sig'],
                                 ['code.literal span.pre', 'code.literal']]) {
      for (const span of document.querySelectorAll(tokens)) {
        const s = getComputedStyle(span);
        const block = getComputedStyle(span.closest(box));
        const key = [box, s.color, s.backgroundColor, block.backgroundColor, s.fontSize, s.fontWeight].join('|');
        if (seen.has(key)) repeats.push(span); else if (span.textContent.trim()) seen.add(key);
      }
    }
    for (const span of repeats) span.style.visibility = 'hidden';
    // the sections off screen drawn too (custom.css: content-visibility: auto): axe reads an element's
    // background from what is drawn at its place, and a section not yet shown has nothing drawn
    for (const s of document.querySelectorAll('.bd-article section')) s.style.contentVisibility = 'visible';
  };
  const report = (violations) => violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
    html: v.nodes.length ? v.nodes[0].html.slice(0, 200) : "",
  }));
  window.__attnAxe = (async () => {
    const found = which === "colour" ? [] : (await run(structure)).violations;
    if (which === "structure") return report(found);
    hideRepeatedTokens();
    return report(found.concat((await run(colourRules)).violations));
  })();
}"""


def start_axe(page, which: str = "all") -> None:
    """Put axe-core into the page and start it: every rule ("all"), or "structure" or "colour" alone.

    The tab's context then loads axe-core into every page it opens (an init script: cheaper than
    sending the 570 KB script over again for each page).
    """
    # a keyboard reader's first Tab: docs/_static/korean-interface.js then makes every box that scrolls
    # focusable (before it, only those near the screen), which axe's scrollable-region-focusable checks
    page.keyboard.press("Tab")
    page.wait_for_function("document.documentElement.dataset.scrollMarks === 'all'")
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_FILE_PATH))
        if not getattr(page.context, "attn_axe_preloaded", False):
            page.context.add_init_script(path=str(AXE_FILE_PATH))
            page.context.attn_axe_preloaded = True
    page.evaluate(START_AXE, [TAGS, which, COLOUR_RULES])


def axe_violations(page) -> list[dict]:
    start_axe(page)
    return page.evaluate("() => window.__attnAxe")


def check_views(reused_tab, path: str) -> dict[tuple[str, str], list[dict]]:
    """The page in every view, one tab each: the checks of one tab run while the next tab loads."""
    tabs = {}
    for (mode, screen), which in VIEW_RULES.items():
        width, height = SCREENS[screen]
        tabs[mode, screen] = tab = reused_tab(path, width=width, height=height, dark=mode == "dark")
        start_axe(tab, which)
    return {view: tab.evaluate("() => window.__attnAxe") for view, tab in tabs.items()}


def test_no_axe_violations(reused_tab, html_page):
    problems = []
    for (mode, screen), violations in check_views(reused_tab, html_page).items():
        for v in violations:
            problems.append(
                f"{html_page} [{mode}, {screen}] {v['id']} ({v['impact']}, {v['count']} elements): {v['help']}\n"
                f"    targets: {' | '.join(v['targets'])}\n    first: {v['html']}"
            )
    assert not problems, f"{len(problems)} axe violations:\n" + "\n".join(problems)


def test_axe_catches_a_violation(reused_tab):
    """The check can fail: an unnamed button and an empty table header put into a page are reported."""
    page = reused_tab("index.html")
    page.evaluate(
        """() => document.querySelector('article').insertAdjacentHTML('beforeend',
             '<button><svg width="10" height="10"></svg></button>'
             + '<table><thead><tr><th></th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>')"""
    )
    found = {v["id"] for v in axe_violations(page)}
    assert {"button-name", "empty-table-header"} <= found, found


@pytest.mark.skipif(not os.environ.get("ATTN_AXE_SUMMARY"), reason="ATTN_AXE_SUMMARY=1 prints the summary")
def test_axe_summary(reused_tab, site):
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_"))
    per_rule: Counter[tuple[str, str, str]] = Counter()
    on_pages: dict[str, set[str]] = {}
    for page in pages:
        for (mode, screen), violations in check_views(reused_tab, page).items():
            for v in violations:
                per_rule[v["id"], v["impact"], f"{mode}-{screen}"] += v["count"]
                on_pages.setdefault(v["id"], set()).add(page)
    for (rule, impact, view), n in sorted(per_rule.items()):
        print(f"{rule:32} {impact:9} {view:14} {n:4}  {sorted(on_pages[rule])}")


# --- the theme's controls, drawn with docs/_ext/icons.py's stylesheet instead of fontawesome.js ---------

ICON_STATE = """() => [...document.querySelectorAll('[class*="fa-"]')]
  .filter(e => /(^|\\s)(fa|fas|far|fab|fa-solid|fa-regular|fa-brands)(\\s|$)/.test(e.className))
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map(e => {
    const before = getComputedStyle(e, '::before');
    const box = e.getBoundingClientRect();
    return {cls: e.className, mask: (before.maskImage || before.webkitMaskImage || '').slice(0, 30),
            width: parseFloat(before.width), height: parseFloat(before.height), color: before.backgroundColor,
            boxWidth: box.width};
  })"""


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_icons_are_drawn_without_fontawesome(visit, dark):
    v = visit("01-attention.html", dark=dark)
    icons = v.page.evaluate(ICON_STATE)
    assert len(icons) >= 8, icons
    undrawn = [i for i in icons if not i["mask"].startswith('url("data:image/svg+xml') or i["width"] < 4 or i["height"] < 4]
    assert not undrawn, f"icons without their shape: {undrawn}"
    # painted in the text colour: light on the dark page, dark on the light one
    for icon in icons:
        r, g, b = (int(x) for x in icon["color"].removeprefix("rgba(").removeprefix("rgb(").rstrip(")").split(",")[:3])
        assert (r + g + b > 3 * 128) == dark, icon
    # (the theme's CSS still draws a few glyphs with its Font Awesome web font: admonition titles,
    # external links; that font is 115 KB, loaded where such a glyph shows, and needs no script)
    heavy = [u for u in v.requests if "fontawesome.js" in u]
    assert not heavy, f"Font Awesome's script still loaded: {heavy}"
    assert not [u for u in v.requests if u.endswith(("searchtools.js", "searchindex.js", "language_data.js"))]
    assert not v.problems(), v.problems()


def test_header_controls_work(visit):
    """Theme switch, download menu, full screen, copy button and the collapsed cells still answer a click."""
    v = visit("01-attention.html")
    page = v.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    # colour mode: the switch opens its menu, and "어둡게" turns the page dark
    page.click(".theme-switch-button")
    page.click('.theme-change-button[data-mode="dark"]')
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.click(".theme-switch-button")
    page.click('.theme-change-button[data-mode="light"]')
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    # the download menu
    page.click(".dropdown-download-buttons > button")
    page.wait_for_selector(".dropdown-download-buttons .dropdown-menu.show a.btn-download-notebook-button", state="visible")
    page.keyboard.press("Escape")
    # full screen
    page.click(".btn-fullscreen-button")
    page.wait_for_function("() => document.fullscreenElement !== null")
    page.evaluate("document.exitFullscreen()")
    # a collapsed cell opens and closes; its name is the text it shows
    summary = page.locator("details.hide > summary").first
    assert summary.get_attribute("aria-label") is None
    summary.click()
    assert summary.evaluate("s => s.parentElement.open")
    summary.click()
    assert not summary.evaluate("s => s.parentElement.open")
    # the copy button puts a code block's text on the clipboard
    block = page.locator("div.highlight").first
    block.scroll_into_view_if_needed()
    block.hover()
    block.locator(".copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() and copied.strip().splitlines()[0] in block.inner_text(), copied
    assert not v.problems(), v.problems()


def test_phone_controls_work(visit):
    """On a phone: both sidebar toggles open their panel, back-to-top returns to the top."""
    v = visit("01-attention.html", width=390, height=844)
    page = v.page
    page.click(".primary-toggle")
    page.wait_for_selector("#pst-primary-sidebar-modal[open] .bd-docs-nav", state="visible")
    page.keyboard.press("Escape")
    page.wait_for_selector("#pst-primary-sidebar-modal[open]", state="detached")
    page.click(".secondary-toggle")
    page.wait_for_selector("#pst-secondary-sidebar-modal[open] .page-toc", state="visible")
    page.keyboard.press("Escape")
    page.mouse.wheel(0, 4000)
    page.wait_for_function("() => window.scrollY > 3000")
    page.mouse.wheel(0, -300)  # the button shows while the reader scrolls back up
    page.wait_for_selector("#pst-back-to-top", state="visible")
    page.click("#pst-back-to-top")
    page.wait_for_function("() => window.scrollY === 0")
    assert not v.problems(), v.problems()


@pytest.mark.parametrize("how", ["shortcut", "button"])
def test_header_search_lands_on_the_search_page(visit, how):
    """The search dialog (Ctrl+K or the sidebar's button) submits to search.html, which finds the word."""
    v = visit("02-self-attention.html")
    page = v.page
    if how == "shortcut":
        page.keyboard.press("Control+k")
    else:
        page.click(".bd-sidebar-primary .search-button-field")
    field = page.locator("#pst-search-dialog[open] input[name=q]")
    field.fill("어텐션")
    field.press("Enter")
    page.wait_for_url("**/search.html?q=*")
    page.wait_for_selector("#search-results ul.search li a")
    assert "01-attention" in page.eval_on_selector_all("#search-results ul.search li > a", "els => els.map(e => e.href).join()")
    assert not v.problems(), v.problems()
