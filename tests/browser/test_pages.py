"""Every page of the built site, opened in Chromium from a loopback server under a sub-path.

Per page: nothing is requested from another host (fonts, search and theme assets all come from the
site), no request fails, no console error; every formula was typeset at build (docs/_ext/math_svg.py:
an SVG whose glyphs all resolve, with MathML for screen readers, and no MathJax script) and no raw TeX
is left; every image loaded; the interface is in Korean; Korean prose breaks between words;
every link stays under the sub-path; and on a 390 px wide phone screen nothing is wider than the screen.
"""

from __future__ import annotations

import re

# Interface strings of Sphinx / pydata-sphinx-theme / sphinx-book-theme / myst-nb / sphinx-copybutton
# that must not be left in English (checked in the visible text and in title/aria-label/placeholder).
ENGLISH_UI = [
    "Back to top",
    "Skip to main content",
    "Search...",
    "Color mode",
    "System Settings",
    "previous page",
    "next page",
    "Download source file",
    "Download notebook file",
    "Download this page",
    "Print to PDF",
    "Fullscreen mode",
    "Contents",
    "On this page",
    "Toggle primary sidebar",
    "Toggle secondary sidebar",
    "Show code cell",
    "Hide code cell",
    "Copy to clipboard",
    "Search Results",
    "Site navigation",
    "Link to this",
    "Toggle hidden content",
]

PAGE_STATE = """() => {
  const main = document.querySelector('main') || document.body;
  // text outside code blocks, where raw TeX would show if MathJax failed
  const prose = main.cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, .highlight, mjx-container').forEach(e => e.remove());
  const math = [...document.querySelectorAll('.math')];
  const chrome = [];
  document.querySelectorAll('[title], [aria-label], [placeholder], [data-tooltip]').forEach(e => {
    for (const a of ['title', 'aria-label', 'placeholder', 'data-tooltip']) {
      if (e.hasAttribute(a)) chrome.push(e.getAttribute(a));
    }
  });
  document.querySelectorAll('svg title').forEach(e => chrome.push(e.textContent));
  const firstP = document.querySelector('article p');
  return {
    lang: document.documentElement.lang,
    mathTotal: math.length,
    mathUntypeset: math.filter(e => !e.querySelector('mjx-container[jax="SVG"] > svg')).map(e => e.textContent.slice(0, 60)),
    mathErrors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')].map(e => e.textContent.slice(0, 60)),
    mathWithoutMathML: math.filter(e => !e.querySelector('mjx-assistive-mml > math')).length,
    glyphsMissing: [...document.querySelectorAll('mjx-container use')].map(u => u.getAttribute('xlink:href') || u.getAttribute('href'))
      .filter(id => !document.getElementById(id.slice(1))).slice(0, 5),
    scripts: [...document.scripts].map(e => e.src).filter(Boolean),
    rawTeX: ['$$', '\\\\(', '\\\\[', '\\\\begin{'].filter(s => prose.textContent.includes(s)),
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, alt: i.alt,
                                           ok: i.complete && i.naturalWidth > 0})),
    text: document.body.innerText,
    chrome,
    wordBreak: firstP ? getComputedStyle(firstP).wordBreak : 'keep-all',
    links: [...document.querySelectorAll('a[href], link[href], script[src], img[src]')]
      .map(e => e.href || e.src).filter(u => u.startsWith(location.origin)),
  };
}"""


# figures below the first screen load lazily (docs/_ext/images.py): load them all before looking at them
LOAD_ALL_IMAGES = """async () => {
  const images = [...document.images];
  const lazy = images.filter(i => i.loading === 'lazy').length;
  const eager = images.filter(i => i.src.includes('/_images/') && i.loading !== 'lazy');
  const eagerTop = eager.map(i => Math.round(i.getBoundingClientRect().top + scrollY));
  const sized = images.filter(i => i.src.includes('/_images/') && i.getAttribute('width') && i.getAttribute('height')).length;
  const figures = images.filter(i => i.src.includes('/_images/')).length;
  images.forEach(i => { i.loading = 'eager'; });
  await Promise.all(images.map(i => i.decode().catch(() => null)));
  return {lazy, sized, figures, eagerTop, firstIsEager: eager.length > 0 && eager[0] === images.find(i => i.src.includes('/_images/'))};
}"""


def test_page_is_offline_typeset_and_korean(visit, base_url, html_page):
    v = visit(html_page)
    loading = v.page.evaluate(LOAD_ALL_IMAGES)
    state = v.page.evaluate(PAGE_STATE)
    assert not v.problems(), "\n".join(v.problems())
    # served from a sub-path: every link of the site stays under it (relative links only)
    outside = sorted({u for u in state["links"] if not u.startswith(base_url)})
    assert not outside, f"links that leave the site's sub-path: {outside[:5]}"
    assert state["lang"] == "ko"
    assert not state["mathUntypeset"], f"formulas not typeset: {state['mathUntypeset']}"
    assert not state["mathErrors"], f"MathJax errors: {state['mathErrors']}"
    assert not state["rawTeX"], f"raw TeX left in the text: {state['rawTeX']}"
    # every figure has its size in the HTML; all wait until they are scrolled to, but a first figure on
    # the first screens (it then starts above 2.5 phone screens even on the desktop layout)
    assert loading["sized"] == loading["figures"], f"figures without width/height: {loading}"
    assert loading["lazy"] >= loading["figures"] - 1, f"figures not loading lazily: {loading}"
    if loading["eagerTop"]:
        assert loading["firstIsEager"], f"an eager figure that is not the page's first: {loading}"
        assert loading["eagerTop"][0] < 2000, f"an eager figure far down the page: {loading}"
    broken = [i["src"] for i in state["images"] if not i["ok"]]
    assert not broken, f"images that did not load: {broken}"
    # a figure's alt text is its caption (docs/_ext/figure_alt.py), never the image's file name
    unnamed = [i["src"] for i in state["images"] if not i["alt"].strip() or i["alt"].endswith((".png", ".svg"))]
    assert not unnamed, f"images whose alt text is empty or a file name: {unnamed}"
    assert not state["mathWithoutMathML"], f"{state['mathWithoutMathML']} formulas without MathML for screen readers"
    assert not state["glyphsMissing"], f"formulas refer to glyphs the page lacks: {state['glyphsMissing']}"
    assert not [u for u in state["scripts"] if "mathjax" in u.lower()], "the page still loads MathJax"
    english = [s for s in ENGLISH_UI if s in state["text"] or any(s in c for c in state["chrome"])]
    assert not english, f"interface strings still in English: {english}"
    assert state["wordBreak"] == "keep-all"


def test_page_fits_a_phone(visit, html_page):
    v = visit(html_page, width=390, height=844)
    overflow = v.page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = [...document.querySelectorAll('body *')].filter(e => {
            const r = e.getBoundingClientRect();
            if (r.width === 0 || r.right <= width + 1) return false;
            // inside a box that scrolls on its own (code, tables, wide formulas) is fine
            for (let p = e.parentElement; p; p = p.parentElement) {
              const s = getComputedStyle(p);
              if ((s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowX === 'hidden')
                  && p.getBoundingClientRect().right <= width + 1) return false;
              if (s.position === 'fixed' || s.display === 'none') return false;
            }
            return getComputedStyle(e).position !== 'fixed';
          });
          return {scroll: document.documentElement.scrollWidth, width,
                  wide: wide.slice(0, 5).map(e => e.tagName + '.' + e.className)};
        }"""
    )
    assert not v.problems(), "\n".join(v.problems())
    assert overflow["scroll"] <= overflow["width"], f"page wider than the phone: {overflow}"
    assert not overflow["wide"], f"elements sticking out: {overflow}"


def test_a_request_to_another_host_is_caught(visit):
    """The check above can fail: a page that asks a CDN for MathJax is reported (and the request blocked)."""
    v = visit("index.html")
    url = "https://cdn.jsdelivr.net/npm/mathjax@4/tex-mml-chtml.js"
    v.page.evaluate(f"fetch('{url}').catch(() => null)")
    v.page.wait_for_timeout(300)
    assert v.external == [url]
    assert any("request to another host" in p for p in v.problems())


def test_chapter_offers_its_notebook_with_outputs(visit, chapter_page):
    """Each chapter has a .ipynb in its download menu, executed (outputs included), to run in Jupyter."""
    v = visit(chapter_page)
    link = v.page.query_selector("a.btn-download-notebook-button")
    assert link is not None, "no .ipynb in the download menu"
    url = v.page.evaluate("a => a.href", link)
    response = v.page.request.get(url)
    assert response.ok, url
    nb = response.json()
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    with_outputs = [c for c in code if c.get("outputs")]
    counts = f"{len(with_outputs)} of {len(code)} code cells have outputs"
    assert code and len(with_outputs) >= len(code) // 2, f"{url}: {counts}"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


HEAD_ASSETS = re.compile(r"<(link|script)\b([^>]*)>", flags=re.I)


def test_page_paints_without_waiting_for_scripts_or_fonts(site, visit, html_page):
    """docs/_ext/page_assets.py and _templates/layout.html: one stylesheet, no blocking script, no font file.

    A phone on a slow connection paints a page once its HTML and its render-blocking stylesheets have
    arrived; a synchronous script in <head> and each further stylesheet delay that.
    """
    html = (site / html_page).read_text(encoding="utf-8")
    head = html[: html.index("</head>")]
    tags = [(name.lower(), attrs) for name, attrs in HEAD_ASSETS.findall(head)]
    blocking_css = [a for n, a in tags if n == "link" and 'rel="stylesheet"' in a and 'media="print"' not in a]
    assert len(blocking_css) == 1 and "_static/book.css" in blocking_css[0], blocking_css
    blocking_js = [a for n, a in tags if n == "script" and "src=" in a and "defer" not in a and "async" not in a]
    assert not blocking_js, f"scripts that block the first paint: {blocking_js}"
    assert not [a for n, a in tags if n == "link" and 'rel="preload"' in a], "preloads compete with the stylesheet"
    v = visit(html_page)
    assert not v.problems(), "\n".join(v.problems())
    fonts = [u for u in v.requests if re.search(r"\.(woff2?|ttf|otf)(\?|$)", u)]
    assert not fonts, f"font files requested (the icon glyphs are inlined in book.css): {fonts}"
    # the icon font (a subset inside book.css) is there for the theme's CSS glyphs
    faces = v.page.evaluate("""async () => { await document.fonts.ready;
      return [...document.fonts].map(f => [f.family.replace(/"/g, ''), f.status]); }""")
    assert faces and all(status != "error" for _, status in faces), faces


def test_colour_theme_is_decided_before_the_theme_script_runs(browser, base_url):
    """The <head> script resolves "auto" to light or dark itself (the theme's script used to restyle the page)."""
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        page.route("**/pydata-sphinx-theme.js*", lambda r: r.abort())  # the theme's script never runs
        page.goto(base_url + "01-attention.html")
        assert page.evaluate("[document.documentElement.dataset.mode, document.documentElement.dataset.theme]") == [
            "auto", scheme]
        page.evaluate("localStorage.setItem('mode', 'dark')")  # a reader's choice, kept by the theme
        page.reload()
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        context.close()
