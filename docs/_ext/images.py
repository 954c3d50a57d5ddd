"""Figures that load fast on a phone: smaller PNGs, their size in the HTML, and lazy loading below the top.

After the HTML build, for the figures in ``_images/``:

- each PNG becomes a 256-colour palette PNG when that is smaller (matplotlib's figures are flat colours,
  colormaps of at most 256 steps and anti-aliased text, so a palette keeps them as they look; a figure
  with transparency keeps its alpha). The result is cached by the PNG's bytes in ``_build/.png_cache``;
- every ``<img>`` of those figures gets ``width`` and ``height`` (the PNG's pixel size; the theme's CSS
  scales it to the column, and the attributes give the browser the aspect ratio before the image
  arrives, so nothing jumps), ``decoding="async"``, and ``loading="lazy"`` unless it is the page's first
  figure and starts within the first screen of a phone (fewer than ``FIRST_SCREEN_CHARS`` characters of
  the article's text before it). An eager figure further down would compete with the page's text and
  stylesheet for a slow connection before the first paint (Lighthouse counted chapter 1's 23 KB first
  figure, three screens down, in its largest contentful paint).
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sphinx.application import Sphinx

IMG = re.compile(r"<img\b[^>]*>")
FIRST_SCREEN_CHARS = 400  # a 390 px phone shows about 20 lines of 20 Korean characters
TAG = re.compile(r"<[^>]+>")
SRC = re.compile(r'\bsrc="([^"]+)"')


def smaller_png(data: bytes) -> bytes:
    """``data`` as a 256-colour palette PNG if that is smaller, else ``data``."""
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    im.load()
    if im.mode == "P":
        return data
    if im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema()[0] < 255:
        quantized = im.convert("RGBA").quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    else:
        quantized = im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    quantized.save(out, "PNG", optimize=True)
    return out.getvalue() if out.tell() < len(data) else data


def png_size(path: Path) -> tuple[int, int] | None:
    with path.open("rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def shrink_images(outdir: Path, cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    for png in sorted((outdir / "_images").glob("*.png")):
        data = png.read_bytes()
        cached = cache / (hashlib.sha256(data).hexdigest()[:32] + ".png")
        if not cached.is_file():
            tmp = cached.with_suffix(".tmp")
            tmp.write_bytes(smaller_png(data))
            tmp.replace(cached)
        shutil.copyfile(cached, png)


def with_attributes(html: str, page_dir: Path) -> str:
    """Every figure ``<img>`` of a page with width, height, async decoding, and lazy loading below the first screen."""
    seen = 0
    article = html.find("<article")

    def one(m: re.Match) -> str:
        nonlocal seen
        tag = m.group(0)
        src = SRC.search(tag)
        if not src or "_images/" not in src.group(1) or src.group(1).startswith(("http:", "https:", "data:")):
            return tag
        seen += 1
        size = png_size((page_dir / src.group(1)).resolve()) if src.group(1).endswith(".png") else None
        extra = []
        if size and " width=" not in tag and " height=" not in tag:
            extra.append(f'width="{size[0]}" height="{size[1]}"')
        if " decoding=" not in tag:
            extra.append('decoding="async"')
        before = TAG.sub("", html[max(article, 0) : m.start()]) if seen == 1 else ""
        on_first_screen = seen == 1 and len("".join(before.split())) < FIRST_SCREEN_CHARS
        if not on_first_screen and " loading=" not in tag:
            extra.append('loading="lazy"')
        if not extra:
            return tag
        end = -2 if tag.endswith("/>") else -1
        return tag[:end].rstrip() + " " + " ".join(extra) + tag[end:]

    return IMG.sub(one, html)


def finish(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    shrink_images(outdir, outdir.parent / ".png_cache")
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = with_attributes(text, page.parent)
        if new != text:
            page.write_text(new, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("build-finished", finish)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
