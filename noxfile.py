"""Nox sessions: one short session per job. Run ``nox -l`` to list them.

- ``tests``: pytest (cross-checks against PyTorch, properties, bad input) plus the package's doctests
- ``doctest``: only the doctests (package docstrings and the book's pages)
- ``docs``: build the book (every page executed) into ``docs/_build/html``; warnings are errors
- ``lint``: ruff
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests", "docs"]
nox.options.reuse_existing_virtualenvs = True

DOCS_OUT = "docs/_build/html"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (torch CPU installed here for the cross-checks)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def doctest(session: nox.Session) -> None:
    """Run the Examples of every docstring and the doctest examples in the pages."""
    session.install("-e", ".[test]")
    session.run(
        "pytest", "-p", "no:cacheprovider", "--doctest-modules", "attention_ref",
        "--doctest-glob=*.md", "docs", "--ignore=docs/_build", *session.posargs,
    )


@nox.session(reuse_venv=True, default=False)
def docs(session: nox.Session) -> None:
    """Build the site with every page executed: ``sphinx-build -nW --keep-going``."""
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build", "-n", "-W", "--keep-going", "-b", "html", "docs", DOCS_OUT, *session.posargs
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Lint with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".", *session.posargs)
