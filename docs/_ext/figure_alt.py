"""Give every figure's image a real alt text: its caption (myst-nb leaves the hashed file name).

A code cell's figure (``mystnb: figure: caption``) becomes an image whose ``alt`` is
``_images/<sha256>.png``: a screen reader would read out a hash. This transform sets the alt text of
each image inside a figure to the figure's caption text; an image outside a figure that still has only
its file name as alt text gets a plain "그림" instead.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform


def _is_file_name(alt: str, uri: str) -> bool:
    return not alt or alt == uri or alt.endswith((".png", ".svg", ".jpg", ".jpeg"))


class FigureAlt(SphinxPostTransform):
    """Replace file-name alt texts by the figure's caption."""

    default_priority = 800

    def run(self, **kwargs) -> None:
        for image in self.document.findall(nodes.image):
            if not _is_file_name(image.get("alt", ""), image.get("uri", "")):
                continue
            figure = image.parent
            while figure is not None and not isinstance(figure, nodes.figure):
                figure = figure.parent
            caption = next(iter(figure.findall(nodes.caption)), None) if figure is not None else None
            text = " ".join(caption.astext().split()) if caption is not None else ""
            image["alt"] = text or "그림"


def setup(app):
    app.add_post_transform(FigureAlt)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
