"""Sphinx configuration of the Korean attention textbook."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))

from book_site import site_settings  # noqa: E402  (docs/_ext, just put on the path)

project = "어텐션 메커니즘 교과서"
author = "attention-ref 기여자"
copyright = "2026, attention-ref 기여자"
language = "ko"

extensions = [
    "book_site",  # docs/_ext: where the site is hosted and the repository lives (book_site_url, book_repository)
    "myst_nb",
    "stream_merge",  # docs/_ext: a cell's printed chunks joined exactly (same text on every build)
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinxcontrib.bibtex",
    "sphinx_copybutton",
    "sphinx_design",
    "korean_search",  # docs/_ext: Korean search language (kiwipiepy morphemes + particle-aware query)
    "sphinx-mathjax-offline",  # MathJax 3 and its fonts served from _static/mathjax: no CDN
    "korean_interface",  # docs/_ext: theme and search-page strings in Korean (docs/locale/ko)
    "notebook_download",  # docs/_ext: each page's executed notebook (.ipynb, with outputs) to download
    "figure_alt",  # docs/_ext: a figure's image gets its caption as alt text, not its hashed file name
]
# Korean interface strings (sphinx.po overrides Sphinx's catalog; absolute: Sphinx resolves some
# lookups from the current directory)
locale_dirs = [str(DOCS / "locale")]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["custom.css"]

# --- where the book lives -------------------------------------------------------------------------
# ATTN_SITE_URL / ATTN_REPOSITORY, or GITHUB_REPOSITORY on GitHub Actions (docs/_ext/book_site.py);
# both None for a build on one's own machine.
book_repository, book_site_url = site_settings(os.environ)
book_branch = os.environ.get("GITHUB_REF_NAME") or "main"

# --- MyST and notebook execution ------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "cache"
nb_execution_timeout = 300
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_output_stderr = "warn"  # any stderr in a cell is a warning, and -W turns it into an error
nb_merge_streams = True
nb_code_prompt_show = "{type} 보기"  # {type} is translated by docs/_ext/korean_interface.py
nb_code_prompt_hide = "{type} 숨기기"


# Distributions whose version can change what a page prints or draws: the package itself, the libraries
# the pages import, and the notebook machinery that executes them and stores their outputs.
_FINGERPRINT_DISTRIBUTIONS = (
    "attention-ref",
    "ipython",
    "koreanize-matplotlib",  # the figures' Korean font
    "matplotlib",
    "myst-nb",
    "numpy",
    "threadpoolctl",
)


def _package_fingerprint() -> str:
    """Hash of every module of attention_ref and of the pages' library versions: the cache's path.

    The cache (jupyter-cache) reuses a page's outputs while its code cells are unchanged. Keying the
    cache directory on the package source means that any change to the package re-executes the pages,
    so no page can show numbers computed by an older version of the code; keying it on the installed
    versions of ``_FINGERPRINT_DISTRIBUTIONS`` (``importlib.metadata``) does the same for an upgrade of
    NumPy, matplotlib or myst-nb. The same sources and versions always give the same key.
    """
    h = hashlib.sha256()
    for path in sorted((ROOT / "attention_ref").rglob("*.py")):
        h.update(path.relative_to(ROOT).as_posix().encode())
        h.update(path.read_bytes())
    for name in _FINGERPRINT_DISTRIBUTIONS:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        h.update(f"\0{name}=={version}".encode())
    return h.hexdigest()[:16]


_cache_root = Path(os.environ.get("ATTN_NB_CACHE", DOCS / "_build" / ".jupyter_cache"))
nb_execution_cache_path = str(_cache_root / _package_fingerprint())

# --- bibliography ---------------------------------------------------------------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# --- API reference --------------------------------------------------------------------------------
autodoc_typehints = "none"
autodoc_member_order = "bysource"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_param = False
napoleon_use_rtype = False
napoleon_use_ivar = True

# --- HTML -----------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "어텐션 메커니즘 교과서"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    # sphinx-book-theme 1.4 with pydata-sphinx-theme 0.20 shows pydata's top navbar holding nothing but
    # a second search field (sphinx-book-theme issue #986): the book's search lives in the sidebar
    "navbar_persistent": [],
}
# follow the reader's light/dark setting (left empty, the theme logs a console error on every page)
html_context = {"default_mode": "auto"}

# numpydoc type fields hold shapes and descriptions ("(..., Lq, d_k) array_like", "ndarray"), not
# class names: don't let nitpicky mode chase them. Every other reference (py:func, py:meth, py:obj,
# doc, ref, term, cite) is still checked.
nitpick_ignore_regex = [("py:class", r"[^.]+")]
# The same type words then also name attributes of several classes (Encoder.d_model, Decoder.d_model):
# silence only the "more than one target found" ambiguity warnings (subtype ref.python); missing
# references keep failing the build.
suppress_warnings = ["ref.python"]
