"""Links back to the project and the site's metadata, on the real book (``docs/``) built twice.

Both builds run ``sphinx-build -nW`` on the real ``docs/`` into a temporary folder, at the same time, with
a copy of the execution cache that ``nox -s docs`` left (``docs/_build/.jupyter_cache/<fingerprint>``), so
no cell runs again (about 30 s of CPU a build):

- "published": ``GITHUB_REPOSITORY=kim/attention-book`` (a GitHub Actions build), branch ``draft``:
  repository, issue and edit buttons; sitemap.xml and robots.txt; Open Graph with a drawn card; a 404
  page whose links work from any missing path under ``/attention-book/``;
- "local": no repository, no address: no buttons, no sitemap, Open Graph only where it is valid, a 404
  page with relative links; and no warning.

The unit tests at the end (``site_settings``, the description reader, the toctree filter) build nothing.
"""

from __future__ import annotations

import doctest
import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import book_site  # noqa: E402  (docs/_ext)
import site_metadata  # noqa: E402
from book_site import site_settings  # noqa: E402

SITE = "https://kim.github.io/attention-book/"
GITHUB = "https://github.com/kim/attention-book"
PREFIX = "/attention-book/"
BRANCH = "draft"
CHAPTER = "02-self-attention"  # its first paragraph has a term link followed by a particle
SITE_ENV = ("ATTN_REPOSITORY", "ATTN_SITE_URL", "GITHUB_REPOSITORY", "GITHUB_REF_NAME", "GITHUB_REF_TYPE", "GITHUB_BASE_REF")

# every page of the book: its documents (docs/**/*.md outside _build and the _folders), but the 404 page
DOCUMENTS = sorted(
    p.relative_to(DOCS).with_suffix("").as_posix()
    for p in DOCS.rglob("*.md")
    if not any(part.startswith("_") for part in p.relative_to(DOCS).parts)
)
PAGES = [d for d in DOCUMENTS if d != "404"]


# --- building ----------------------------------------------------------------------------------------
def current_cache() -> Path:
    """The execution cache of the current package and library versions, as docs/conf.py names it."""
    ns = {"__file__": str(DOCS / "conf.py"), "__name__": "conf"}
    environ = {k: os.environ.pop(k) for k in ("ATTN_NB_CACHE", *SITE_ENV) if k in os.environ}
    try:
        exec(compile((DOCS / "conf.py").read_text(encoding="utf-8"), str(DOCS / "conf.py"), "exec"), ns)
    finally:
        os.environ.update(environ)
    return Path(ns["nb_execution_cache_path"])


@dataclass
class Build:
    html: Path
    log: str

    def page(self, name: str) -> str:
        return (self.html / name).read_text(encoding="utf-8")


@dataclass
class Cache:
    root: Path  # what ATTN_NB_CACHE points at
    exact: bool  # the cache of these very sources and versions (else an older one: some pages may run)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Cache:
    """A copy of the execution cache, under the name docs/conf.py will look for.

    The cache of the current package and versions if ``nox -s docs`` made it; else the newest one there
    is (the package changed since, or this venv has other versions): the pages whose code cells are
    unchanged still come from it, and these tests look at the site's links and metadata, not at outputs.
    """
    current = current_cache()
    if (current / "global.db").is_file():
        source = current
    else:
        caches = sorted(current.parent.glob("*/global.db"), key=lambda p: p.stat().st_mtime)
        if not caches:
            pytest.fail(f"no execution cache in {current.parent}: run `nox -s docs` first (these tests build "
                        "the real book from its cache)")
        source = caches[-1].parent
    root = tmp_path_factory.mktemp("nb-cache")
    shutil.copytree(source, root / current.name)
    return Cache(root, exact=source == current)


BUILDS = {
    "published": {"GITHUB_REPOSITORY": "kim/attention-book", "GITHUB_REF_NAME": BRANCH},
    "local": {},
}


def sphinx_traceback(stderr: str) -> str:
    """The full traceback Sphinx saved for an unexpected error (it prints only where it put it)."""
    found = re.search(r"(/\S+sphinx-err-\w+\.log)", stderr)
    if not found or not Path(found.group(1)).is_file():
        return ""
    return Path(found.group(1)).read_text(encoding="utf-8", errors="replace")[-6000:]


@pytest.fixture(scope="module")
def builds(tmp_path_factory, cache) -> dict[str, Build]:
    """Both builds, run at the same time (two processes; each uses one core)."""
    runs = {}
    for name, env in BUILDS.items():
        out = tmp_path_factory.mktemp(name)
        environ = {k: v for k, v in os.environ.items() if k not in SITE_ENV}
        environ |= {"ATTN_NB_CACHE": str(cache.root), **env}
        cmd = [sys.executable, "-m", "sphinx", "-n", "-W", "--keep-going", "-b", "html", str(DOCS), str(out / "html")]
        with (out / "stdout").open("w") as stdout, (out / "stderr").open("w") as stderr:
            runs[name] = (out, subprocess.Popen(cmd, env=environ, stdout=stdout, stderr=stderr, cwd=REPO))
    returncodes = {name: run.wait(timeout=600) for name, (_, run) in runs.items()}  # both, before any assert
    done = {}
    for name, (out, _) in runs.items():
        stdout, stderr = ((out / f).read_text(encoding="utf-8") for f in ("stdout", "stderr"))
        # the error first, then the tail of the log: a CI report keeps only part of a long message
        assert returncodes[name] == 0, f"{name}: sphinx-build failed:\n{stderr}\n{sphinx_traceback(stderr)}\n{stdout[-3000:]}"
        # the pages' outputs came from the cache; with the exact cache nothing ran again (that takes minutes)
        assert "Using cached notebook" in stdout, stdout
        assert not cache.exact or "Executed notebook" not in stdout, stdout
        done[name] = Build(out / "html", stderr)
    return done


@pytest.fixture(scope="module")
def published(builds) -> Build:
    return builds["published"]


@pytest.fixture(scope="module")
def local(builds) -> Build:
    return builds["local"]


# --- reading the HTML --------------------------------------------------------------------------------
class Page(HTMLParser):
    """The tags of a page: links with their text, meta tags, asset URLs, the article's paragraphs."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.links: list[dict] = []  # <a>: attributes + "text"
        self.meta: dict[str, str] = {}  # property or name -> content
        self.assets: list[str] = []  # <link href>, <script src>, <img src>
        self.canonical: str | None = None
        self.lang = ""
        self.title = ""
        self._a: dict | None = None
        self._in_title = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang", "")
        elif tag == "a":
            self._a = {**a, "text": ""}
            self.links.append(self._a)
        elif tag == "meta" and "content" in a:
            self.meta[a.get("property") or a.get("name") or ""] = a["content"]
        elif tag == "link" and a.get("rel") == "canonical":
            self.canonical = a["href"]
        elif (tag == "link" and "href" in a) or (tag in ("script", "img") and "src" in a):
            self.assets.append(a.get("href") or a["src"])
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "a":
            self._a = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._a is not None:
            self._a["text"] += data
        if self._in_title:
            self.title += data

    def button(self, label: str) -> dict | None:
        """sphinx-book-theme's header button ``btn-<label>``."""
        return next((a for a in self.links if f"btn-{label}" in a.get("class", "").split()), None)


def article_text(page: str) -> str:
    """The page's article as plain text, whitespace collapsed."""
    article = re.search(r"<article\b.*?</article>", page, flags=re.S).group(0)
    article = re.sub(r"<(script|style)\b.*?</\1>", " ", article, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", article)).split())


def first_heading(doc: str) -> str:
    return next(line[2:].strip() for line in (DOCS / f"{doc}.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("# "))


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def searchable(build: Build) -> set[str]:
    """Documents that have a title or words in the search index."""
    text = (build.html / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1 : text.rindex(")")])
    found = set()
    for i, name in enumerate(index["docnames"]):
        hits = [v for v in index["terms"].values() if v == i or (isinstance(v, list) and i in v)]
        if index["titles"][i] or hits:
            found.add(name)
    return found


# --- published: GITHUB_REPOSITORY=kim/attention-book ------------------------------------------------
def test_chapter_has_repository_issue_and_edit_buttons_in_korean(published):
    page = Page(published.page("01-attention.html"))
    repository = page.button("source-repository-button")
    edit = page.button("source-edit-button")
    issue = page.button("source-issues-button")
    assert repository and edit and issue, "repository buttons missing"
    assert repository["href"] == GITHUB
    assert edit["href"] == f"{GITHUB}/edit/{BRANCH}/docs/01-attention.md"
    assert issue["href"].startswith(f"{GITHUB}/issues/new?")
    query = parse_qs(urlsplit(issue["href"]).query)
    assert query["title"] == ["[01-attention] 어텐션이란"]
    assert f"{SITE}01-attention.html" in query["body"][0]
    # the theme's strings in Korean (docs/locale/ko/LC_MESSAGES/booktheme.po): texts and tooltips
    assert [" ".join(b["text"].split()) for b in (repository, edit, issue)] == ["저장소", "이 페이지 고치기", "이슈 열기"]
    assert [b["title"] for b in (repository, edit, issue)] == ["소스 저장소", "이 페이지 고치기", "이슈 열기"]
    text = published.page("01-attention.html")
    assert 'aria-label="소스 저장소"' in text
    english = [s for s in ("Suggest edit", "Open issue", "Open an issue", "Source repositor", "Your issue content")
               if s in text]
    assert not english, english


def test_every_page_edits_its_own_source(published):
    for doc in PAGES:
        edit = Page(published.page(f"{doc}.html")).button("source-edit-button")
        assert edit and edit["href"] == f"{GITHUB}/edit/{BRANCH}/docs/{doc}.md", doc


def test_sitemap_lists_every_page_under_the_site(published):
    root = ET.parse(published.html / "sitemap.xml").getroot()
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [e.text for e in root.findall("s:url/s:loc", ns)]
    assert sorted(locs) == sorted(f"{SITE}{doc}.html" for doc in PAGES)  # no 404, search or index pages
    assert len(locs) == len(set(locs))
    assert not root.findall(".//{http://www.w3.org/1999/xhtml}link"), "hreflang alternates in a one-language site"
    for loc in locs:
        assert (published.html / loc.removeprefix(SITE)).is_file(), loc
    robots = (published.html / "robots.txt").read_text(encoding="utf-8")
    assert f"Sitemap: {SITE}sitemap.xml" in robots.splitlines()


def test_chapter_has_open_graph_and_a_korean_card(published):
    text = published.page(f"{CHAPTER}.html")
    page = Page(text)
    meta = page.meta
    assert meta["og:title"] == first_heading(CHAPTER) == "셀프 어텐션"
    assert meta["og:url"] == page.canonical == f"{SITE}{CHAPTER}.html"
    assert meta["og:site_name"] == "어텐션 메커니즘 교과서"
    assert meta["og:locale"] == "ko_KR"
    assert meta["og:type"] == "website"
    assert meta["twitter:card"] == "summary_large_image"
    # the description is the page's text as shown: particles stay on their word ("앞 장의", not "앞 장 의")
    description = meta["og:description"]
    assert meta["description"] == description
    assert 80 <= len(description) <= 200, description
    assert description.removesuffix("...") in article_text(text), description
    assert description.startswith("앞 장의 번역 예에서"), description
    # the card: drawn at build, served by the site, the size the tags give
    image = meta["og:image"]
    assert image.startswith(f"{SITE}_images/social_previews/") and image.endswith(".png"), image
    card = published.html / image.removeprefix(SITE)
    assert card.is_file(), card
    assert png_size(card) == (int(meta["og:image:width"]), int(meta["og:image:height"]))
    # drawn in NanumGothic: matplotlib reports every character it draws as a box
    assert "missing from font" not in published.log, published.log
    assert "findfont" not in published.log, published.log


def test_every_page_has_a_card(published):
    for doc in PAGES:
        image = Page(published.page(f"{doc}.html")).meta.get("og:image", "")
        assert (published.html / image.removeprefix(SITE)).is_file(), f"{doc}: {image!r}"


def test_not_found_page_works_from_any_path(published):
    page = Page(published.page("404.html"))
    assert page.lang == "ko"
    assert "페이지를 찾을 수 없습니다" in page.title
    assert page.meta.get("robots") == "noindex"
    # GitHub Pages serves it for /attention-book/a/b/c: every local URL is absolute under the site's path
    local_urls = [u for u in page.assets + [a["href"] for a in page.links if "href" in a]
                  if not urlsplit(u).scheme and not u.startswith("#")]
    assert local_urls, "no links on the 404 page"
    relative = [u for u in local_urls if not u.startswith(PREFIX)]
    assert not relative, f"links that break on a deeper path: {relative[:5]}"
    assert any(u.startswith(f"{PREFIX}_static/") and ".css" in u for u in page.assets)
    # its own text links to the front page and to every chapter
    body = {a["href"] for a in page.links if "reference" in a.get("class", "")}
    chapters = [d for d in PAGES if d[:2].isdigit()]
    assert {f"{PREFIX}index.html", *(f"{PREFIX}{d}.html" for d in chapters)} <= body, body


@pytest.mark.parametrize("which", ["published", "local"])
def test_not_found_page_stays_out_of_the_book(request, which):
    built = request.getfixturevalue(which)
    for doc in PAGES:  # the front page's chapter glob [0-9]* matches "404": not in any table of contents
        assert "404.html" not in built.page(f"{doc}.html"), f"{doc} links to the 404 page"
    assert "404" not in searchable(built)


# --- local: no repository, no address ----------------------------------------------------------------
def test_local_build_has_no_repository_links_and_no_warnings(local):
    assert "WARNING" not in local.log, local.log
    assert "missing from font" not in local.log, local.log
    for doc in PAGES:
        page = Page(local.page(f"{doc}.html"))
        for label in ("source-repository-button", "source-edit-button", "source-issues-button"):
            assert page.button(label) is None, f"{doc}: {label} without a repository"
    assert not (local.html / "sitemap.xml").exists()
    assert not (local.html / "robots.txt").exists()


def test_local_build_keeps_only_valid_open_graph(local):
    page = Page(local.page(f"{CHAPTER}.html"))
    meta = page.meta
    assert meta["og:title"] == "셀프 어텐션"
    assert meta["og:description"].startswith("앞 장의 번역 예에서")
    assert meta["og:locale"] == "ko_KR"
    assert meta["twitter:card"] == "summary"  # no picture to show large
    # Open Graph URLs must be absolute: without the site's address there is none to give
    assert "og:url" not in meta and "og:image" not in meta, meta
    assert page.canonical is None
    assert not (local.html / "_images" / "social_previews").exists()


def test_local_not_found_page_has_relative_links(local):
    page = Page(local.page("404.html"))
    assert page.lang == "ko" and "페이지를 찾을 수 없습니다" in page.title
    css = [u for u in page.assets if ".css" in u]
    assert css and all(u.startswith("_static/") for u in css), css
    body = {a["href"] for a in page.links if "reference" in a.get("class", "")}
    assert {"index.html", "01-attention.html", "08-cost.html"} <= body, body


# --- units: site_settings, the description, the toctree filter ---------------------------------------
@pytest.mark.parametrize("module", [book_site, site_metadata])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("variable", ["ATTN_REPOSITORY", "GITHUB_REPOSITORY"])
@pytest.mark.parametrize(
    "value", ["kim", "kim/attention/book", "https://github.com/kim/attention-book", "kim/ book", "/book", "-kim/book"]
)
def test_site_settings_rejects_a_repository_that_is_not_owner_name(variable, value):
    with pytest.raises(ValueError, match="owner/name"):
        site_settings({variable: value})


def test_site_settings_precedence_and_normalisation():
    # ATTN_* (set by hand) win over what GitHub Actions sets
    both = {"GITHUB_REPOSITORY": "ci/fork", "ATTN_REPOSITORY": "kim/attention-book"}
    assert site_settings(both) == ("kim/attention-book", SITE)
    assert site_settings({"GITHUB_REPOSITORY": "kim/book", "ATTN_SITE_URL": "https://book.example.org"}) == (
        "kim/book", "https://book.example.org/")
    # GitHub Pages' host name is the owner in lower case
    assert site_settings({"GITHUB_REPOSITORY": "Kim/Attention-Book"})[1] == "https://kim.github.io/Attention-Book/"
    assert site_settings({"GITHUB_REPOSITORY": "", "ATTN_SITE_URL": ""}) == (None, None)


def test_description_keeps_particles_on_their_words():
    from docutils import nodes

    doc = nodes.document(None, None)
    paragraph = nodes.paragraph("", "", nodes.reference("", "셀프 어텐션", refuri="glossary.html"),
                                nodes.Text("에서 각 단어는 "), nodes.literal("", "softmax"), nodes.Text("로 <가중치>를 만듭니다."))
    doc += [nodes.title("", "제목"), nodes.note("", nodes.paragraph("", "참고: 건너뜀")), paragraph,
            nodes.literal_block("", "print('코드')"), nodes.paragraph("", "둘째 문단입니다.")]
    text = html.unescape(site_metadata.page_description(doc, 200))
    assert text == "셀프 어텐션에서 각 단어는 softmax로 <가중치>를 만듭니다. 둘째 문단입니다."
    assert "&lt;가중치&gt;" in site_metadata.page_description(doc, 200)  # escaped for the meta tag
    short = site_metadata.page_description(doc, 20)
    assert len(short) <= 20 and short.endswith("...") and short == "셀프 어텐션에서 각 단어는..."


def test_toctree_filter_drops_only_the_not_found_page():
    from docutils import nodes
    from sphinx import addnodes

    doc = nodes.document(None, None)
    toctree = addnodes.toctree(includefiles=["01-attention", "404", "02-self-attention"],
                               entries=[(None, "01-attention"), (None, "404"), (None, "02-self-attention")])
    doc += toctree
    site_metadata.keep_not_found_out_of_toctrees(None, doc)
    assert toctree["includefiles"] == ["01-attention", "02-self-attention"]
    assert toctree["entries"] == [(None, "01-attention"), (None, "02-self-attention")]


# --- the notebooks: Colab links and the install cell (docs/_ext/notebook_download.py) ---------------------
COLAB = "https://colab.research.google.com/github/kim/attention-book/blob/notebooks/"
NOTEBOOK_PAGES = [d for d in PAGES if re.fullmatch(r"\d\d-.+", d)] + ["index"]


def install_cell(build: Build, doc: str) -> str:
    nb = json.loads((build.html / "_sources" / f"{doc}.ipynb").read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "install" in cells[0]["metadata"].get("tags", []), f"{doc}: the first code cell does not install"
    return "".join(cells[0]["source"])


def test_every_notebook_page_opens_its_own_notebook_in_colab(published):
    workflow = (REPO / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8")
    # the Pages workflow publishes the built notebooks, as they are, at the root of the notebooks branch
    assert "cp docs/_build/html/_sources/*.ipynb" in workflow and "git init -q -b notebooks" in workflow
    for doc in NOTEBOOK_PAGES:
        colab = Page(published.page(f"{doc}.html")).button("colab-button")
        assert colab is not None, f"{doc}: no Colab link"
        assert colab["href"].startswith(COLAB), colab["href"]
        name = colab["href"].removeprefix(COLAB)
        assert (published.html / "_sources" / name).is_file(), f"{doc}: Colab would open {name}, not built"
        assert name == f"{doc}.ipynb"


def test_published_notebooks_install_the_published_wheel(published, local):
    wheels = sorted(p.name for p in (published.html / "wheels").glob("*.whl"))
    assert len(wheels) == 1, wheels
    for doc in NOTEBOOK_PAGES:
        assert f"'{SITE}'" in install_cell(published, doc) and f"wheels/{wheels[0]}" in install_cell(published, doc)
        # a local build's notebooks install the wheel of that build's own folder
        assert f"'{local.html.resolve().as_uri()}/'" in install_cell(local, doc)
    assert (local.html / "wheels" / wheels[0]).is_file()


def test_local_build_has_no_colab_links(local):
    for doc in NOTEBOOK_PAGES:
        assert Page(local.page(f"{doc}.html")).button("colab-button") is None, doc
