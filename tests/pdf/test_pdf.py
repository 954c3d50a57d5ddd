"""The whole book as one PDF (docs/_tools/make_pdf.py, ``nox -s pdf``): what a reader of the PDF gets.

Every check reads what should be there from the sources (the chapters' ``# `` titles, their exercises
and answers in docs/*.md) or the built site, so an empty or partial PDF fails.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from pdf_helpers import DOCS, Chapter, chapter_sources, poppler, squash
from pypdf import PdfReader
from pypdf.generic import ArrayObject

# Measured: 153 A4 pages (the book of December 2026: front page, 8 chapters, glossary, references). Half
# to twice that leaves room for the book to grow or shrink and for another Chromium's line breaking, and
# still fails on a PDF of the front page alone or on a layout gone wrong (a page per code line, figures
# blown up to a page each, chapters lost).
MEASURED_PAGES = 153
PAGE_RANGE = (MEASURED_PAGES // 2, MEASURED_PAGES * 2)

ANSWERS_TITLE = "연습문제 풀이"

# Printed results of the exercise notebook the book was written from (the seed notebook's parts 2-4:
# multi-head, masked and cross attention). The site's cells print them with the same labels; each is
# checked in the built page's HTML first, then in the PDF.
SEED_OUTPUTS = [
    ("03-multi-head", "Multi-Head Self-Attention Matrix: [[[1. 1. 1.] [0. 0. 0.] [0. 0. 0.]] "
                      "[[0. 0. 0.] [1. 1. 1.] [0. 0. 0.]] [[0. 0. 0.] [0. 0. 0.] [1. 1. 1.]]]"),
    ("04-masked", "Masked Self-Attention Matrix: [[1. 0. 0.] [0. 1. 0.] [0. 0. 0.]]"),
    ("05-cross-attention", "Cross-Attention Matrix: [[1. 0.] [0. 1.]]"),
]


# --- fonts, text, math ------------------------------------------------------------------------------


def test_every_font_is_embedded(pdf_path: Path) -> None:
    rows = poppler("pdffonts", str(pdf_path)).splitlines()[2:]  # after the header and its rule
    assert rows, "pdffonts lists no font: the PDF has no text"
    # columns: name, type (may hold a space: "Type 3", "CID TrueType"), encoding, emb, sub, uni, object, gen
    not_embedded = [row for row in rows if row.split()[-5] != "yes"]
    assert not not_embedded, f"fonts not embedded: {not_embedded}"


def test_every_chapter_title_in_korean(text: str, chapters: list[Chapter]) -> None:
    missing = [c.label for c in chapters if c.label not in text]
    assert not missing, f"chapter titles not found in the PDF's text: {missing}"
    assert all(re.search("[가-힣]", c.title) for c in chapters)


@pytest.mark.parametrize(("page", "printed"), SEED_OUTPUTS, ids=[p for p, _ in SEED_OUTPUTS])
def test_seed_notebook_matrices(page: str, printed: str, site: Path, text: str) -> None:
    outputs = re.findall(r'<div class="cell_output[^"]*">(.*?)</div>\s*</div>\s*</div>',
                         (site / f"{page}.html").read_text("utf-8"), flags=re.S)
    shown = [squash(html.unescape(re.sub(r"<[^>]+>", "", o))) for o in outputs]
    assert any(printed in s for s in shown), f"{page}.html does not print {printed!r}"
    assert printed in text, f"the PDF does not print {printed!r} ({page})"


TEX_MARKS = ("$", "\\frac", "\\begin", "\\(", "\\[", "\\sum", "\\mathbf")


def source_code_lines() -> list[str]:
    """Every line of every code block of the pages (code cells, ``python`` blocks, ...), squashed."""
    lines = []
    for page in DOCS.glob("*.md"):
        fence = None
        for line in page.read_text("utf-8").splitlines():
            mark = re.match(r"\s*(`{3,}|~{3,})", line)
            if fence is None and mark and not line.strip().startswith(mark.group(1) + "{dropdown"):
                fence = mark.group(1)
            elif fence is not None and line.strip() == fence:
                fence = None
            elif fence is not None:
                lines.append(squash(line))
    return lines


def test_math_is_typeset(pages_text: list[str]) -> None:
    """No TeX left in the text, except in printed code (cells that build a table's TeX headers)."""
    code = source_code_lines()
    raw = [
        (number, line.strip())
        for number, page in enumerate(pages_text, 1)
        for line in page.splitlines()
        if any(mark in line for mark in TEX_MARKS) and not any(squash(line) in c for c in code)
    ]
    assert not raw, f"untypeset TeX in the PDF's text (page, line): {raw[:10]}"


def test_no_folded_toggles_or_site_controls(pages_text: list[str]) -> None:
    """The site's "코드 보기" toggles would print as nothing but their label; nor the search button.

    (The "정답" dropdowns are checked by test_every_chapter_ends_with_its_answers: a lone "정답" line
    also comes out of Korean comments in printed code, which pdftotext takes apart.)
    """
    lines = {line.strip() for page in pages_text for line in page.splitlines()}
    left = sorted(lines & {"코드 보기", "코드 숨기기", "코드 셀 보기", "출력 보기", "Ctrl+K", "검색"})
    assert not left, f"folded toggles or site controls printed: {left}"


def test_interactive_views_print_as_a_pointer_to_their_figure(text: str, site: Path) -> None:
    """A view of the site (attention-views.js) prints as one line that points to the static figure beside
    it (attention-views.css, ``@media print``): never its controls, its numbers or its no-script note."""
    views = sum(p.read_text("utf-8").count('<div class="attn-view"') for p in site.glob("*.html"))
    css = (site / "_static" / "attention-views.css").read_text("utf-8")
    note = re.search(r'\.attn-view::before\s*\{\s*content:\s*"([^"]+)"', css)
    assert views >= 4 and note, "the site has no views, or their print rule is gone"
    flat = re.sub(r"\s+", "", text)  # pdftotext breaks Korean lines anywhere
    assert flat.count(re.sub(r"\s+", "", note.group(1))) == views
    for control in ("eiga의점수에더하는값", "모두나란히", "인과+패딩마스크", "이보기는자바스크립트로그립니다"):
        assert control not in flat, f"a view's {control!r} is printed"


def test_every_figure_is_printed(pdf_path: Path, site: Path) -> None:
    printed = ["index", *(p.stem for p in chapter_sources()), "glossary", "references"]
    figures = set()
    for name in printed:
        page = (site / f"{name}.html").read_text("utf-8")
        article = page[page.find("<article"):page.find("</article>")]
        figures |= set(re.findall(r'<img[^>]*\ssrc="([^"]+)"', article))
    images = [row for row in poppler("pdfimages", "-list", str(pdf_path)).splitlines()[2:]
              if row.split()[2] == "image"]
    assert figures, "the site's pages have no figures"
    assert len(images) >= len(figures), f"{len(images)} images in the PDF, {len(figures)} figures on the site"


# --- pages, bookmarks, table of contents ---------------------------------------------------------------


def test_page_count(reader: PdfReader) -> None:
    assert PAGE_RANGE[0] <= len(reader.pages) <= PAGE_RANGE[1], (
        f"{len(reader.pages)} pages, expected {PAGE_RANGE} (measured {MEASURED_PAGES})")


def test_page_numbers_in_the_footer(pages_text: list[str]) -> None:
    total = len(pages_text)
    for number in (1, total // 2, total):
        assert re.search(rf"\b{number} / {total}\b", pages_text[number - 1]), f"page {number} has no number"


def test_outline_has_every_chapter(
    outline: list[tuple[str, int, int]], chapters: list[Chapter], front_title: str, appendix_titles: list[str]
) -> None:
    top = [(title, page) for title, depth, page in outline if depth == 0]
    titles = [t for t, _ in top]
    wanted = [front_title, *(c.label for c in chapters), *appendix_titles]
    assert [t for t in titles if t in wanted] == wanted, f"top-level bookmarks {titles}, expected {wanted}"
    pages = [p for t, p in top if t in wanted]
    assert pages == sorted(pages) and len(set(pages)) == len(pages), f"bookmarks out of order: {top}"
    # each chapter has its sections under it, its answers among them
    for chapter in chapters:
        start = next((i for i, (t, d, _) in enumerate(outline) if d == 0 and t == chapter.label), None)
        assert start is not None, f"no bookmark for {chapter.label}"
        below = []
        for title, depth, _ in outline[start + 1:]:
            if depth == 0:
                break
            below.append(title)
        assert len(below) >= 3 and ANSWERS_TITLE in below, f"{chapter.label}: bookmarks below it {below}"


def link_targets(reader: PdfReader, page_number: int) -> list[int | None]:
    """The 1-based target page of every link on a page; None for a link that leaves the document."""
    named = reader.named_destinations
    targets: list[int | None] = []
    for annot in reader.pages[page_number - 1].get("/Annots") or []:
        annot = annot.get_object()
        if annot.get("/Subtype") != "/Link":
            continue
        dest = annot.get("/Dest")
        if dest is None and "/A" in annot and annot["/A"].get("/S") == "/GoTo":
            dest = annot["/A"]["/D"]
        if dest is None:
            targets.append(None)
        elif isinstance(dest, ArrayObject):
            targets.append(reader.get_page_number(dest[0].get_object()) + 1)
        else:
            found = named.get(str(dest)) or named.get("/" + str(dest).lstrip("/"))
            targets.append(reader.get_destination_page_number(found) + 1 if found is not None else None)
    return targets


def test_table_of_contents_links_inside_the_pdf(
    reader: PdfReader, outline: list[tuple[str, int, int]], chapters: list[Chapter], pdf_path: Path
) -> None:
    top = {title: page for title, depth, page in outline if depth == 0}
    toc_first = top["차례"]
    toc_last = min(p for p in top.values() if p > toc_first) - 1
    targets = [t for page in range(toc_first, toc_last + 1) for t in link_targets(reader, page)]
    assert len(targets) >= len(chapters) + 3, f"only {len(targets)} links in the table of contents"
    outside = [t for t in targets if t is None or not 1 <= t <= len(reader.pages)]
    assert not outside, f"table of contents links that go nowhere in the PDF: {len(outside)}"
    toc = squash(poppler("pdftotext", "-layout", "-f", str(toc_first), "-l", str(toc_last), str(pdf_path), "-"))
    for chapter in chapters:
        page = top[chapter.label]
        assert page in targets, f"no table of contents link to {chapter.label} (page {page})"
        assert f"{chapter.label} {page} " in toc + " ", f"the table of contents gives {chapter.label} another page"


# --- exercises and answers -----------------------------------------------------------------------------


def answers_in_source(path: Path) -> dict[int, list[tuple[str, bool]]]:
    """Exercise number -> (a phrase, whether the page has it nowhere else) for each of its answers.

    The answers are read from the page's "연습 문제" section: a ``{dropdown} 정답`` block (a run of its
    plain Korean prose, or a line of its code) or a ``hide-cell`` code cell (a line of its code) after
    the exercise's "**N.**" / "**문제 N.**" paragraph.
    """
    full = path.read_text("utf-8")
    lines = full[full.index("\n## 연습 문제"):].splitlines()
    answers: dict[int, list[tuple[str, bool]]] = {}
    current, i = None, 0
    while i < len(lines):
        exercise = re.match(r"\*\*(?:문제 )?(\d+)\.\*\*", lines[i])
        fence = re.match(r"(`{3,})\{(dropdown|code-cell)\}", lines[i])
        if exercise:
            current = int(exercise.group(1))
        elif fence:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == fence.group(1))
            body = lines[i + 1:end]
            rest = squash(full.replace("\n".join(body), ""))
            hidden_cell = fence.group(2) == "code-cell" and any("hide-cell" in b for b in body[:3])
            if current is not None and (fence.group(2) == "dropdown" or hidden_cell):
                candidates = (prose_runs(body) if fence.group(2) == "dropdown" else []) + code_starts(body)
                assert candidates, f"{path.name}: nothing to look for in the answer {body[:2]}"
                unique = [c for c in candidates if c not in rest]
                answers.setdefault(current, []).append((unique[0], True) if unique else (candidates[0], False))
            i = end
        i += 1
    return answers


def code_starts(body: list[str]) -> list[str]:
    """The answer's code lines, each up to any Hangul (pdftotext takes Korean in code apart)."""
    starts = []
    for line in body:
        if line.strip() and not line.startswith((":", "#", "```")):
            start = squash(re.match(r"[\x20-\x7e]*", line.split("#")[0]).group())[:30]
            if len(start) >= 10:
                starts.append(start)
    return starts


def prose_runs(body: list[str]) -> list[str]:
    """Runs of plain Korean prose of at least 8 characters (whole words, no math, code, roles, markup)."""
    prose, in_code = [], False
    for line in body:
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code:
            prose.append(line)
    s = " ".join(prose)
    s = re.sub(r"\{[\w:-]+\}`[^`]*`|`[^`]*`|\$\$?[^$]*\$\$?", "¤", s).replace("**", "")
    runs = []
    # whole words only: a word glued to a formula or to code ("$W_O$의") is laid out with it
    for m in re.finditer(r"(?:^|(?<=\s))[가-힣][가-힣 ,]*", s):
        run = m.group()
        if m.end() < len(s) and not s[m.end()].isspace():
            run = run.rsplit(" ", 1)[0] if " " in run.strip() else ""
        run = squash(run)
        if len(run) > 30:
            run = run[:31].rsplit(" ", 1)[0]
        if len(run) >= 8:
            runs.append(run)
    return runs


@pytest.fixture(scope="session")
def chapter_text(
    pages_text: list[str], outline: list[tuple[str, int, int]], chapters: list[Chapter]
) -> dict[str, str]:
    """Each chapter's text, from its first page to the page before the next top-level bookmark."""
    top = [(title, page) for title, depth, page in outline if depth == 0]
    out = {}
    for chapter in chapters:
        i = next((k for k, (t, _) in enumerate(top) if t == chapter.label), None)
        assert i is not None, f"no bookmark for {chapter.label}"
        end = top[i + 1][1] - 1 if i + 1 < len(top) else len(pages_text)
        out[chapter.name] = squash(" ".join(pages_text[top[i][1] - 1:end]))
    return out


def test_every_chapter_ends_with_its_answers(chapters: list[Chapter], chapter_text: dict[str, str]) -> None:
    for chapter in chapters:
        answers = answers_in_source(DOCS / f"{chapter.name}.md")
        assert answers, f"{chapter.name}.md: no answered exercise found in the source"
        text = chapter_text[chapter.name]
        assert ANSWERS_TITLE in text, f"{chapter.label}: no '{ANSWERS_TITLE}' section"
        before, solutions = text.rsplit(ANSWERS_TITLE, 1)
        # the answers in the exercises' order, each under its label "문제 N"
        starts = []
        for number in sorted(answers):
            at = solutions.find(f"문제 {number} ", starts[-1] if starts else 0)
            assert at >= 0, f"{chapter.label}: no answer labelled 문제 {number} in {ANSWERS_TITLE}"
            starts.append(at)
        ends = [*starts[1:], len(solutions)]
        for number, start, end in zip(sorted(answers), starts, ends, strict=True):
            for phrase, unique in answers[number]:
                assert phrase in solutions[start:end], f"{chapter.label}, 문제 {number}: {phrase!r} not in its answer"
                if unique:
                    assert phrase not in before, f"{chapter.label}, 문제 {number}: answer {phrase!r} left in place"


# --- the site links to the PDF ---------------------------------------------------------------------------


def site_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_"))


def test_every_page_offers_the_pdf(site: Path, pdf_path: Path) -> None:
    pages = site_pages(site)
    assert len(pages) >= 12
    for page in pages:
        source = page.read_text("utf-8")
        links = re.findall(r'<a href="([^"]+)"[^>]*btn-download-book-pdf-button[^>]*>(.*?)</a>', source, flags=re.S)
        assert links, f"{page.relative_to(site)}: no 책 전체 PDF entry in the download menu"
        href, inner = links[0]
        assert "책 전체 PDF" in inner
        if page.name == "404.html" and href.startswith("/"):
            # sphinx-notfound-page (site address known) writes the 404 page's links from the site's root:
            # that page answers for any missing path
            assert href.endswith("/" + pdf_path.name), f"404.html: {href} is not the PDF"
            continue
        assert not re.match(r"[a-z]+:|/", href), f"{page.relative_to(site)}: {href} is not a relative URL"
        assert (page.parent / href).resolve() == pdf_path, f"{page.relative_to(site)}: {href} is not the PDF"
