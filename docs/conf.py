"""Sphinx configuration of the Korean attention textbook."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))

from book_site import edit_branch, site_settings  # noqa: E402  (docs/_ext, just put on the path)

project = "어텐션 메커니즘 교과서"
author = "attention-ref 기여자"
copyright = "2026, attention-ref 기여자"
language = "ko"

extensions = [
    "book_site",  # docs/_ext: where the site is hosted and the repository lives (book_site_url, book_repository)
    "myst_nb",
    "parallel_execute",  # docs/_ext: pages missing from the notebook cache executed side by side, then read
    "stream_merge",  # docs/_ext: a cell's printed chunks joined exactly (same text on every build)
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinxcontrib.bibtex",
    "sphinx_copybutton",
    "sphinx_design",
    "korean_search",  # docs/_ext: Korean search language (kiwipiepy morphemes + particle-aware query)
    "math_svg",  # docs/_ext: formulas typeset at build (MathJax 3 in Node -> SVG + MathML): no script to run
    "korean_interface",  # docs/_ext: theme and search-page strings in Korean (docs/locale/ko)
    "notebook_download",  # docs/_ext: each page's executed notebook (.ipynb, with outputs) to download
    "figure_alt",  # docs/_ext: a figure's image gets its caption as alt text, not its hashed file name
    "images",  # docs/_ext: palette PNGs, width/height and lazy loading for the figures
    "section_bounds",  # docs/_ext: sections off screen not laid out (content-visibility), each with a height bound
    "book_pdf",  # docs/_ext: "책 전체 PDF" in every page's download menu (the PDF: nox -s pdf)
    "sphinxext.opengraph",  # Open Graph / Twitter card tags and a drawn preview image per page
    "site_metadata",  # docs/_ext: Korean social cards, robots.txt, the 404 page's links (see the HTML section)
    "views",  # docs/_ext: the interactive views' script and style, only on the pages that have a view
    "icons",  # docs/_ext: the theme's icons as a small CSS (no fontawesome.js; see _templates/layout.html)
    "page_assets",  # docs/_ext: one stylesheet (_static/book.css), deferred scripts, lighter code blocks
    "a11y",  # docs/_ext: accessibility fixes to the theme's, myst-nb's and docutils' HTML (axe-core clean)
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
book_branch = edit_branch(os.environ)  # a pull request's pages edit the branch it merges into

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
html_math_renderer = "svg_at_build"  # docs/_ext/math_svg.py
html_title = "어텐션 메커니즘 교과서"
# a 3x3 attention matrix; without an icon, browsers ask the host's root for /favicon.ico (a 404)
html_favicon = "_static/favicon.svg"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    # sphinx-book-theme 1.4 with pydata-sphinx-theme 0.20 shows pydata's top navbar holding nothing but
    # a second search field (sphinx-book-theme issue #986): the book's search lives in the sidebar
    "navbar_persistent": [],
}
# follow the reader's light/dark setting (left empty, the theme logs a console error on every page)
html_context = {"default_mode": "auto"}

# --- links back to the project, and what the site tells the web (docs/_ext/site_metadata.py) ------
# Repository known (GITHUB_REPOSITORY on Actions, or ATTN_REPOSITORY): 소스 저장소, 이슈 열기 and
# 이 페이지 고치기 in each page's header (the edit link opens docs/<page>.md on book_branch).
if book_repository:
    html_theme_options |= {
        "repository_url": f"https://github.com/{book_repository}",
        "repository_branch": book_branch,
        "path_to_docs": "docs",
        "use_repository_button": True,
        "use_issues_button": True,
        "use_edit_page_button": True,
    }

# Address known: canonical links, sitemap.xml (+ robots.txt naming it), absolute Open Graph URLs with a
# drawn preview image, and a 404 page that works from any missing path. A local build (address
# unknown) has none of these: a sitemap needs absolute URLs (sphinx-sitemap warns without
# html_baseurl), and sphinx-notfound-page would make the 404 page's links absolute from the host's root,
# which breaks it when the folder is opened as files or served under a sub-path; without it docs/404.md
# is an ordinary page with relative links.
if book_site_url:
    html_baseurl = book_site_url
    extensions += ["sphinx_sitemap", "notfound.extension"]
    sitemap_url_scheme = "{link}"  # the site has one language and one version: no "ko/" or "latest/"
    sitemap_locales = [None]  # no hreflang alternates (docs/locale holds interface strings, not a translation)
    sitemap_excludes = ["404.html", "search.html", "genindex.html", "py-modindex.html"]
    sitemap_show_lastmod = False  # no dates from git: the same sources give the same site
    notfound_urls_prefix = urlsplit(book_site_url).path  # "/REPO/" on a project site, "/" on a domain

# Open Graph: og:title is the page's title, og:description its first text, og:image a card drawn at
# build (matplotlib, NanumGothic: site_metadata registers it; no download). Open Graph needs absolute
# URLs, so a local build leaves out og:url, og:image and its card, and keeps what still holds: title,
# description, site name, locale (a "summary" Twitter card without a picture).
ogp_site_url = book_site_url or ""
ogp_site_name = project
ogp_type = "website"
ogp_custom_meta_tags = ['<meta property="og:locale" content="ko_KR" />']
ogp_social_cards = {
    "enable": bool(book_site_url),  # with a card, twitter:card is summary_large_image
    "font": "NanumGothic",  # koreanize-matplotlib's font (the plot extra), registered by site_metadata
    "line_color": "#0a7d91",
}
if not book_site_url:
    ogp_custom_meta_tags.append('<meta name="twitter:card" content="summary" />')

# numpydoc type fields hold shapes and descriptions ("(..., Lq, d_k) array_like", "ndarray"), not
# class names: don't let nitpicky mode chase them. Every other reference (py:func, py:meth, py:obj,
# doc, ref, term, cite) is still checked.
nitpick_ignore_regex = [("py:class", r"[^.]+")]
# The same type words then also name attributes of several classes (Encoder.d_model, Decoder.d_model):
# silence only the "more than one target found" ambiguity warnings (subtype ref.python); missing
# references keep failing the build.
suppress_warnings = ["ref.python"]
