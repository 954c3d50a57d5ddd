"""Find numbers in a page's prose that the page's own code cells also print: numbers retyped by hand.

A number computed by a cell and then typed into the text goes stale as soon as the code changes; it
should be inserted with myst-nb's glue roles (``{glue:text}`name:.3f```) instead. This check compares
the prose of every page (``DOCS_DIR/<page>.md``) with the outputs of its executed notebook
(``JUPYTER_EXECUTE_DIR/<page>.ipynb``)::

    python docs/_tools/check_numbers.py docs docs/_build/jupyter_execute [--allowlist FILE]

It prints ``page:line: number 0.853 also printed by cell N (line L)`` per finding (N counts the page's
code cells from 1, L is the line after the cell's opening fence), a count per page, and exits 1 when
there are findings (0 when none, 2 when a folder is missing).

Rules
-----
Prose is the Markdown of the page outside: the YAML front matter; fenced blocks (```, ````, ~~~, :::)
of code and of the directives in ``NON_PROSE_DIRECTIVES`` ({code-cell}, {literalinclude}, {eval-rst},
{toctree}, ...); directive option lines (``:key: value`` and ``---`` YAML blocks); display math
(``$$...$$``, ``\\begin{..}...\\end{..}``); inline math (``$...$``); inline code; HTML comments and
tags; the targets of link and cross-reference roles; glue roles (``{glue}``, ``{glue:text}``... are
inserted by the build, not typed); label lines ``(x)=``, ``%`` comments and ``+++`` breaks; URLs.
The body and title of other directives are prose (``{dropdown}`` answers, admonitions), and so is the
figure caption of a code cell (``mystnb: figure: caption:`` in its YAML options). Of a role, only the
visible text of ``{term}``, ``{ref}``, ``{doc}``, ``{numref}``, ``{download}`` is prose
(``{ref}`text <target>``` -> ``text``); other roles ({eq}, {cite}, {mod}, ...) are skipped whole.

A number is a run of digits with optional thousands commas (``24,577``), decimal part (``0.853``),
exponent (``1e-10``; in prose also ``10^{-10}`` and ``2.5 × 10^{-3}`` outside math) and percent sign
(``97.2%``). The sign is ignored. Not numbers: digits right after an ASCII letter or ``_``
(identifiers: ``W1``, ``float32``, ``d_2``), after a ``.`` or followed by ``.digit`` (versions
``2.1.0``). A Hangul counter or particle after a number is fine (``2.9배`` is 2.9, ``512차원`` is 512).

A prose number is checked when it carries information:

- a decimal with at least 2 significant digits or 2 decimal places (``0.853``, ``1.7``, ``0.09``; not
  ``0.5``, ``1.0``, ``2.0``, which are usually parameters or exact values);
- a number written with an exponent (``1e-10``, ``10^{-10}``, ``2.5 × 10^{-3}``);
- an integer of 21 or more (``36``, ``204``, ``24,577``); 0-20 are counts of the text ("헤드 8개");
- not a chapter or section number (followed by ``장``/``절``: ``8장``) nor a year (1900-2099 followed
  by ``년`` or after a Latin name: "Vaswani et al. 2017", "Vaswani (2017)"; ``(2048)`` is a number).

Outputs: every text output of every code cell of the executed notebook, except cells tagged
``timing`` (their numbers change on every run): stream text, ``text/plain`` (not the
``<Figure size ...>`` text of an output that is an image), ``text/markdown``, ``text/latex``,
``text/html`` without its tags, and the message of an error. They are tokenized the same way, with
no size limit.

A prose number matches an output number when they are equal in value (``24,577`` and ``24577``,
``0.50`` and ``0.5``), or when the output number has more digits and, rounded to the prose number's
last place (half up or half to even), gives it: prose ``0.85`` matches output ``0.853``, ``2.9배``
matches ``2.93``, ``1e-16`` matches ``1.1e-16``. An integer of the prose matches a rounded output only
if it has 3 significant digits or more (``628`` matches ``628.3``; ``36`` matches only ``36``, not
``35.8``, and ``300`` not ``299.7``: two-digit and round integers are too often equal by chance). A
percentage also matches the output times 100 (``97.2%`` matches ``0.972`` and ``0.9723``, ``85%``
matches ``0.853``). A prose number is reported once, with the first cell printing it exactly, else
the first printing it rounded.

Not findings: a prose number equal to a number literally written in the page's code (code cells'
sources without their comments: ``d_model=512``, ``n_trials = 2000`` are inputs the text chose, not
results), and a number allowlisted for its page in the allowlist file (default:
``number_allowlist.toml`` next to this script)::

    [[allow]]
    page = "06-transformer"      # docname: path under DOCS_DIR without .md
    number = "2048"              # as a string; matched by value
    reason = "d_ff of the paper (4 x 512)"

An allowlist entry that matches nothing is reported as a note (it may be stale), not as a failure.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import re
import sys
import tokenize
import tomllib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

TIMING_TAG = "timing"  # cells whose outputs are time measurements (as in check_determinism.py)
DEFAULT_ALLOWLIST = Path(__file__).with_name("number_allowlist.toml")
MIN_INTEGER = 21  # prose integers below this are counts of the text, not checked
MIN_SIGNIFICANT = 2  # prose decimals need this many significant digits or decimal places
ROUNDED_INTEGER_DIGITS = 3  # a prose integer with this many significant digits may be a rounded output

# Directives whose body is not prose (code, file contents, reST, tables of contents...)
NON_PROSE_DIRECTIVES = frozenset({
    "code-cell", "code", "code-block", "sourcecode", "literalinclude", "eval-rst", "toctree",
    "bibliography", "math", "raw", "glue", "glue:any", "glue:math", "glue:md", "include",
    "csv-table", "list-table", "mermaid", "graphviz", "autoclass", "autofunction", "automodule",
})
# Roles whose visible text is prose (``{ref}`text <target>``` -> text); every other role is skipped
TEXT_ROLES = frozenset({"term", "ref", "doc", "numref", "download"})

__all__ = [
    "DEFAULT_ALLOWLIST", "TIMING_TAG", "Finding", "Number", "check_book", "check_page", "code_numbers",
    "load_allowlist", "main", "matches", "output_numbers", "parse_number", "prose_numbers", "prose_text",
]


# --- numbers ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Number:
    """A number as written: its text, its value, and where it was found."""

    text: str  # as written, e.g. "24,577", "0.853", "97.2%"
    value: Decimal  # without sign, thousands commas and percent sign
    percent: bool = False
    line: int = 0  # 1-based line in the page (prose numbers)
    places: int = 0  # digits written after the decimal point ("0.09" -> 2, "1e-10" -> 0)
    exponent_form: bool = False  # written with an exponent: 1e-10, 10^{-10}

    @property
    def exponent(self) -> int:
        """The place of the last written digit: -3 for ``0.853``, 0 for ``204``, -6 for ``1.2e-05``."""
        return self.value.as_tuple().exponent

    @property
    def significant(self) -> int:
        """Significant digits of the value, leading and trailing zeros not counted (``0.50`` -> 1)."""
        digits = "".join(map(str, self.value.as_tuple().digits)).strip("0")
        return len(digits)

    @property
    def is_integer(self) -> bool:
        return self.exponent >= 0


_NUM = (
    r"(?<![A-Za-z_\d.])"  # not inside an identifier (W1, float32, d_2) nor after a dot
    # 10^{-10}, 10^-10, 2.5 × 10^{-3} (written so only in prose; outputs print 1e-10)
    r"(?:(?P<pow>(?:(?P<mant>\d+(?:\.(?P<mfrac>\d+))?)\s?[×x*]\s?)?10\^\{?(?P<powexp>[-+−]?\d+)\}?)"
    r"|(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?P<frac>\.\d+)?(?P<exp>[eE][-+−]?\d+)?)"
    r"(?!\d|\.\d)"  # not the start of a version 2.1.0
    r"(?P<pct>\s?%)?"
)
NUMBER_RE = re.compile(_NUM)


def parse_number(match: re.Match, line: int = 0) -> Number | None:
    """The :class:`Number` of a match of ``NUMBER_RE`` (None if its value cannot be read)."""
    text = match.group(0)
    try:
        if match.group("pow"):
            value = Decimal((match.group("mant") or "1") + "e" + match.group("powexp").replace("−", "-"))
        else:
            raw = match.group("int").replace(",", "") + (match.group("frac") or "")
            raw += (match.group("exp") or "").replace("−", "-")
            value = Decimal(raw)
    except InvalidOperation:
        return None
    places = len(match.group("frac") or ".") - 1 if match.group("int") else len(match.group("mfrac") or "")
    exponent_form = bool(match.group("pow") or match.group("exp"))
    return Number(text.strip(), value, bool(match.group("pct")), line, places, exponent_form)


def _numbers(text: str) -> list[Number]:
    return [n for m in NUMBER_RE.finditer(text) if (n := parse_number(m)) is not None]


def _rounds_to(x: Decimal, exponent: int, target: Decimal) -> bool:
    """Whether ``x`` rounded to ``10**exponent`` (half up or half to even) equals ``target``."""
    if x.as_tuple().exponent >= exponent:  # x has no more digits than the target: only equality
        return x == target
    quantum = Decimal(1).scaleb(exponent)
    try:
        return target in (x.quantize(quantum, ROUND_HALF_UP), x.quantize(quantum, ROUND_HALF_EVEN))
    except InvalidOperation:
        return False


def matches(prose: Number, printed: Number) -> str | None:
    """How a prose number matches a printed one: ``"exact"``, ``"rounded"`` or None (see the rules)."""
    candidates = [printed.value]
    if prose.percent and not printed.percent:
        candidates.append(printed.value.scaleb(2))  # a fraction printed, a percentage written
    for x in candidates:
        if x == prose.value:
            return "exact"
    if prose.is_integer and not prose.percent and prose.significant < ROUNDED_INTEGER_DIGITS:
        return None
    for x in candidates:
        if _rounds_to(x, prose.exponent, prose.value):
            return "rounded"
    return None


# --- prose -----------------------------------------------------------------------------------------

_FENCE_RE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
_DIRECTIVE_RE = re.compile(r"^\s*\{(?P<name>[^{}\s]+)\}\s*(?P<arg>.*)$")
_OPTION_RE = re.compile(r"^\s*:[\w.-]+:")
_LABEL_RE = re.compile(r"^\s*\([^()\s]+\)=\s*$")
_CAPTION_RE = re.compile(r"^(?P<indent>\s*)caption:\s*(?P<rest>.*)$")
_BEGIN_RE = re.compile(r"^\s*\\begin\{(?P<env>[^}]+)\}")

_INLINE_RE = re.compile(
    r"(?P<role>\{(?P<rname>[A-Za-z][\w:+.-]*)\}(?P<rtick>`+)(?P<rbody>.+?)(?<!`)(?P=rtick)(?!`))"
    r"|(?P<code>(?P<tick>`+).+?(?<!`)(?P=tick)(?!`))"
    r"|(?P<esc>\\[$`\\])"
    r"|(?P<dmath>\$\$.+?\$\$)"
    r"|(?P<math>\$.+?(?<!\\)\$)"
    r"|(?P<comment><!--.*?-->)"
    r"|(?P<tag></?[A-Za-z][^<>]*>)"
    r"|\](?P<url>\([^()\s]*(?:\([^()\s]*\)[^()\s]*)*(?:\s+\"[^\"]*\")?\))"
    r"|(?P<bare>https?://[^\s<>()\]]+)",
    re.DOTALL,
)


def _blank(text: str) -> str:
    """The text with every character but newlines replaced by a space (positions kept)."""
    return re.sub(r"[^\n]", " ", text)


def _find_close(lines: list[str], start: int, end: int, fence: str) -> int:
    """Index of the line closing a fence opened with ``fence`` (``end`` if it is never closed)."""
    close = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    for j in range(start, end):
        if close.match(lines[j]):
            return j
    return end


def _options_end(lines: list[str], start: int, end: int) -> int:
    """First line of a directive's body after its options (``:key: value`` lines or a YAML block)."""
    k = start
    if k < end and lines[k].strip() == "---":
        for j in range(k + 1, end):
            if lines[j].strip() == "---":
                return j + 1
        return end
    while k < end and _OPTION_RE.match(lines[k]):
        k += 1
    return k


def _keep_caption(lines: list[str], start: int, end: int, out: list[str]) -> None:
    """Keep the figure caption of a code cell's YAML options (lines ``start:end``) as prose."""
    for i in range(start, end):
        m = _CAPTION_RE.match(lines[i])
        if not m:
            continue
        indent, rest = len(m.group("indent")), m.group("rest")
        if rest and not re.fullmatch(r"[|>][+-]?\d*\s*", rest):  # caption: text on the same line
            out[i] = " " * m.start("rest") + rest
        for j in range(i + 1, end):  # block scalar lines, or continuation lines of a plain scalar
            if lines[j].strip() and len(lines[j]) - len(lines[j].lstrip()) <= indent:
                break
            out[j] = lines[j]
        return


def _mask_blocks(lines: list[str], start: int, end: int, out: list[str]) -> None:
    """Copy the prose lines of ``lines[start:end]`` into ``out`` (other lines stay empty)."""
    i = start
    while i < end:
        line = lines[i]
        stripped = line.strip()
        fence = _FENCE_RE.match(line)
        if fence and not (fence.group("fence")[0] == "`" and "`" in fence.group("info")):
            close = _find_close(lines, i + 1, end, fence.group("fence"))
            directive = _DIRECTIVE_RE.match(fence.group("info"))
            name = directive.group("name") if directive else None
            if name == "code-cell":
                if i + 1 < close and lines[i + 1].strip() == "---":
                    _keep_caption(lines, i + 2, _options_end(lines, i + 1, close) - 1, out)
            elif name is not None and name not in NON_PROSE_DIRECTIVES:
                arg_start = len(line) - len(directive.group("arg"))
                out[i] = " " * arg_start + directive.group("arg")  # a title, e.g. {dropdown} 정답
                _mask_blocks(lines, _options_end(lines, i + 1, close), close, out)
            i = close + 1
            continue
        if stripped.startswith("$$"):  # display math, possibly on one line: $$ x $$ (label)
            j = i
            if "$$" not in stripped[2:]:
                j = next((k for k in range(i + 1, end) if "$$" in lines[k]), end)
            i = j + 1
            continue
        begin = _BEGIN_RE.match(line)
        if begin:  # amsmath environment
            end_env = f"\\end{{{begin.group('env')}}}"
            i = next((k for k in range(i, end) if end_env in lines[k]), end) + 1
            continue
        if not (_LABEL_RE.match(line) or stripped.startswith("%") or stripped.startswith("+++")):
            out[i] = line
        i += 1


def _mask_inline(paragraph: str) -> str:
    """The paragraph with inline code, math, roles' targets, HTML and URLs blanked out."""
    parts, pos = [], 0
    for m in _INLINE_RE.finditer(paragraph):
        parts.append(paragraph[pos:m.start()])
        kept = _blank(m.group(0))
        if m.group("role") and m.group("rname") in TEXT_ROLES:
            body_start = m.start("rbody") - m.start()
            body = m.group("rbody")
            target = re.search(r"<[^<>]*>\s*$", body)
            visible = body[:target.start()] if target else body
            if m.group("rname") != "term" and not target:
                visible = ""  # {ref}`label`: only a target
            kept = kept[:body_start] + visible + kept[body_start + len(visible):]
        elif m.group("url") is not None:
            kept = "]" + _blank(m.group("url"))
        parts.append(kept)
        pos = m.end()
    parts.append(paragraph[pos:])
    return "".join(parts)


def prose_text(markdown: str) -> list[str]:
    """The page's lines with everything that is not prose blanked out (same number of lines)."""
    lines = markdown.splitlines()
    out = [""] * len(lines)
    start = 0
    if lines and lines[0].strip() == "---":  # YAML front matter
        start = next((k for k in range(1, len(lines)) if lines[k].strip() == "---"), len(lines) - 1) + 1
    _mask_blocks(lines, start, len(lines), out)
    text = "\n".join(out)
    text = re.sub(r"<!--.*?-->", lambda m: _blank(m.group(0)), text, flags=re.DOTALL)  # may span paragraphs
    # inline constructs never cross a blank line: mask paragraph by paragraph
    chunks = re.split(r"(\n[ \t]*\n)", text)
    return "".join(c if k % 2 else _mask_inline(c) for k, c in enumerate(chunks)).split("\n")


def _is_year(line: str, m: re.Match, n: Number) -> bool:
    if not (n.is_integer and 1900 <= n.value <= 2099 and len(m.group(0).strip()) == 4):
        return False
    before, after = line[:m.start()], line[m.end():]
    # 2017년; after a name: "Vaswani et al. 2017", "Vaswani (2017)", "Vaswani, 2017" (not "길이 (2048)")
    return bool(re.match(r"\s?년", after) or re.search(r"[A-Za-z.],?\s?\(?$", before))


def _informative(line: str, m: re.Match, n: Number) -> bool:
    """Whether a prose number is checked at all (see the rules in the module's docstring)."""
    after = line[m.end():]
    if re.match(r"\s?[장절]", after):  # 8장, 3.2절: chapter and section numbers
        return False
    if _is_year(line, m, n):
        return False
    if n.is_integer:
        return n.value >= MIN_INTEGER
    return n.exponent_form or n.significant >= MIN_SIGNIFICANT or n.places >= MIN_SIGNIFICANT


def prose_numbers(markdown: str) -> list[Number]:
    """The numbers of the page's prose that are checked, with their 1-based lines."""
    found = []
    for lineno, line in enumerate(prose_text(markdown), start=1):
        for m in NUMBER_RE.finditer(line):
            n = parse_number(m, lineno)
            if n is not None and _informative(line, m, n):
                found.append(n)
    return found


# --- notebooks -------------------------------------------------------------------------------------

def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _output_text(out: dict) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return _text(out.get("text", ""))
    if kind == "error":
        return f"{out.get('ename', '')}: {out.get('evalue', '')}"
    data = out.get("data", {})
    has_image = any(m.startswith("image/") for m in data)
    texts = []
    for mime, value in sorted(data.items()):
        if not mime.startswith("text/") or (mime == "text/plain" and has_image):
            continue
        body = _text(value)
        if mime == "text/html":
            body = html.unescape(re.sub(r"<[^>]*>", " ", re.sub(r"(?is)<(script|style).*?</\1>", " ", body)))
        texts.append(body)
    return "\n".join(texts)


def _code_cells(nb: dict) -> list[tuple[int, int | None, dict]]:
    """(number from 1, line after the opening fence, cell) of every code cell (myst-nb's source_map)."""
    source_map = nb.get("metadata", {}).get("source_map") or []
    cells, number = [], 0
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code":
            number += 1
            cells.append((number, source_map[i] + 1 if i < len(source_map) else None, cell))
    return cells


def output_numbers(nb: dict, timing_tag: str = TIMING_TAG) -> list[tuple[int, int | None, Number]]:
    """(cell number, cell line, number) of every number printed by a code cell not tagged ``timing_tag``."""
    found = []
    for number, line, cell in _code_cells(nb):
        if timing_tag in cell.get("metadata", {}).get("tags", []):
            continue
        for out in cell.get("outputs", []):
            found += [(number, line, n) for n in _numbers(_output_text(out))]
    return found


def _strip_comments(source: str) -> str:
    """Python source without its comments (unchanged if it does not tokenize, e.g. a cell magic)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    lines = source.splitlines(keepends=True)
    for tok in reversed(tokens):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            lines[row - 1] = lines[row - 1][:col] + lines[row - 1][tok.end[1]:]
    return "".join(lines)


def code_numbers(nb: dict) -> set[Decimal]:
    """Values of the numbers written in the code cells' sources, comments left out (inputs, not results)."""
    values = set()
    for _, _, cell in _code_cells(nb):
        values |= {n.value for n in _numbers(_strip_comments(_text(cell.get("source", ""))))}
    return values


# --- the check -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """A prose number that a code cell of the same page also prints."""

    page: str  # the page's file, e.g. "docs/02-self-attention.md"
    line: int  # 1-based line of the number in the page
    number: str  # as written in the prose
    cell: int  # 1-based number of the (first) code cell printing it
    cell_line: int | None  # line after that cell's opening fence
    printed: str  # as the cell prints it
    how: str  # "exact" or "rounded"

    def __str__(self) -> str:
        where = [f"line {self.cell_line}"] if self.cell_line is not None else []
        if self.how != "exact" or self.printed != self.number:
            where.append(f"as {self.printed}")
        return (f"{self.page}:{self.line}: number {self.number} also printed by cell {self.cell}"
                + (f" ({', '.join(where)})" if where else ""))


def check_page(
    markdown: str, nb: dict, page: str = "page", allowed: set[Decimal] | frozenset = frozenset(),
    timing_tag: str = TIMING_TAG,
) -> tuple[list[Finding], set[Decimal]]:
    """The findings of one page, and the allowlisted values that were used (to report stale entries).

    ``markdown`` is the page's source, ``nb`` its executed notebook (a dict), ``allowed`` the values
    allowlisted for this page. A prose number matches the first cell printing it exactly, else the first
    printing it rounded.
    """
    printed = output_numbers(nb, timing_tag)
    in_code = code_numbers(nb)
    findings, used = [], set()
    for n in prose_numbers(markdown):
        if n.value in in_code or (n.percent and n.value.scaleb(-2) in in_code):
            continue
        hits = [(how, cell, line, p) for cell, line, p in printed if (how := matches(n, p))]
        if not hits:
            continue
        if n.value in allowed:
            used.add(n.value)
            continue
        how, cell, line, p = min(hits, key=lambda h: h[0] != "exact")  # exact first, then in cell order
        findings.append(Finding(page, n.line, n.text, cell, line, p.text, how))
    return findings, used


def load_allowlist(path: Path | None) -> dict[str, dict[Decimal, str]]:
    """``{page: {value: reason}}`` from a TOML file of ``[[allow]]`` tables (page, number, reason)."""
    if path is None or not Path(path).is_file():
        return {}
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    allow: dict[str, dict[Decimal, str]] = {}
    for k, entry in enumerate(data.get("allow", []), start=1):
        missing = {"page", "number", "reason"} - set(entry)
        if missing:
            msg = f"{path}: entry {k} lacks {', '.join(sorted(missing))}"
            raise ValueError(msg)
        text = str(entry["number"]).replace(",", "").rstrip("%").strip()
        try:
            value = abs(Decimal(text))
        except InvalidOperation:
            msg = f"{path}: entry {k}: {entry['number']!r} is not a number"
            raise ValueError(msg) from None
        allow.setdefault(str(entry["page"]), {})[value] = str(entry["reason"])
    return allow


def check_book(
    docs_dir: Path, exec_dir: Path, allowlist: dict[str, dict[Decimal, str]] | None = None,
    timing_tag: str = TIMING_TAG,
) -> tuple[list[Finding], list[str], dict[str, int]]:
    """Check every page that has an executed notebook: (findings, notes, {page file: count})."""
    docs_dir, exec_dir = Path(docs_dir), Path(exec_dir)
    for d in (docs_dir, exec_dir):
        if not d.is_dir():
            msg = f"{d} is not a directory"
            raise FileNotFoundError(msg)
    allowlist = allowlist or {}
    findings, notes, counts = [], [], {}
    used: dict[str, set[Decimal]] = {}
    docnames = sorted(p.relative_to(exec_dir).with_suffix("").as_posix() for p in exec_dir.rglob("*.ipynb"))
    for docname in docnames:
        md = docs_dir / f"{docname}.md"
        if not md.is_file():
            notes.append(f"{docname}: executed notebook without a page {md}, not checked")
            continue
        markdown = md.read_text(encoding="utf-8")
        nb = json.loads((exec_dir / f"{docname}.ipynb").read_text(encoding="utf-8"))
        n_md = len(re.findall(r"^\s*`{3,}\{code-cell\}", markdown, flags=re.MULTILINE))
        n_nb = len(_code_cells(nb))
        if n_md != n_nb:
            notes.append(f"{docname}: {n_md} code cells in the page, {n_nb} in the notebook (stale build?)")
        page_findings, used[docname] = check_page(
            markdown, nb, str(md), set(allowlist.get(docname, {})), timing_tag
        )
        findings += page_findings
        counts[str(md)] = len(page_findings)
    for page, entries in allowlist.items():
        for value in entries:
            if page in used and value not in used[page]:
                notes.append(f"allowlist entry {page} {value} matched nothing (stale?)")
            elif page not in used:
                notes.append(f"allowlist entry {page} {value}: no such executed page")
    return findings, notes, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("docs", type=Path, help="folder of the pages (docs)")
    parser.add_argument("jupyter_execute", type=Path, help="executed notebooks (docs/_build/jupyter_execute)")
    parser.add_argument("--allowlist", type=Path, default=DEFAULT_ALLOWLIST,
                        help=f"TOML file of allowed numbers (default: {DEFAULT_ALLOWLIST.name} next to this script)")
    parser.add_argument("--timing-tag", default=TIMING_TAG, help="outputs of cells with this tag are ignored")
    args = parser.parse_args(argv)
    try:
        findings, notes, counts = check_book(args.docs, args.jupyter_execute, load_allowlist(args.allowlist),
                                             args.timing_tag)
    except FileNotFoundError as exc:
        print(f"error: {exc}")
        return 2
    for note in notes:
        print(f"note: {note}")
    for f in findings:
        print(f)
    print(f"numbers in the prose also printed by the page's cells, per page ({len(counts)} pages checked):")
    for page, count in counts.items():
        print(f"  {page}: {count}")
    if findings:
        print(f"{len(findings)} number(s) typed by hand: insert them with {{glue:text}}, or allowlist a "
              f"constant of the text in {args.allowlist}")
        return 1
    print("no number of the prose is also printed by a cell")
    return 0


if __name__ == "__main__":
    sys.exit(main())
