"""Fixtures for the real-browser checks of the built site (run by ``nox -s browser``).

The site (``docs/_build/html``, or ``$ATTN_SITE``) is served on loopback under a sub-path, as GitHub Pages
serves a project site, and read by Debian's Chromium through Playwright. Every request the page makes is
recorded; any request to another host is answered with an error instead of going out.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("ATTN_SITE", ROOT / "docs" / "_build" / "html")).resolve()
SCREENSHOTS = Path(os.environ.get("ATTN_SCREENSHOTS", SITE.parent / "screenshots")).resolve()
CHROMIUM = os.environ.get("ATTN_CHROMIUM", "/usr/bin/chromium")
# the site is served from a sub-path, as on GitHub Pages: the configured site's path (docs/_ext/book_site.py,
# so that a 404 page built for https://OWNER.github.io/REPO/ is served where its links point), else one of ours
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from book_site import site_settings  # noqa: E402

sys.path.insert(0, str(ROOT / "docs" / "_tools"))
from site_server import serve  # noqa: E402

PREFIX = urlsplit(site_settings(os.environ)[1] or "http://x/attention-book/").path



def site_pages() -> list[str]:
    """Every HTML page of the built site (relative paths; not the theme's templates under _static/)."""
    pages = (p.relative_to(SITE) for p in SITE.rglob("*.html"))
    return sorted(p.as_posix() for p in pages if not p.parts[0].startswith("_"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that take ``html_page`` run once for every page of the site, ``chapter_page`` per chapter."""
    if "html_page" in metafunc.fixturenames:
        metafunc.parametrize("html_page", site_pages())
    if "chapter_page" in metafunc.fixturenames:  # the chapters: docs/NN-name.md
        metafunc.parametrize("chapter_page", [p for p in site_pages() if re.fullmatch(r"\d\d-[^/]+\.html", p)])


@pytest.fixture(scope="session")
def site() -> Path:
    return SITE


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def pytest_configure(config: pytest.Config) -> None:
    if not (SITE / "index.html").is_file():
        msg = f"no built site at {SITE}: run `nox -s docs` first"
        raise pytest.UsageError(msg)
    if not Path(CHROMIUM).is_file():
        msg = f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium fonts-noto-cjk`"
        raise pytest.UsageError(msg)


@pytest.fixture(scope="session")
def base_url() -> str:
    server, base = serve(SITE, PREFIX)
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser() -> Browser:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@dataclass
class Visit:
    """What one page did: its requests, failures and console errors."""

    page: Page
    origin: str
    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"request to another host: {u}" for u in self.external]
            + [f"failed request: {u}" for u in self.failed]
            + [f"console error: {e}" for e in self.errors]
        )


@pytest.fixture
def visit(browser: Browser, base_url: str):
    """``visit(path, width=1280, dark=False)`` opens a page of the site and returns a ``Visit``."""
    contexts = []
    origin = f"{urlsplit(base_url).scheme}://{urlsplit(base_url).netloc}"

    def open_page(path: str, *, width: int = 1280, height: int = 900, dark: bool = False) -> Visit:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme="dark" if dark else "light",
            locale="ko-KR",
            service_workers="block",
        )
        contexts.append(context)
        mode = "dark" if dark else "light"
        # the theme reads the reader's choice from localStorage before it looks at the system setting
        context.add_init_script(f"for (const k of ['mode', 'theme']) localStorage.setItem(k, '{mode}')")
        page = context.new_page()
        v = Visit(page, origin)

        def route(r):
            url = r.request.url
            v.requests.append(url)
            if url.startswith(("data:", "blob:", "about:")) or url.startswith(origin + "/"):
                r.continue_()
            else:
                v.external.append(url)
                r.abort()

        context.route("**/*", route)
        page.on("console", lambda m: v.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: v.errors.append(str(e)))
        page.on(
            "response",
            lambda r: v.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.on(
            "requestfailed",
            lambda r: v.failed.append(f"{r.failure} {r.url}") if r.url.startswith(origin) else None,
        )
        page.goto(base_url + path, wait_until="load")
        page.evaluate(WAIT_FOR_MATH)
        return v

    yield open_page
    for context in contexts:
        context.close()


# Resolve once MathJax (if the page loads it) has typeset everything.
WAIT_FOR_MATH = """async () => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
  }
  await document.fonts.ready;
}"""


@pytest.fixture(scope="session")
def reused_tab(browser: Browser, base_url: str):
    """``reused_tab(path, width=1280, height=900, dark=False)``: the page opened in a tab kept for the session.

    One context (screen size, colour mode) and one tab per distinct setting, reused from page to page:
    for checks that visit every page several times (tests/browser/test_axe.py) and would spend most of
    their time making contexts. Offline like ``visit`` (a request to another host is aborted), but
    nothing is recorded: ``visit`` is the fixture that checks requests and console errors.
    """
    origin = f"{urlsplit(base_url).scheme}://{urlsplit(base_url).netloc}"
    tabs: dict[tuple[int, int, bool], Page] = {}

    def route(r):
        url = r.request.url
        if url.startswith(("data:", "blob:", "about:")) or url.startswith(origin + "/"):
            r.continue_()
        else:
            r.abort()

    def open_page(path: str, *, width: int = 1280, height: int = 900, dark: bool = False) -> Page:
        key = (width, height, dark)
        if key not in tabs:
            mode = "dark" if dark else "light"
            context = browser.new_context(
                viewport={"width": width, "height": height},
                color_scheme=mode,
                locale="ko-KR",
                service_workers="block",
            )
            context.add_init_script(f"for (const k of ['mode', 'theme']) localStorage.setItem(k, '{mode}')")
            context.route("**/*", route)
            tabs[key] = context.new_page()
        page = tabs[key]
        page.goto(base_url + path, wait_until="load")
        page.evaluate(WAIT_FOR_MATH)
        return page

    yield open_page
    for page in tabs.values():
        page.context.close()
