"""Sphinx configuration of the Korean attention textbook."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "어텐션 메커니즘 교과서"
author = "attention-ref 기여자"
copyright = "2026, attention-ref 기여자"
language = "ko"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinxcontrib.bibtex",
    "sphinx_copybutton",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["custom.css"]

# --- MyST and notebook execution ------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "cache"
nb_execution_timeout = 300
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_output_stderr = "warn"  # any stderr in a cell is a warning, and -W turns it into an error
nb_merge_streams = True


def _package_fingerprint() -> str:
    """Hash of every module of attention_ref: part of the execution cache's path.

    The cache (jupyter-cache) reuses a page's outputs while its code cells are unchanged. Keying the
    cache directory on the package source means that any change to the package re-executes the pages,
    so no page can show numbers computed by an older version of the code.
    """
    h = hashlib.sha256()
    for path in sorted((ROOT / "attention_ref").rglob("*.py")):
        h.update(path.relative_to(ROOT).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache" / _package_fingerprint())

# --- bibliography ---------------------------------------------------------------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"

# --- API reference --------------------------------------------------------------------------------
autodoc_typehints = "none"
autodoc_member_order = "bysource"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_param = False
napoleon_use_rtype = False

# --- HTML -----------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "어텐션 메커니즘 교과서"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
}
