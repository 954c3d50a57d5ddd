"""A page's executed notebook made clean Jupyter: what a reader downloads runs and reads well anywhere.

The pages are MyST notebooks. Outside the site, MyST's roles and directives would print as literal
text, so :func:`clean_notebook` rewrites every Markdown cell into plain Jupyter Markdown:

- roles become what the site shows: ``{term}`` its word, ``{eq}`` the equation's number, ``{cite}``
  "저자 (연도)", ``{ref}``/``{doc}`` the section's or page's title (a link to the hosted page when the
  site's address is known), ``{glue:text}`` the glued value formatted as on the page, code roles code;
- ``literalinclude`` becomes the included code, ``dropdown`` a ``<details>`` block (folded in Jupyter
  and Colab), ``toctree`` a list of the pages, labelled equations get ``\\tag{n}``, targets go;
- a figure's caption follows its cell as a Markdown cell, the cells the site hides are collapsed
  (``jupyter.source_hidden``), and the invisible records of ``glue`` are dropped from the outputs, as
  are the interactive views (cells tagged ``interactive``: only the site's script draws them; the
  static figure beside each stays);
- an install cell comes before the first code cell: when ``attention_ref`` is not importable, it
  installs the book's wheel (with the ``book`` extra: matplotlib, the Korean font, threadpoolctl)
  from the site.

A role or directive this module does not know is an error, so that nothing MyST-only slips through.
The Sphinx side (equation numbers, titles, the bibliography) comes in a :class:`Resolver`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import nbformat

GLUE_MIME = "application/papermill.record/"
INTERACTIVE_TAG = "interactive"  # a cell whose output is an interactive view (docs/_static/attention-views.js)

ROLE = re.compile(r"\{(?P<name>[a-z][a-z:-]*)\}`(?P<body>[^`]*)`")
# a role, or else a code span (scanning left to right, a role's own backticks are taken by the role)
ROLE_OR_CODE = re.compile(r"\{(?P<name>[a-z][a-z:-]*)\}`(?P<body>[^`]*)`|``.+?``|`[^`]+`")
TITLED = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
FENCE_OPEN = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z][a-z:-]*)\}[ \t]*(?P<arg>.*)$")
OPTION = re.compile(r"^:(?P<key>[a-z-]+):[ \t]*(?P<value>.*)$")
TARGET = re.compile(r"^\([A-Za-z0-9_.:-]+\)=[ \t]*$")
LABELLED_MATH_END = re.compile(r"^\$\$[ \t]*\((?P<label>[A-Za-z0-9_.:-]+)\)[ \t]*$")
CODE_ROLES = {"mod", "func", "class", "meth", "attr", "obj", "data", "exc",
              "py:mod", "py:func", "py:class", "py:meth", "py:attr", "py:obj", "py:data", "py:exc"}

INSTALL_CELL = """\
# 사이트 밖(Jupyter, Colab)에서 열었다면, 이 장에 필요한 이 책의 패키지를 먼저 설치합니다.
# (attention_ref와 그림에 쓰는 matplotlib, 한글 글꼴, threadpoolctl; 이미 있으면 아무것도 하지 않습니다.)
import importlib
import importlib.util
import os

if importlib.util.find_spec("attention_ref") is None:
    book_site = os.environ.get("ATTN_BOOK_SITE", {site!r})  # 이 책의 사이트 주소
    %pip install -q "attention-ref[book] @ {{book_site}}{wheel}"
    importlib.invalidate_caches()"""


class CleanError(ValueError):
    """A page holds MyST syntax that has no clean Jupyter form here, or a reference that cannot be resolved."""


@dataclass
class Resolver:
    """What the Sphinx build knows that a page's text refers to.

    ``equations`` maps an equation label to its number, ``labels`` a section label to
    ``(docname, anchor, title)``, ``titles`` a docname to its title, ``citations`` a BibTeX key to
    "저자 (연도)"; ``include`` reads a ``literalinclude`` (path, options) into code. ``site_url`` is the
    hosted site's address (links go there) or ``None`` (references become plain text).
    """

    equations: Mapping[str, int] = field(default_factory=dict)
    labels: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    titles: Mapping[str, str] = field(default_factory=dict)
    citations: Mapping[str, str] = field(default_factory=dict)
    include: Callable[[str, dict[str, str]], str] | None = None
    site_url: str | None = None

    def link(self, text: str, docname: str, anchor: str = "") -> str:
        if self.site_url is None:
            return text
        return f"[{text}]({self.site_url}{docname}.html{'#' + anchor if anchor else ''})"


def format_glue(text: str, fmt: str) -> str:
    """A glued ``text/plain`` value formatted as myst-nb's ``{glue:text}`` does (``key:fmt``)."""
    from myst_nb.core.variables import format_plain_text

    return format_plain_text(text, fmt)


def glue_values(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Every ``glue``d value of an executed notebook: name -> its ``text/plain``."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is None:
                continue
            data = out.get("data", {})
            text = data.get(GLUE_MIME + "text/plain", data.get("text/plain"))
            if text is not None:
                values[name] = text
    return values


def citation_text(entry) -> str:
    """"저자 (연도)" for a pybtex entry: one or two surnames, or the first one and 외."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    surnames = [" ".join(p.last_names) or " ".join(p.first_names) for p in people]
    year = entry.fields.get("year", "")
    if not surnames:
        who = entry.fields.get("title", "")
    elif len(surnames) == 1:
        who = surnames[0]
    elif len(surnames) == 2:
        who = f"{surnames[0]}, {surnames[1]}"
    else:
        who = f"{surnames[0]} 외"
    return f"{who} ({year})" if year else who


class _Cleaner:
    def __init__(self, resolver: Resolver, glue: Mapping[str, str], docname: str):
        self.r = resolver
        self.glue = glue
        self.docname = docname

    # --- roles ----------------------------------------------------------------------------------
    def role(self, m: re.Match) -> str:
        name, body = m["name"], m["body"]
        titled = TITLED.match(body)
        text, target = (titled["text"], titled["target"]) if titled else (None, body)
        if name == "term":
            return text if text is not None else body
        if name == "eq":
            if target not in self.r.equations:
                raise CleanError(f"{self.docname}: no equation labelled {target!r}")
            return f"({self.r.equations[target]})"
        if name in {"cite", "cite:p", "cite:t", "cite:ps", "cite:ts"}:
            keys = [k.strip() for k in body.split(",")]
            missing = [k for k in keys if k not in self.r.citations]
            if missing:
                raise CleanError(f"{self.docname}: no bibliography entry for {missing}")
            return "; ".join(self.r.citations[k] for k in keys)
        if name == "ref":
            if target not in self.r.labels:
                raise CleanError(f"{self.docname}: no section labelled {target!r}")
            doc, anchor, title = self.r.labels[target]
            return self.r.link(text if text is not None else title, doc, anchor)
        if name == "doc":
            doc = target.lstrip("/").removesuffix(".md")
            if doc not in self.r.titles:
                raise CleanError(f"{self.docname}: no page {target!r}")
            return self.r.link(text if text is not None else self.r.titles[doc], doc)
        if name in {"glue:text", "glue"}:
            key, _, fmt = body.rpartition(":") if name == "glue:text" and ":" in body else (body, "", "")
            if key not in self.glue:
                raise CleanError(f"{self.docname}: nothing glued as {key!r}")
            return format_glue(self.glue[key], fmt)
        if name in CODE_ROLES:
            if text is not None:
                return f"`{text}`"
            return f"`{target[1:].rsplit('.', 1)[-1]}`" if target.startswith("~") else f"`{target}`"
        raise CleanError(f"{self.docname}: the role {{{name}}} has no clean Jupyter form")

    def roles(self, text: str) -> str:
        """Rewrite the roles of one line of text; code spans (which may show a role's syntax) stay."""
        def one(m: re.Match) -> str:
            if not m["name"]:
                return m.group(0)
            shown = self.role(m)
            # a citation after a space and before punctuation is parenthetical: "... 합칩니다 (Vaswani 외, 2017)."
            before, after = text[m.start() - 1 : m.start()], text[m.end() : m.end() + 1]
            if m["name"].startswith("cite") and m["name"] != "cite:t" and before in {"", " "} and after in {
                    "", ".", ",", ";", ":", ")"}:
                shown = "(" + re.sub(r" \((\d{4}[a-z]?)\)", r", \1", shown) + ")"
            return shown

        return ROLE_OR_CODE.sub(one, text)

    # --- blocks ---------------------------------------------------------------------------------
    def markdown(self, source: str) -> str:
        lines = source.split("\n")
        out: list[str] = []
        i = 0
        in_code = None  # the fence of a plain code block we are inside
        while i < len(lines):
            line = lines[i]
            if in_code is not None:
                out.append(line)
                if line.strip() == in_code:
                    in_code = None
                i += 1
                continue
            opened = FENCE_OPEN.match(line)
            if opened:
                end = self._closing(lines, i, opened["fence"])
                body = lines[i + 1 : end]
                out.extend(self.directive(opened["name"], opened["arg"].strip(), body, opened["indent"]))
                i = end + 1
                continue
            plain = re.match(r"^ *(`{3,}|~{3,})", line)
            if plain:
                in_code = plain.group(1)
                out.append(line)
                i += 1
                continue
            if TARGET.match(line):
                i += 1
                continue
            if re.match(r"^%( |$)", line):  # a MyST comment
                i += 1
                continue
            labelled = LABELLED_MATH_END.match(line)
            if labelled:
                label = labelled["label"]
                if label not in self.r.equations:
                    raise CleanError(f"{self.docname}: no equation labelled {label!r}")
                out.append(rf"\tag{{{self.r.equations[label]}}}")
                out.append("$$")
                i += 1
                continue
            out.append(self.roles(line))
            i += 1
        text = "\n".join(out)
        return re.sub(r"\n{3,}", "\n\n", text).strip("\n")

    @staticmethod
    def _closing(lines: list[str], start: int, fence: str) -> int:
        for j in range(start + 1, len(lines)):
            if lines[j].strip() == fence:
                return j
        raise CleanError(f"an unclosed {fence} block at line {start + 1}")

    @staticmethod
    def _options(body: list[str]) -> tuple[dict[str, str], list[str]]:
        options = {}
        k = 0
        while k < len(body) and OPTION.match(body[k]):
            m = OPTION.match(body[k])
            options[m["key"]] = m["value"].strip()
            k += 1
        if k < len(body) and body[k].strip() == "":
            k += 1
        return options, body[k:]

    def directive(self, name: str, arg: str, body: list[str], indent: str) -> list[str]:
        options, content = self._options(body)
        if name == "dropdown":
            inner = self.markdown("\n".join(content))
            return ["<details>", f"<summary>{self.roles(arg) or '열기'}</summary>", "", inner, "", "</details>"]
        if name == "literalinclude":
            if self.r.include is None:
                raise CleanError(f"{self.docname}: no reader for literalinclude {arg}")
            code = self.r.include(arg, options).rstrip("\n")
            lang = options.get("language", "")
            fence = "````" if "```" in code else "```"
            return [f"{fence}{lang}", code, fence]
        if name == "toctree":
            items = []
            for entry in (c.strip() for c in content if c.strip()):
                # Sphinx's own glob (``*`` stays inside a folder), as its toctree directive matches; imported
                # here: run_notebooks.py reads this module in a reader's environment, which has no Sphinx
                from sphinx.util.matching import patfilter

                docs = sorted(patfilter(self.r.titles, entry)) if "glob" in options else [entry]
                for doc in docs:
                    if doc not in self.r.titles:
                        raise CleanError(f"{self.docname}: the toctree names no page {doc!r}")
                    items.append(f"- {self.r.link(self.r.titles[doc], doc)}")
            caption = options.get("caption")
            return [*([f"**{caption}**", ""] if caption else []), *items]
        if name in {"math"}:
            return ["$$", *content, "$$"]
        raise CleanError(f"{self.docname}: the directive {{{name}}} has no clean Jupyter form")


def _hidden(cell: nbformat.NotebookNode) -> None:
    tags = set(cell.metadata.get("tags", []))
    jupyter = {}
    if tags & {"hide-input", "hide-cell", "remove-input", "remove-cell"}:
        jupyter["source_hidden"] = True
    if tags & {"hide-cell", "hide-output", "remove-output", "remove-cell"}:
        jupyter["outputs_hidden"] = True
    if jupyter:
        cell.metadata["jupyter"] = jupyter


def clean_notebook(nb: nbformat.NotebookNode, resolver: Resolver, docname: str, *, install: tuple[str, str] | None
                   ) -> nbformat.NotebookNode:
    """A clean copy of the executed notebook ``nb`` of page ``docname`` (``nb`` is not changed).

    ``install`` is ``(site, wheel)``: the install cell fetches ``site + wheel``; ``None`` adds no install
    cell.
    """
    glue = glue_values(nb)
    cleaner = _Cleaner(resolver, glue, docname)
    cells = []
    for cell in nb.cells:
        cell = copy.deepcopy(cell)
        if cell.cell_type == "markdown":
            cell.source = cleaner.markdown(cell.source)
            if cell.source:
                cells.append(cell)
            continue
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        cell.outputs = [o for o in cell.get("outputs", [])
                        if not (o.get("data") and all(k.startswith(GLUE_MIME) for k in o["data"]))]
        if INTERACTIVE_TAG in cell.metadata.get("tags", []):
            cell.outputs = []  # a view the site's script draws: in Jupyter it would be an empty box
        _hidden(cell)
        cells.append(cell)
        caption = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption")
        if caption:
            cells.append(nbformat.v4.new_markdown_cell(f"*그림: {cleaner.markdown(caption)}*"))
    if install is not None and any(c.cell_type == "code" for c in cells):
        first = next(i for i, c in enumerate(cells) if c.cell_type == "code")
        site, wheel = install
        cell = nbformat.v4.new_code_cell(INSTALL_CELL.format(site=site, wheel=wheel))
        cell.metadata["tags"] = ["install"]
        cells.insert(first, cell)
    clean = nbformat.v4.new_notebook(cells=cells)
    clean.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, cell in enumerate(clean.cells):
        cell["id"] = f"cell-{i}"
        if cell.cell_type == "markdown":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    nbformat.validate(clean)
    return clean


def leftover_myst(nb: nbformat.NotebookNode) -> list[str]:
    """MyST-only syntax left in the Markdown cells of a notebook (empty for a clean one).

    Code blocks and code spans may show MyST's syntax (a page about the book's sources could), so
    they are not searched.
    """
    found = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"^( *)(`{3,}|~{3,})[^\n]*\n.*?^\1\2[ \t]*$", "", cell.source, flags=re.DOTALL | re.MULTILINE)
        for m in ROLE_OR_CODE.finditer(text):
            if m["name"]:
                found.append(m.group(0))
        found += [line for line in text.split("\n") if FENCE_OPEN.match(line) or TARGET.match(line)]
    return found
