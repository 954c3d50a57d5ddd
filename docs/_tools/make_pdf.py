"""Print the whole book into one PDF with headless Chromium (``nox -s pdf``).

Input: a ``singlehtml`` build of the book (every page in one HTML file, built from the same execution
cache as the site, so no cell runs again). It is served on loopback and opened in Debian's Chromium
through Playwright; any request to another host is refused and fails the run. Once every formula is
typeset (MathJax's startup promise, when the page runs MathJax; formulas drawn at build need nothing)
and every image has loaded, the script reshapes the page for print (``PREPARE`` below; the print
styles are docs/_static/print.css, linked by docs/_ext/book_pdf.py in singlehtml builds only):

- the pages become top-level sections in the toctree's order (``singlehtml`` nests them inside the front
  page's last section, so a chapter would be an ``<h3>``), headings re-levelled (a page's title ``<h1>``),
  the chapters numbered ("1장"); the API reference is left out (the issue names the front page, the
  chapters, the glossary and the references), links into it become plain text;
- ids made unique (every page has its own ``id1``, ``정리``, ``연습-문제``...) and every internal link
  resolved the way the site resolves it, so the PDF's links and bookmarks go to the right place;
- the exercise answers (``{dropdown} 정답`` blocks and the ``hide-cell`` code cells under a numbered
  exercise) move to a "연습문제 풀이" section at the end of their chapter, each under its exercise's
  number, and the exercise gets a link to its answer (and the answer one back);
- the code cells the site folds behind "코드 보기" (``hide-input``: the code that draws a figure or
  builds a table) print their output only, a ``hide-cell`` cell outside the exercises its output only;
- a cover and a table of contents (chapters and their sections, with page numbers) come first.

Then it shrinks what is too wide for the page (code, outputs, tables, display math, down to 70 %) and
prints with ``page.pdf(outline=True, tagged=True)``: bookmarks from the headings, tagged text, page
numbers in the footer. The table of contents' page numbers come from a first print (the named
destinations Chromium writes for the links, read with pypdf); the second print is the result.

Usage: ``python docs/_tools/make_pdf.py SINGLEHTML_DIR OUT.pdf``
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright
from pypdf import PdfReader
from site_server import serve  # docs/_tools: this script's folder

CHROMIUM = os.environ.get("ATTN_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
MARGIN_MM = {"top": 16, "right": 16, "bottom": 18, "left": 16}
A4_MM = (210, 297)
PX_PER_MM = 96 / 25.4
# the layout width of the printed page's text, in CSS pixels: the viewport the reshaping measures in
TEXT_WIDTH_PX = round((A4_MM[0] - MARGIN_MM["left"] - MARGIN_MM["right"]) * PX_PER_MM)
TEXT_HEIGHT_PX = round((A4_MM[1] - MARGIN_MM["top"] - MARGIN_MM["bottom"]) * PX_PER_MM)

OPTIONS = {
    "drop": ["api", "api-training", "api-book"],  # pages of the toctree the printed book leaves out (the API reference)
    "tocTitle": "차례",
    "exercisesTitle": "연습 문제",  # the chapters' exercise section
    "answersTitle": "연습문제 풀이",  # the section the answers move to
    "exerciseLabel": "문제 {n}",
    "answerRef": "풀이: 이 장 끝 「연습문제 풀이」의 문제 {n}",
    "chapterLabel": "{n}장",
}

FOOTER = """<div style="width:100%; margin:0 {left}mm 0 {right}mm; display:flex; justify-content:space-between;
 font-size:7.5pt; color:#666; font-family:'Noto Sans CJK KR','Noto Sans',sans-serif;">
<span>{title}</span><span><span class="pageNumber"></span> / <span class="totalPages"></span></span></div>"""

# Resolve once MathJax (if the page loads it) has typeset everything, the fonts and the images are in.
WAIT_FOR_PAGE = """async () => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
  }
  for (const img of document.images) img.loading = 'eager';
  await Promise.all([...document.images].map(img => img.complete ? null
    : new Promise(resolve => { img.addEventListener('load', resolve); img.addEventListener('error', resolve); })));
  await document.fonts.ready;
  // a formula is typeset once it holds MathJax's output (or an SVG/image made at build time)
  const pending = [...document.querySelectorAll('span.math, div.math')]
    .filter(e => !e.querySelector('mjx-container, svg, img')).length;
  const broken = [...document.images].filter(img => !img.naturalWidth).map(img => img.src);
  return {pending, broken, formulas: document.querySelectorAll('span.math, div.math').length};
}"""

PREPARE = r"""(opts) => {
  const problems = [];
  const article = document.querySelector('article.bd-article');
  if (!article) return {problems: ['no article.bd-article in the page']};
  document.documentElement.dataset.theme = 'light';
  document.documentElement.dataset.mode = 'light';
  const fmt = (s, n) => s.replace('{n}', n);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const unwrap = (e) => e.replaceWith(...e.childNodes);

  // --- the pages, in the toctree's order: singlehtml puts <span id="document-NAME"> before each ---
  const front = article.querySelector(':scope > section');
  if (!front) return {problems: ['no front page section']};
  front.dataset.doc = 'index';
  front.classList.add('book-front');
  const docs = [{name: 'index', section: front}];
  for (const span of [...article.querySelectorAll('span[id^="document-"]')]) {
    const name = span.id.slice('document-'.length);
    const section = span.nextElementSibling;
    if (!section || section.tagName !== 'SECTION') { problems.push(`no section after ${span.id}`); continue; }
    const after = section.nextElementSibling;
    if (after && !(after.tagName === 'SPAN' && after.id.startsWith('document-'))) {
      problems.push(`${name}: more than one top-level section`);
    }
    span.remove();
    if (opts.drop.includes(name)) { section.remove(); continue; }
    section.dataset.doc = name;
    section.classList.add('book-doc');
    docs.push({name, section});
  }
  for (const {section} of docs.slice(1)) article.append(section);
  for (const wrapper of [...article.querySelectorAll('.toctree-wrapper')]) {
    if (wrapper.querySelector('*')) problems.push('a toctree wrapper still holds content');
    wrapper.remove();
  }
  const docOf = (e) => e.closest('[data-doc]')?.dataset.doc ?? '';
  const sectionOf = new Map(docs.map(d => [d.name, d.section]));

  // --- ids unique, internal links resolved as on the site (a page's own ids first) -------------
  for (const a of [...article.querySelectorAll('a.headerlink')]) a.remove();
  // a section's id goes to its heading, where the section visibly starts: a section's box can begin
  // at the foot of the page before its heading (the heading is kept with its text), and Chromium writes
  // one destination per place, so a section and its heading must not both be targets
  const titleOf = (section) => section.querySelector(
    ':scope > h1, :scope > h2, :scope > h3, :scope > h4, :scope > h5, :scope > h6');
  for (const section of article.querySelectorAll('section[id]')) {
    const h = titleOf(section);
    if (h && !h.id) { h.id = section.id; section.removeAttribute('id'); }
  }
  const withId = [...article.querySelectorAll('[id]')];
  const count = new Map();
  for (const e of withId) count.set(e.id, (count.get(e.id) || 0) + 1);
  const byDoc = new Map(), first = new Map();
  for (const e of withId) {
    const key = docOf(e) + '\u0000' + e.id;
    if (!byDoc.has(key)) byDoc.set(key, e);
    if (!first.has(e.id)) first.set(e.id, e);
  }
  const used = new Set(withId.map(e => e.id));
  for (const e of withId) {
    if (count.get(e.id) > 1) {
      let id = `${docOf(e) || 'book'}--${e.id}`, i = 2;
      while (used.has(id)) id = `${docOf(e) || 'book'}--${e.id}-${i++}`;
      used.add(id);
      e.id = id;
    }
  }
  const decode = (s) => { try { return decodeURIComponent(s); } catch { return s; } };
  const unresolved = [];
  let resolved = 0;
  for (const a of [...article.querySelectorAll('a[href^="#"]')]) {
    const href = a.getAttribute('href');
    const parts = href.slice(1).split('#').map(decode);
    let doc = docOf(a), anchor = parts[parts.length - 1], target = null;
    if (parts.length > 1) doc = parts[0].replace(/^document-/, '');
    if (parts.length === 1 && anchor.startsWith('document-')) {
      target = sectionOf.get(anchor.slice('document-'.length)) ?? null;
    } else if (anchor) {
      target = byDoc.get(doc + '\u0000' + anchor) ?? first.get(anchor) ?? null;
    }
    if (target && !article.contains(target)) target = null;
    // an empty <span id> before a heading (or a section): go to the heading
    if (target?.tagName === 'SPAN' && !target.textContent.trim() && target.parentElement.tagName === 'SECTION') {
      target = target.parentElement;
    }
    if (target && target.tagName === 'SECTION') target = titleOf(target) ?? target;
    if (target) {
      if (!target.id) target.id = `book-target-${resolved}`;
      a.setAttribute('href', '#' + target.id);
      resolved++;
    } else {
      unresolved.push(href);
      unwrap(a);
    }
  }

  // --- headings: a page's title is <h1>, its sections <h2>, ... -------------------------------------
  for (const h of [...article.querySelectorAll('h1, h2, h3, h4, h5, h6')]) {
    let depth = 0;
    for (let e = h.parentElement; e && e !== article; e = e.parentElement) if (e.tagName === 'SECTION') depth++;
    const tag = 'H' + Math.min(Math.max(depth, 1), 6);
    if (h.tagName === tag) continue;
    const n = document.createElement(tag);
    for (const at of h.attributes) n.setAttribute(at.name, at.value);
    n.append(...h.childNodes);
    h.replaceWith(n);
  }
  const chapters = docs.filter(d => /^\d+-/.test(d.name));
  for (const d of chapters) {
    d.number = parseInt(d.name, 10);
    const h1 = titleOf(d.section);
    d.title = h1.textContent.trim();
    h1.prepend(el('span', 'book-chapter-number', fmt(opts.chapterLabel, d.number)), ' ');  // "1장 어텐션이란"
  }

  // --- exercises: answers to the end of the chapter, under the exercise's number ------------------
  const exerciseRe = /^(?:문제\s*)?(\d+)\.$/;
  const answers = {};
  for (const d of chapters) {
    const exSection = [...d.section.querySelectorAll('section')]
      .find(s => titleOf(s)?.textContent.trim() === opts.exercisesTitle);
    if (!exSection) { problems.push(`${d.name}: no "${opts.exercisesTitle}" section`); continue; }
    const isAnswer = (e) => e.matches('details.sd-dropdown, div.cell.tag_hide-cell');
    const items = [...exSection.querySelectorAll('p, details.sd-dropdown, div.cell.tag_hide-cell')]
      .filter(e => !e.parentElement.closest('details.sd-dropdown, div.cell.tag_hide-cell'));
    const exercises = [];
    let current = null;
    for (const e of items) {
      if (!isAnswer(e)) {
        const strong = e.firstElementChild;
        const m = strong && strong.tagName === 'STRONG' && e.textContent.trimStart().startsWith(strong.textContent)
          ? strong.textContent.trim().match(exerciseRe) : null;
        if (m) { current = {n: parseInt(m[1], 10), p: e, answers: []}; exercises.push(current); }
        continue;
      }
      if (!current) { problems.push(`${d.name}: an answer before the first numbered exercise`); continue; }
      current.answers.push(e);
    }
    const block = el('section', 'book-answers');
    const heading = el('h2', '', opts.answersTitle);
    heading.id = `book-answers-${d.name}`;
    block.append(heading);
    answers[d.name] = [];
    for (const ex of exercises) {
      if (!ex.answers.length) continue;
      if (!ex.p.id) ex.p.id = `book-exercise-${d.name}-${ex.n}`;
      const answerId = `book-answer-${d.name}-${ex.n}`;
      const ref = el('p', 'book-answer-ref');
      const refLink = el('a', '', fmt(opts.answerRef, ex.n));
      refLink.href = '#' + answerId;
      ref.append(refLink);
      ex.answers[0].before(ref);
      const label = el('p', 'book-answer-label');
      label.id = answerId;
      const back = el('a', '', fmt(opts.exerciseLabel, ex.n));
      back.href = '#' + ex.p.id;
      label.append(back);
      const body = el('div', 'book-answer-body');
      for (const e of ex.answers) {
        if (e.matches('details.sd-dropdown')) {
          const content = e.querySelector(':scope > .sd-summary-content');
          body.append(...(content ? content.childNodes : []));
          e.remove();
        } else {  // a hide-cell code cell: the answer's code and its output, both printed
          const fold = e.querySelector(':scope > details');
          if (fold) { fold.querySelector(':scope > summary')?.remove(); unwrap(fold); }
          body.append(e);
        }
      }
      block.append(label, body);
      answers[d.name].push(ex.n);
    }
    d.section.append(block);
  }

  // --- the other folded cells: outputs printed, hidden code left out ------------------------------
  const folds = {hideInput: 0, hideCell: 0, hideOutput: 0};
  for (const fold of [...article.querySelectorAll('div.cell > details.hide')]) {
    const cell = fold.parentElement;
    if (cell.classList.contains('tag_hide-input')) { fold.remove(); folds.hideInput++; continue; }
    if (cell.classList.contains('tag_hide-cell')) { fold.querySelector('.cell_input')?.remove(); folds.hideCell++; }
    else folds.hideOutput++;
    fold.querySelector(':scope > summary')?.remove();
    unwrap(fold);
  }
  for (const d of article.querySelectorAll('details')) d.open = true;
  const leftDropdowns = article.querySelectorAll('details.sd-dropdown').length;
  if (leftDropdowns) problems.push(`${leftDropdowns} dropdown(s) outside the exercises left folded`);
  for (const b of [...article.querySelectorAll('button')]) b.remove();  // copy buttons and the like

  // --- cover and table of contents ---------------------------------------------------------------
  const cover = el('section', 'book-cover');
  cover.append(el('p', 'book-cover-title', opts.title));
  if (opts.subtitle) cover.append(el('p', 'book-cover-subtitle', opts.subtitle));
  for (const line of opts.meta) cover.append(el('p', 'book-cover-meta', line));
  const toc = el('nav', 'book-toc');
  toc.setAttribute('aria-label', opts.tocTitle);
  toc.append(el('h1', '', opts.tocTitle));
  let headings = 0;
  const entry = (heading, label) => {
    if (!heading.id) heading.id = `book-heading-${headings++}`;
    const li = el('li');
    const a = el('a');
    a.href = '#' + heading.id;
    a.append(el('span', 'book-toc-label', label), el('span', 'book-toc-leader'), el('span', 'book-toc-page', '000'));
    li.append(a);
    return li;
  };
  // the parts as the front page's toctrees caption them (the theme's print toc lists them)
  const captionOf = new Map();
  for (const caption of document.querySelectorAll('#jb-print-toc p.caption')) {
    for (const link of caption.nextElementSibling?.querySelectorAll('a[href^="#document-"]') ?? []) {
      captionOf.set(link.getAttribute('href').slice('#document-'.length), caption.textContent.trim());
    }
  }
  let list = el('ol'), part = null;
  toc.append(list);
  for (const d of docs) {
    const caption = captionOf.get(d.name) ?? null;
    if (caption !== part) {
      part = caption;
      if (caption && caption !== opts.tocTitle) toc.append(el('p', 'book-toc-part', caption));
      list = el('ol');
      toc.append(list);
    }
    const h1 = titleOf(d.section);
    const li = entry(h1, d.number ? `${fmt(opts.chapterLabel, d.number)} ${d.title}` : h1.textContent.trim());
    li.className = 'book-toc-doc';
    const subs = [...d.section.querySelectorAll(':scope > section')].map(titleOf).filter(Boolean);
    if (subs.length) {
      const sub = el('ol');
      for (const h of subs) sub.append(entry(h, h.textContent.trim()));
      li.append(sub);
    }
    list.append(li);
  }
  for (const ol of [...toc.querySelectorAll('ol')]) if (!ol.children.length) ol.remove();
  article.prepend(cover, toc);
  document.title = opts.title;

  return {
    problems, unresolved, resolved, folds, answers,
    docs: docs.map(d => d.name),
    chapters: chapters.map(d => ({name: d.name, number: d.number, title: d.title})),
    tocEntries: toc.querySelectorAll('a').length,
  };
}"""

# Shrink what is wider than the text (code, outputs, tables, display math) down to 70 %, then let the
# rest wrap; keep short blocks on one page. Runs in print layout, at the printed text width.
FIT = r"""(textHeight) => {
  const article = document.querySelector('article.bd-article');
  const shrunk = {pre: 0, table: 0, math: 0, wrapped: 0};
  const scale = (e, ratio) => {
    const size = parseFloat(getComputedStyle(e).fontSize);
    e.style.fontSize = `${(size * Math.max(ratio, 0.7)).toFixed(2)}px`;
  };
  for (const pre of article.querySelectorAll('pre')) {
    pre.style.setProperty('white-space', 'pre', 'important');
    const ratio = pre.clientWidth / pre.scrollWidth;
    if (ratio < 0.999) { scale(pre, ratio * 0.99); shrunk.pre++; if (ratio < 0.7) shrunk.wrapped++; }
    pre.style.removeProperty('white-space');
  }
  for (const table of article.querySelectorAll('table')) {
    const box = table.parentElement;
    const ratio = box.clientWidth / table.scrollWidth;
    if (ratio < 0.999) { scale(table, ratio * 0.99); shrunk.table++; }
  }
  for (const math of article.querySelectorAll('mjx-container[display="true"]')) {
    const inner = math.firstElementChild;
    const ratio = math.parentElement.clientWidth / inner.getBoundingClientRect().width;
    if (ratio < 0.999) { scale(math, ratio * 0.99); shrunk.math++; }
  }
  const keep = article.querySelectorAll('.cell_input, .cell_output, div.highlight, figure, table, div.math, '
    + 'mjx-container[display="true"], .book-answer-label');
  for (const e of keep) if (e.getBoundingClientRect().height < textHeight / 3) e.classList.add('book-keep-together');
  return shrunk;
}"""

SET_PAGES = """(pages) => {
  let missing = 0;
  for (const a of document.querySelectorAll('.book-toc a')) {
    const page = pages[a.getAttribute('href').slice(1)];
    if (page === undefined) missing++;
    a.querySelector('.book-toc-page').textContent = page === undefined ? '' : String(page);
  }
  return missing;
}"""


def destination_pages(pdf: bytes) -> dict[str, int]:
    """Named destination -> its 1-based page number, as Chromium wrote them for the page's links."""
    reader = PdfReader(io.BytesIO(pdf))
    pages = {}
    for name, dest in reader.named_destinations.items():
        try:
            pages[name.lstrip("/")] = reader.get_destination_page_number(dest) + 1
        except (KeyError, ValueError, AttributeError, TypeError):
            continue
    return pages


def cover_lines() -> dict[str, object]:
    """The cover's lines under the title: the authors and the version, from pyproject.toml."""
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text("utf-8"))
    project = pyproject["project"]
    authors = ", ".join(a["name"] for a in project.get("authors", []))
    return {"subtitle": None, "meta": [authors, f"{project['name']} {project['version']}"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the singlehtml build (holds index.html)")
    parser.add_argument("out", type=Path, help="the PDF to write")
    parser.add_argument("--title", default=None, help="the book's title (default: the front page's <h1>)")
    args = parser.parse_args(argv)
    site = args.site.resolve()
    if not (site / "index.html").is_file():
        print(f"make_pdf: {site / 'index.html'} is missing: build the book with -b singlehtml first")
        return 1
    if not Path(CHROMIUM).is_file():
        print(f"make_pdf: Chromium not found at {CHROMIUM}: apt-get install -y chromium fonts-noto-cjk")
        return 1
    start = time.monotonic()
    server, base = serve(site, "/")  # the singlehtml build's own links are relative
    origin = base.rstrip("/")
    external: list[str] = []
    errors: list[str] = []

    def route(r):
        url = r.request.url
        if urlsplit(url).path == "/searchindex.js":  # the theme asks for it; singlehtml writes no search index
            r.fulfill(status=200, content_type="text/javascript", body="")
        elif url.startswith((origin + "/", "data:", "blob:", "about:")):
            r.continue_()
        else:
            external.append(url)
            r.abort()

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            context = browser.new_context(
                viewport={"width": TEXT_WIDTH_PX, "height": TEXT_HEIGHT_PX},
                color_scheme="light", locale="ko-KR", service_workers="block",
            )
            # the theme reads the reader's light/dark choice from localStorage first
            context.add_init_script("for (const k of ['mode', 'theme']) localStorage.setItem(k, 'light')")
            context.route("**/*", route)
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.goto(base + "index.html", wait_until="load")
            loaded = page.evaluate(WAIT_FOR_PAGE)
            print(f"make_pdf: page loaded, {loaded['formulas']} formulas typeset "
                  f"({time.monotonic() - start:.1f} s)")
            if loaded["pending"] or loaded["broken"]:
                print(f"make_pdf: {loaded['pending']} formulas not typeset, images not loaded: {loaded['broken']}")
                return 1
            page.emulate_media(media="print", color_scheme="light")
            title = args.title or page.evaluate(
                "document.querySelector('article section h1')?.firstChild?.textContent.trim()")
            opts = {**OPTIONS, **cover_lines(), "title": title}
            report = page.evaluate(PREPARE, opts)
            for line in report.get("problems", []):
                print(f"make_pdf: {line}")
            if report.get("problems"):
                return 1
            print(f"make_pdf: {len(report['docs'])} pages ({', '.join(report['docs'])}); "
                  f"{report['resolved']} internal links; left as text (target not printed): "
                  f"{report['unresolved'] or 'none'}")
            print(f"make_pdf: answers moved: {report['answers']}; folded cells: {report['folds']}")
            page.evaluate(WAIT_FOR_PAGE)
            print(f"make_pdf: shrunk to fit: {page.evaluate(FIT, TEXT_HEIGHT_PX)}")
            pdf_options = {
                "format": "A4",
                "print_background": True,
                "margin": {side: f"{mm}mm" for side, mm in MARGIN_MM.items()},
                "outline": True,
                "tagged": True,
                "display_header_footer": True,
                "header_template": "<span></span>",
                "footer_template": FOOTER.format(title=title, **MARGIN_MM),
            }
            # the table of contents' page numbers: print, read where its links land (Chromium writes a
            # named destination for each link target), write them in, print again, until they hold (at
            # the second print, unless writing them in changed the table's own length)
            toc = page.evaluate("[...document.querySelectorAll('.book-toc a')].map(a => a.hash.slice(1))")
            pages: dict[str, int] = {}
            for attempt in range(1, 4):
                missing = page.evaluate(SET_PAGES, pages)
                # the first print only measures: no bookmarks or tags (a quarter faster, same pages)
                measure = {"outline": False, "tagged": False} if attempt == 1 else {}
                pdf = page.pdf(**{**pdf_options, **measure})
                found = destination_pages(pdf)
                print(f"make_pdf: print {attempt}: {len(PdfReader(io.BytesIO(pdf)).pages)} pages, "
                      f"{len(pdf) / 1e6:.1f} MB ({time.monotonic() - start:.1f} s)")
                landed = {k: found[k] for k in toc if k in found}
                if attempt > 1 and landed == pages and not missing:
                    break
                if attempt > 1:
                    moved = [(k, pages.get(k), v) for k, v in landed.items() if pages.get(k) != v]
                    print(f"make_pdf: {missing} entries without a page; moved: {moved[:5]}")
                pages = landed
            else:
                lost = sorted(set(toc) - set(found))
                print(f"make_pdf: the table of contents' page numbers did not settle; no destination for {lost[:5]}")
                return 1
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    if external:
        print(f"make_pdf: the page requested other hosts: {sorted(set(external))}")
        return 1
    if errors:
        print(f"make_pdf: errors in the page: {errors}")
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(pdf)
    print(f"make_pdf: wrote {args.out} ({len(pdf) / 1e6:.1f} MB) in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
