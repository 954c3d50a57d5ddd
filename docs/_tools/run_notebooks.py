"""Run every downloadable notebook of the built site as a reader would, and compare it with the page.

Run with the Python of a *fresh* virtual environment that holds only a Jupyter kernel and nbclient
(``nox -s notebooks`` makes one)::

    python docs/_tools/run_notebooks.py docs/_build/html

It serves the site on loopback under a sub-path, downloads each page's notebook from the page's own
download link (``_sources/<page>.ipynb``), and runs it top to bottom in that environment's kernel. The
notebook's first code cell finds no ``attention_ref`` and installs the wheel from the served site
(``ATTN_BOOK_SITE`` tells it the loopback address instead of the hosted one); every later cell must give
the outputs the page shows (the downloaded notebook carries them), cells tagged ``timing`` aside.
Prints a table per page; exit status 1 on any difference, error or leftover MyST syntax.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
from check_determinism import TIMING_TAG, compare_notebooks
from clean_notebook import INTERACTIVE_TAG, leftover_myst
from site_server import serve

INSTALL_TAG = "install"


def notebook_links(site_url: str, page: str) -> list[str]:
    """The ``.ipynb`` links of a page's download menu, as the page's HTML has them (relative)."""
    with urllib.request.urlopen(f"{site_url}{page}.html", timeout=30) as r:
        html = r.read().decode("utf-8")
    return re.findall(r'href="([^"]+\.ipynb)"', html)


def download(url: str) -> nbformat.NotebookNode:
    with urllib.request.urlopen(url, timeout=30) as r:
        return nbformat.reads(r.read().decode("utf-8"), as_version=4)


def comparable(nb: nbformat.NotebookNode) -> dict:
    """The notebook without its install cell, and without the outputs of interactive views (which the
    downloaded notebook leaves out: only the site's script draws them)."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if INSTALL_TAG not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        if INTERACTIVE_TAG in cell.get("metadata", {}).get("tags", []):
            cell.outputs = []
    return json.loads(nbformat.writes(nb))


def run_page(site_url: str, page: str, timeout: int, workdir: Path) -> dict:
    links = notebook_links(site_url, page)
    if len(links) != 1:
        return {"page": page, "problems": [f"{len(links)} .ipynb links on the page (need one)"]}
    url = site_url + links[0].removeprefix("./")
    downloaded = download(url)
    problems = [f"MyST syntax left: {m!r}" for m in leftover_myst(downloaded)][:5]
    installs = [c for c in downloaded.cells if INSTALL_TAG in c.get("metadata", {}).get("tags", [])]
    code = [c for c in downloaded.cells if c.cell_type == "code"]
    if code and (not installs or code[0] is not installs[0]):
        problems.append("the first code cell is not the install cell")
    executed = copy.deepcopy(downloaded)
    for cell in executed.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    start = time.perf_counter()
    try:
        NotebookClient(executed, timeout=timeout, kernel_name="python3", allow_errors=False,
                       resources={"metadata": {"path": str(workdir)}}).execute()
    except Exception as exc:  # a cell raised: the notebook does not run outside the site
        problems.append(f"execution failed: {type(exc).__name__}: {str(exc)[-600:]}")
        return {"page": page, "problems": problems, "seconds": time.perf_counter() - start}
    seconds = time.perf_counter() - start
    a, b = comparable(downloaded), comparable(executed)
    diffs = compare_notebooks(a, b, page, TIMING_TAG)
    compared = sum(1 for c in a["cells"] if c["cell_type"] == "code"
                   and TIMING_TAG not in c.get("metadata", {}).get("tags", []))
    timing = sum(1 for c in a["cells"] if TIMING_TAG in c.get("metadata", {}).get("tags", []))
    problems += [str(d) for d in diffs]
    return {"page": page, "problems": problems, "seconds": seconds, "cells": compared, "timing": timing,
            "differing": len(diffs), "url": url}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the built site (docs/_build/html)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("pages", nargs="*", help="pages to run (default: every page with a notebook)")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("attention_ref") is not None:
        print("attention_ref is already importable here: run this in a fresh environment", file=sys.stderr)
        return 2
    sources = args.site / "_sources"
    pages = args.pages or sorted(p.stem for p in sources.glob("*.ipynb"))
    if not pages:
        print(f"no notebooks in {sources}: build the site first (nox -s docs)", file=sys.stderr)
        return 2
    server, site_url = serve(args.site)  # under the sub-path, as Pages serves it
    # the kernels run in an empty folder, as a reader's would: not where a checkout could be imported
    workdir = Path(tempfile.mkdtemp(prefix="attention-notebooks-"))

    os.environ["ATTN_BOOK_SITE"] = site_url  # the kernels inherit it: install from loopback
    results = []
    try:
        for page in pages:
            result = run_page(site_url, page, args.timeout, workdir)
            results.append(result)
            status = "ok" if not result["problems"] else "FAILED"
            print(f"{page}: {status} in {result.get('seconds', 0):.1f} s", flush=True)
    finally:
        server.shutdown()
    print()
    print("| page | code cells compared | timing cells (not compared) | differing | run time |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['page']} | {r.get('cells', '-')} | {r.get('timing', '-')} | "
              f"{r.get('differing', '-') if not r['problems'] or 'cells' in r else 'error'} | "
              f"{r.get('seconds', 0):.1f} s |")
    failed = [r for r in results if r["problems"]]
    for r in failed:
        print(f"\n{r['page']}:")
        for p in r["problems"]:
            print(f"  {p}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
