"""Offer each chapter as a clean Jupyter notebook *with its outputs*, and a wheel of the package to run it.

myst-nb writes every notebook page as a notebook to ``<outdir>/../jupyter_execute/<docname>.ipynb``;
in ``nb_execution_mode = "cache"`` that file has the cells but no outputs (myst-nb 1.4 writes the
notebook it read, not the one it merged with the cache). So for each such page this merges the outputs
back from the execution cache (jupyter-cache, the same lookup myst-nb makes: images stay embedded),
makes the notebook clean Jupyter (``clean_notebook``: no MyST-only syntax, an install cell first),
writes it next to the page's source in ``_sources/``, and sets ``ipynb_source``, which makes
sphinx-book-theme add a ``.ipynb`` entry to its download menu (it does this by itself only for pages
written as .ipynb).

The install cell fetches ``wheels/attention_ref-<version>-py3-none-any.whl`` from the site: this
extension builds that wheel (``pip wheel``, cached beside the build by the package's sources) into the site. Where the
site is hosted comes from ``book_site_url`` (``docs/_ext/book_site.py``); a local build points the cell
at its own output folder. Where the repository is known (``book_repository``), each page gets a
"Colab에서 열기" link to its notebook on the ``notebooks`` branch, which the Pages workflow publishes.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
from clean_notebook import Resolver, citation_text, clean_notebook

if TYPE_CHECKING:
    from sphinx.application import Sphinx

WHEEL_DIR = "wheels"
NOTEBOOK_BRANCH = "notebooks"  # where the Pages workflow publishes the clean notebooks (for Colab)
COLAB = "https://colab.research.google.com/github"


def executed_notebook(app: Sphinx, docname: str) -> Path | None:
    config = getattr(app.env, "mystnb_config", None)
    if config is None or not config.output_folder:
        return None
    path = Path(config.output_folder, *f"{docname}.ipynb".split("/"))
    return path if path.is_file() else None


def colab_url(repository: str, docname: str) -> str:
    """The Colab address of page ``docname``'s notebook on the repository's notebooks branch."""
    return f"{COLAB}/{repository}/blob/{NOTEBOOK_BRANCH}/{docname}.ipynb"


def offer_notebook(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if doctree is None or app.builder.format != "html":
        return
    source = executed_notebook(app, pagename)
    if source is None:
        return
    name = f"{pagename}.ipynb"
    target = Path(app.outdir, "_sources", *name.split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    nb = clean_notebook(with_outputs(app, source), resolver(app), pagename, install=install_source(app))
    target.write_text(nbformat.writes(nb), encoding="utf-8")
    context["ipynb_source"] = name


def add_colab_button(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """A "Colab에서 열기" button in the page's header, after the theme has made its buttons."""
    repository = app.config.book_repository
    if not repository or not context.get("ipynb_source") or "header_buttons" not in context:
        return
    context["header_buttons"].insert(0, {
        "type": "group",
        "tooltip": "Colab에서 열기",
        "icon": "fas fa-rocket",
        "label": "launch-buttons",
        "buttons": [{
            "type": "link",
            "text": "Colab에서 열기",
            "tooltip": "이 장의 노트북을 Google Colab에서 엽니다",
            "icon": "_static/images/logo_colab.png",
            "url": colab_url(repository, pagename),
            "label": "colab-button",
        }],
    })


def with_outputs(app: Sphinx, path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` with the outputs of its executed twin in the cache.

    Always from the cache when it has the page: the notebook myst-nb writes has no outputs when they
    came from the cache, and lacks the records of ``glue`` (which myst-nb takes out) when the page was
    executed in this build; the cache holds the whole executed notebook.
    """
    nb = nbformat.read(path, as_version=4)
    cache_path = app.env.mystnb_config.execution_cache_path
    if not cache_path or not Path(cache_path).is_dir():
        return nb
    from jupyter_cache import get_cache

    with contextlib.suppress(KeyError):  # not in the cache: offer the notebook as it is
        _, nb = get_cache(cache_path).merge_match_into_notebook(nb)
    return nb


# --- what the pages refer to -------------------------------------------------------------------------
def resolver(app: Sphinx) -> Resolver:
    """Equation numbers, section labels, page titles and citations, read once from the build."""
    cached = getattr(app, "_clean_notebook_resolver", None)
    if cached is not None:
        return cached
    env = app.env
    math = env.get_domain("math")
    std = env.get_domain("std")
    equations = {label: number for label, (_doc, number) in math.data["objects"].items()}
    labels = {name: (doc, anchor, title) for name, (doc, anchor, title) in std.data["labels"].items() if title}
    titles = {doc: title.astext() for doc, title in env.titles.items()}
    citations = {}
    from pybtex.database import parse_file

    for bib in app.config.bibtex_bibfiles:
        for key, entry in parse_file(str(Path(app.confdir, bib)), bib_format="bibtex").entries.items():
            citations[key] = citation_text(entry)

    def include(arg: str, options: dict[str, str]) -> str:
        import yaml
        from sphinx.directives.code import LiteralIncludeReader

        parsed: dict[str, Any] = {}
        for key, value in options.items():
            value = yaml.safe_load(value) if value else None  # MyST reads option values as YAML
            parsed[key] = int(value) if key in {"dedent", "lineno-start"} and value is not None else value
        text, _ = LiteralIncludeReader(Path(app.confdir, arg), parsed, app.config).read()
        return text

    app._clean_notebook_resolver = Resolver(equations, labels, titles, citations, include, app.config.book_site_url)
    return app._clean_notebook_resolver


def forget_resolver(app: Sphinx, env: Any) -> None:
    app._clean_notebook_resolver = None  # a new read: equation numbers and titles may have changed


# --- the wheel the install cell fetches --------------------------------------------------------------
def _root(app: Sphinx) -> Path:
    return Path(app.confdir).resolve().parent


def wheel_name(app: Sphinx) -> str:
    import tomllib

    project = tomllib.loads((_root(app) / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return f"{project['name'].replace('-', '_')}-{project['version']}-py3-none-any.whl"


def install_source(app: Sphinx) -> tuple[str, str]:
    """``(site, wheel path)`` for the install cell: the hosted site, or this build's own folder."""
    site = app.config.book_site_url or Path(app.outdir).resolve().as_uri() + "/"
    return site, f"{WHEEL_DIR}/{wheel_name(app)}"


def wheel_sources(root: Path) -> list[Path]:
    """What the wheel is built from: the package's modules, its metadata and the README it shows."""
    return sorted([*(root / "attention_ref").rglob("*.py"), root / "pyproject.toml", root / "README.md"])


def copy_sources(root: Path, sources: list[Path], target: Path) -> None:
    """``sources`` (paths under ``root``) copied to the same places under ``target``, times kept."""
    for path in sources:
        copy = target / path.relative_to(root)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)


def make_wheel(app: Sphinx) -> Path:
    """The package's wheel, built once per version of its sources and metadata (beside the build).

    The wheel is built from a private copy of its sources: setuptools writes ``build/`` and
    ``*.egg-info`` next to them, so two builds at once (the ``buildcheck`` tests run two) would
    otherwise share, and break, one ``build/`` folder in the checkout.
    """
    root = _root(app)
    sources = wheel_sources(root)
    h = hashlib.sha256()
    for path in sources:
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    cache = Path(app.outdir).parent / ".wheels" / h.hexdigest()[:16]  # beside this build, like its other caches
    wheel = cache / wheel_name(app)
    if not wheel.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="attention-ref-wheel-") as tmp:
            copy_sources(root, sources, Path(tmp))
            cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                   "-w", str(cache), tmp]
            run = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=tmp)
        if run.returncode != 0 or not wheel.is_file():
            msg = f"building {wheel.name} failed:\n{run.stdout}\n{run.stderr}"
            raise RuntimeError(msg)
    for old in cache.parent.iterdir():  # wheels of earlier sources: not needed again
        if old != cache:
            shutil.rmtree(old, ignore_errors=True)
    return wheel


def start_wheel(app: Sphinx, env: Any) -> None:
    """Build the wheel in a thread (pip runs as its own process) while Sphinx analyses and writes pages."""
    if app.builder.format != "html" or getattr(app, "_wheel_job", None) is not None:
        return
    job: dict[str, Any] = {}

    def run() -> None:
        try:
            job["wheel"] = make_wheel(app)
        except BaseException as error:  # raised again at build-finished
            job["error"] = error

    job["thread"] = threading.Thread(target=run, name="attention-ref-wheel", daemon=True)
    job["thread"].start()
    app._wheel_job = job


def build_wheel(app: Sphinx, exception: Exception | None) -> None:
    """Put the package's wheel into the site (the one started at ``env-updated``, or built now)."""
    job = getattr(app, "_wheel_job", None)
    app._wheel_job = None
    if job is not None:
        job["thread"].join()
    if exception is not None or app.builder.format != "html":
        return
    if job is None:
        wheel = make_wheel(app)
    elif "error" in job:
        raise job["error"]
    else:
        wheel = job["wheel"]
    out = Path(app.outdir, WHEEL_DIR)
    out.mkdir(exist_ok=True)
    shutil.copy2(wheel, out / wheel.name)


def setup(app: Sphinx) -> dict[str, Any]:
    # before sphinx-book-theme's add_header_buttons (priority 500), which reads ipynb_source
    app.connect("html-page-context", offer_notebook, priority=400)
    app.connect("html-page-context", add_colab_button, priority=510)
    app.connect("env-updated", forget_resolver)
    app.connect("env-updated", start_wheel, priority=100)  # early: pip runs beside the search analysis
    app.connect("build-finished", build_wheel)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
