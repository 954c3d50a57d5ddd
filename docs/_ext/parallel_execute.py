"""The pages whose outputs are not in the cache, executed side by side before Sphinx reads them.

myst-nb (``nb_execution_mode = "cache"``) executes a page when Sphinx reads it, one page after the other:
a cold build of this book spent 72 s of its 114 s waiting for nine kernels in turn, on a machine with a
core idle. Here, when Sphinx knows which pages it will read (``env-before-read-docs``), each MyST
notebook among them is read exactly as myst-nb reads it, looked up in the same jupyter-cache, and the
ones missing are executed at once, one kernel per core (the longest first), with the same function,
working directory and timeout that myst-nb uses; their outputs go into the cache. myst-nb then finds
every page there and executes nothing. The outputs are the same as a one-by-one build's (nox -s
determinism compares two cold builds; each page's kernel is its own process either way).

A page that fails here is left out of the cache: myst-nb executes it again as it reads it, and reports
the error the usual way (``nb_execution_raise_on_error``). ``ATTN_NB_JOBS`` sets the number of kernels
at once (default: the machine's cores; 1 leaves execution to myst-nb).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphinx.util import logging

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)


def jobs() -> int:
    return max(1, int(os.environ.get("ATTN_NB_JOBS") or os.cpu_count() or 1))


def missing_notebooks(env: BuildEnvironment, docnames: list[str]) -> list[tuple[Path, Any]]:
    """The (path, notebook) of each page to read that is a notebook whose outputs are not in the cache."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import create_nb_reader

    nb_config = env.mystnb_config
    cache = get_cache(nb_config.execution_cache_path or ".jupyter_cache")
    missing = []
    for docname in docnames:
        path = Path(env.doc2path(docname))
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        reader = create_nb_reader(str(path), env.myst_config, nb_config, text)
        if reader is None:
            continue
        notebook = reader.read(text)
        try:
            cache.match_cache_notebook(notebook)
        except KeyError:
            missing.append((path, notebook))
    return missing


def execute_missing(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    nb_config = env.mystnb_config
    if (nb_config.execution_mode != "cache" or nb_config.execution_in_temp or nb_config.execution_excludepatterns
            or jobs() < 2):
        return
    missing = missing_notebooks(env, sorted(docnames))
    if len(missing) < 2:
        return  # nothing to do side by side: myst-nb executes it
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors.utils import single_nb_execution

    # the longest first (the most code), so that the last one to start is a short one
    missing.sort(key=lambda item: -sum(len(c.source) for c in item[1].cells if c.cell_type == "code"))

    def run(item: tuple[Path, Any]) -> tuple[Path, Any, Any]:
        path, notebook = item
        result = single_nb_execution(notebook, cwd=str(path.parent), timeout=nb_config.execution_timeout,
                                     allow_errors=nb_config.execution_allow_errors, meta_override=True)
        return path, notebook, result

    start = time.perf_counter()
    cache = get_cache(nb_config.execution_cache_path or ".jupyter_cache")
    with ThreadPoolExecutor(max_workers=min(jobs(), len(missing))) as pool:
        for path, notebook, result in pool.map(run, missing):
            if result.err is not None:
                logger.info("parallel_execute: %s failed; myst-nb executes it again", path.name)
                continue
            cache.cache_notebook_bundle(CacheBundleIn(notebook, str(path), data={"execution_seconds": result.time}),
                                        check_validity=False, overwrite=True)
    logger.info("parallel_execute: %d notebooks in %.1f s, %d at a time", len(missing),
                time.perf_counter() - start, min(jobs(), len(missing)))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-before-read-docs", execute_missing)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
