"""Screenshots for a person to look at (docs/_build/screenshots/), and the figure style in each mode.

For a few pages: the top of the page and its first figure, in light and dark mode, on a desktop screen
and on a 390 px wide phone; and the search page answering a query with a particle.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

PAGES = ["index", "01-attention", "04-masked"]
SCREENS = {"desktop": (1280, 900), "phone": (390, 844)}

FIGURE_STYLE = """async () => {
  const img = document.querySelector('article div.cell_output img, article figure img');
  if (!img) return null;
  img.scrollIntoView({block: 'center'});
  await img.decode().catch(() => null);  // lazy figures start loading once scrolled to
  const s = getComputedStyle(img);
  return {background: s.backgroundColor, radius: parseFloat(s.borderTopLeftRadius),
          width: img.getBoundingClientRect().width, natural: img.naturalWidth};
}"""


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("name", PAGES)
def test_screenshots(visit, site, screenshots, name, mode, screen):
    if not (site / f"{name}.html").is_file():
        pytest.fail(f"{name}.html is missing from the site")
    width, height = SCREENS[screen]
    v = visit(f"{name}.html", width=width, height=height, dark=mode == "dark")
    v.page.screenshot(path=screenshots / f"{name}-{mode}-{screen}.png")
    figure = v.page.evaluate(FIGURE_STYLE)
    if figure is not None:
        v.page.wait_for_timeout(200)
        v.page.screenshot(path=screenshots / f"{name}-{mode}-{screen}-figure.png")
        assert figure["natural"] > 0
        assert figure["width"] <= width, f"figure wider than the screen: {figure}"
        if mode == "dark":
            # a white card with rounded corners, not a dimmed picture on the dark page
            assert figure["background"] == "rgb(255, 255, 255)", figure
            assert figure["radius"] >= 4, figure
    assert not v.problems(), "\n".join(v.problems())


def test_search_page_screenshot(visit, screenshots):
    v = visit(f"search.html?q={quote('사과를')}", width=1280, height=900)
    v.page.wait_for_selector("#search-results ul.search li")
    v.page.wait_for_timeout(500)
    v.page.screenshot(path=screenshots / "search-light-desktop.png")
    summary = v.page.inner_text("#search-results .search-summary")
    assert "찾았습니다" in summary, summary
    assert not v.problems(), "\n".join(v.problems())
