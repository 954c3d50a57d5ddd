"""The pages whose outputs are not in the cache, executed side by side before Sphinx reads them.

myst-nb (``nb_execution_mode = "cache"``) executes a page when Sphinx reads it, one page after the other:
a cold build of this book spent 72 s of its 114 s waiting for nine kernels in turn, with a core idle.
Here, once Sphinx knows which pages it will read (``env-before-read-docs``), each MyST notebook among
them is read exactly as myst-nb reads it and looked up in the same jupyter-cache; the ones missing are
executed at once, one kernel per core (the longest first), with the function, working directory and
timeout that myst-nb uses. Nothing is written to the cache here.

When myst-nb then reads such a page and calls ``single_nb_execution`` on it, it gets this execution's
result instead of starting a kernel: the outputs, execution counts and metadata are copied into its
notebook in place, as the real function would have left them. Everything after that is myst-nb's own
code, so the page, its cache entry, the notebook it writes to ``jupyter_execute`` (which has the
outputs, as in a one-by-one build: notebooks read back from the cache have none in myst-nb 1.4), an
error report or a failed build are exactly those of a one-by-one build. A notebook whose code differs
from what was executed here (it cannot, within one build) is executed by myst-nb as usual.

Kernels side by side share the cores: each one's BLAS gets ``cores // kernels`` threads (at least 1,
through ``OMP_NUM_THREADS`` and friends, which a kernel reads as it starts), so that two kernels on two
cores do not each start two threads and slow each other's timings down by an order of magnitude. The
pages print what their BLAS used (08-cost), so they say so.

``ATTN_NB_JOBS`` sets the number of kernels at once (default: the machine's cores; 1 leaves execution to
myst-nb alone).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
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

# (working directory, code of the notebook) -> (executed notebook, ExecutionResult), for this process
_DONE: dict[tuple[str, str], tuple[Any, Any]] = {}


def jobs() -> int:
    return max(1, int(os.environ.get("ATTN_NB_JOBS") or os.cpu_count() or 1))


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def threads_per_kernel(workers: int):
    """While kernels start in this block, each one's BLAS gets its share of the cores."""
    share = str(max(1, (os.cpu_count() or 1) // workers))
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: share for name in THREAD_VARIABLES if saved[name] is None})
    try:
        yield share
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)


def key(notebook: Any, cwd: str | None) -> tuple[str, str]:
    """What identifies one execution: where it runs and every code cell's source, in order."""
    code = "\x00".join(c.source for c in notebook.cells if c.cell_type == "code")
    return str(Path(cwd or ".").resolve()), hashlib.sha256(code.encode("utf-8")).hexdigest()


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


def take_over(real: Any) -> Any:
    """``single_nb_execution`` that hands over a result computed ahead, else runs ``real``."""

    def single_nb_execution(nb: Any, cwd: str | None, *args: Any, **kwargs: Any) -> Any:
        done = _DONE.pop(key(nb, cwd), None)
        if done is None:
            return real(nb, cwd, *args, **kwargs)
        executed, result = done
        # in place, as nbclient leaves it: myst-nb holds this object (and writes it to jupyter_execute)
        for cell, ran in zip(nb.cells, executed.cells, strict=True):
            cell.clear()
            cell.update(ran)
        nb.metadata.clear()
        nb.metadata.update(executed.metadata)
        result.nb = nb
        return result

    single_nb_execution.real = real  # type: ignore[attr-defined]
    return single_nb_execution


def install() -> None:
    """Put :func:`take_over` in the name myst-nb's cache client calls (once)."""
    from myst_nb.core.execute import cache as client

    current = client.single_nb_execution
    if not hasattr(current, "real"):
        client.single_nb_execution = take_over(current)


def execute_missing(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    nb_config = env.mystnb_config
    if (nb_config.execution_mode != "cache" or nb_config.execution_in_temp or nb_config.execution_excludepatterns
            or jobs() < 2):
        return
    missing = missing_notebooks(env, sorted(docnames))
    if len(missing) < 2:
        return  # nothing to do side by side: myst-nb executes it
    from jupyter_cache.executors.utils import single_nb_execution

    install()
    # the longest first (the most code), so that the last one to start is a short one
    missing.sort(key=lambda item: -sum(len(c.source) for c in item[1].cells if c.cell_type == "code"))

    def run(item: tuple[Path, Any]) -> None:
        path, notebook = item
        cwd = str(path.parent)
        ran = copy.deepcopy(notebook)
        result = single_nb_execution(ran, cwd=cwd, timeout=nb_config.execution_timeout,
                                     allow_errors=nb_config.execution_allow_errors, meta_override=True)
        _DONE[key(notebook, cwd)] = (ran, result)

    start = time.perf_counter()
    workers = min(jobs(), len(missing))
    with threads_per_kernel(workers) as share, ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(run, missing))
    logger.info("parallel_execute: %d notebooks in %.1f s, %d at a time, BLAS threads %s each", len(missing),
                time.perf_counter() - start, workers, share)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-before-read-docs", execute_missing)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
