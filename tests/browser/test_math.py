"""The formulas as the site draws them (svg_slim.slim_svg) look exactly as MathJax drew them.

docs/_ext/math_svg.py keeps MathJax's own output in the build's cache (``_build/.math_svg/*.json``);
this draws a sample of those formulas twice on one page, MathJax's SVG and the slimmed one, with the
site's math stylesheet, and compares the two pictures pixel by pixel, in light and dark mode: no pixel
may change by more than a quarter of the grey scale, and at most 2% of the ink pixels by more than 16
levels (anti-aliasing at glyph edges).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))
from svg_slim import slim_svg

SAMPLE = 80  # formulas, spread over the cache (inline and display, tables, fractions, roots...)


def _cache(site: Path) -> dict:
    files = sorted((site.parent / ".math_svg").glob("*.json"))
    if not files:
        pytest.fail(f"no MathJax cache in {site.parent / '.math_svg'}: build the site with `nox -s docs` first")
    return json.loads(files[-1].read_text(encoding="utf-8"))


@pytest.mark.parametrize("dark", [False, True])
def test_slimmed_formulas_are_drawn_as_mathjax_drew_them(browser, site, dark):
    cache = _cache(site)
    keys = sorted(k for k, v in cache["formulas"].items() if v["svg"] and not v["error"])
    step = max(len(keys) // SAMPLE, 1)
    sample = keys[::step][:SAMPLE] + [k for k in keys if "mtable" in cache["formulas"][k]["svg"]][:5]
    css = (site / "_static" / "math-svg.css").read_text(encoding="utf-8")
    defs = "".join(cache["glyphs"].values())
    rows = []
    for i, key in enumerate(sample):
        original = cache["formulas"][key]["svg"]
        attrs = ' display="true"' if key.startswith("D") else ""
        rows.append(
            f'<div class="pair" id="p{i}"><mjx-container class="MathJax" jax="SVG"{attrs}>{original}</mjx-container>'
            f'<mjx-container class="MathJax" jax="SVG"{attrs}>{slim_svg(original)}</mjx-container></div>'
        )
    colours = "background:#121212;color:#ced6dd" if dark else "background:#fff;color:#222"
    page_html = (
        f"<!doctype html><html><head><style>{css}\nbody{{{colours};font-size:16px;margin:0}}"
        ".pair{display:grid;grid-template-columns:600px 600px;align-items:start}"
        "mjx-container{display:block;margin:0}</style></head><body>"
        f'{"".join(rows)}<svg style="display:none"><defs>{defs}</defs></svg></body></html>'
    )
    context = browser.new_context(viewport={"width": 1200, "height": 800}, device_scale_factor=2)
    page = context.new_page()
    page.set_content(page_html)
    differ: list[str] = []
    try:
        _compare(page, sample, differ)
    finally:
        context.close()
    assert not differ, f"{len(differ)} of {len(sample)} formulas look different when slimmed: {differ[:5]}"


def _difference(png_a: bytes, png_b: bytes) -> tuple[int, int, int]:
    """Largest grey-level change, pixels changed by more than 16, and pixels with ink (in either)."""
    import io

    from PIL import Image, ImageChops

    a, b = (Image.open(io.BytesIO(p)).convert("L") for p in (png_a, png_b))
    diff = ImageChops.difference(a, b)
    background = a.getpixel((0, 0))
    ink = sum(1 for pa, pb in zip(a.tobytes(), b.tobytes(), strict=True)
              if abs(pa - background) > 16 or abs(pb - background) > 16)
    changed = sum(1 for d in diff.tobytes() if d > 16)
    return diff.getextrema()[1], changed, max(ink, 1)


def _compare(page, sample: list[str], differ: list[str]) -> None:
    for i, key in enumerate(sample):
        boxes = page.evaluate(
            f"""() => [...document.querySelectorAll('#p{i} > mjx-container > svg')].map(s => {{
                 const r = s.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }})"""
        )
        assert len(boxes) == 2 and boxes[0][2:] == boxes[1][2:], f"{key!r}: sizes differ {boxes}"
        w, h = boxes[0][2:]
        if w == 0 or h == 0:
            continue
        shots = [
            page.screenshot(full_page=True, clip={"x": bx, "y": by, "width": min(w, 590), "height": h})
            for bx, by, _, _ in boxes
        ]
        worst, changed, ink = _difference(*shots)
        # anti-aliasing: composing a transform onto <use> instead of its <g> moves edges by far less than
        # a pixel, which shifts a few edge pixels' grey level a little; a lost glyph, a thinner stroke or
        # a moved glyph changes hundreds of pixels by much more
        if worst > 64 or changed > 0.02 * ink:
            differ.append(f"{key!r}: {changed} of {ink} ink pixels changed, by up to {worst}")
