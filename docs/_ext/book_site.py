"""Where the book is hosted and where its repository lives: configured once, read by every extension.

``ATTN_SITE_URL`` is the published site's address and ``ATTN_REPOSITORY`` the GitHub repository
(``owner/name``). In a GitHub Actions build, ``GITHUB_REPOSITORY`` gives both: a project's Pages site is
``https://OWNER.github.io/NAME/``. Neither set (a build on one's own machine), the book has no
repository links, and its notebooks install the package from the local build's wheel.

``docs/conf.py`` sets ``book_repository`` and ``book_site_url`` from :func:`site_settings`; extensions
read them from ``app.config``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")


def site_settings(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """``(repository, site_url)`` from the environment; ``None`` for what is not known.

    >>> site_settings({"GITHUB_REPOSITORY": "kim/attention-book"})
    ('kim/attention-book', 'https://kim.github.io/attention-book/')
    >>> site_settings({"GITHUB_REPOSITORY": "kim/kim.github.io"})
    ('kim/kim.github.io', 'https://kim.github.io/')
    >>> site_settings({"ATTN_SITE_URL": "https://book.example.org"})
    (None, 'https://book.example.org/')
    >>> site_settings({})
    (None, None)
    """
    repository = environ.get("ATTN_REPOSITORY") or environ.get("GITHUB_REPOSITORY") or None
    if repository is not None and not _REPOSITORY.fullmatch(repository):
        msg = f"ATTN_REPOSITORY / GITHUB_REPOSITORY must look like 'owner/name', got {repository!r}"
        raise ValueError(msg)
    site_url = environ.get("ATTN_SITE_URL") or None
    if site_url is None and repository is not None:
        owner, name = repository.split("/")
        pages = f"https://{owner.lower()}.github.io/"
        site_url = pages if name.lower() == f"{owner.lower()}.github.io" else f"{pages}{name}/"
    if site_url is not None and not site_url.endswith("/"):
        site_url += "/"
    return repository, site_url


def edit_branch(environ: Mapping[str, str]) -> str:
    """The branch that a page's "edit this page" link opens its source on.

    A push builds its own branch (``GITHUB_REF_NAME``). A pull request's ``GITHUB_REF_NAME`` is
    ``N/merge``, a ref no one can edit: its pages edit the branch it will merge into
    (``GITHUB_BASE_REF``). A tag cannot be edited either, nor can a build with no branch: ``main``.

    >>> edit_branch({"GITHUB_REF_NAME": "draft", "GITHUB_REF_TYPE": "branch"})
    'draft'
    >>> edit_branch({"GITHUB_REF_NAME": "12/merge", "GITHUB_BASE_REF": "main", "GITHUB_HEAD_REF": "fix"})
    'main'
    >>> edit_branch({"GITHUB_REF_NAME": "v1.0", "GITHUB_REF_TYPE": "tag"})
    'main'
    >>> edit_branch({})
    'main'
    """
    if environ.get("GITHUB_BASE_REF"):
        return environ["GITHUB_BASE_REF"]
    if environ.get("GITHUB_REF_TYPE", "branch") == "branch" and environ.get("GITHUB_REF_NAME"):
        return environ["GITHUB_REF_NAME"]
    return "main"


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("book_repository", None, "html", types=(str, type(None)))
    app.add_config_value("book_site_url", None, "html", types=(str, type(None)))
    app.add_config_value("book_branch", "main", "html", types=(str,))
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
