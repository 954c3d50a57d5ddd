"""Offer each chapter as a Jupyter notebook *with its outputs*, from the page's download menu.

myst-nb writes every notebook page as a notebook to ``<outdir>/../jupyter_execute/<docname>.ipynb``;
in ``nb_execution_mode = "cache"`` that file has the cells but no outputs (myst-nb 1.4 writes the
notebook it read, not the one it merged with the cache). So for each such page this merges the outputs
back from the execution cache (jupyter-cache, the same lookup myst-nb makes: images stay embedded),
writes the result next to the page's source in ``_sources/``, and sets ``ipynb_source``, which makes
sphinx-book-theme add a ``.ipynb`` entry to its download menu (it does this by itself only for pages
written as .ipynb).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def executed_notebook(app: Sphinx, docname: str) -> Path | None:
    config = getattr(app.env, "mystnb_config", None)
    if config is None or not config.output_folder:
        return None
    path = Path(config.output_folder, *f"{docname}.ipynb".split("/"))
    return path if path.is_file() else None


def offer_notebook(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if doctree is None or app.builder.format != "html":
        return
    source = executed_notebook(app, pagename)
    if source is None:
        return
    name = f"{pagename}.ipynb"
    target = Path(app.outdir, "_sources", *name.split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(nbformat.writes(with_outputs(app, source)), encoding="utf-8")
    context["ipynb_source"] = name


def with_outputs(app: Sphinx, path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path``, with the outputs of its executed twin in the cache if there is one."""
    nb = nbformat.read(path, as_version=4)
    cache_path = app.env.mystnb_config.execution_cache_path
    if has_outputs(nb) or not cache_path or not Path(cache_path).is_dir():
        return nb
    from jupyter_cache import get_cache

    with contextlib.suppress(KeyError):  # not in the cache: offer the notebook as it is
        _, nb = get_cache(cache_path).merge_match_into_notebook(nb)
    return nb


def has_outputs(nb: nbformat.NotebookNode) -> bool:
    return any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def setup(app: Sphinx) -> dict[str, Any]:
    # before sphinx-book-theme's add_header_buttons (priority 500), which reads ipynb_source
    app.connect("html-page-context", offer_notebook, priority=400)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
