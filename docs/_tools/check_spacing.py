"""Check the spacing of particles and counters in the book's Korean prose, with kiwipiepy.

The book's style guide: particles (조사, kiwipiepy tags ``J*``) and the copula (이다, ``VCP``) attach to
the word before them, also after inline code, math, roles and quotes (```softmax``는``, ``$d_k$는``,
``{term}`어텐션`은``, ``"hate"의``); counters attach to the number before them (``4개``, ``3번째``,
``8장``, and ``$i$번째``, ``$L$개`` where inline math stands for the number)::

    python docs/_tools/check_spacing.py docs/*.md          # one line per finding, then a count
    python docs/_tools/check_spacing.py --fix docs/*.md    # remove the offending spaces in place

Exit status: 1 if anything was found (after ``--fix``: if anything is left), 0 otherwise.

What is read: the Markdown prose of a MyST page, paragraph by paragraph as rendered (its lines joined with
a space, so a particle that starts a continuation line is detached too: ``--fix`` moves it to the end of
the line before), plus headings, table cells, list items, dropdown and admonition content (but not the code
blocks inside), glossary terms and definitions, and the ``caption:`` of a code cell's ``mystnb: figure:``
header. Not read: front matter, code blocks and code cells, ``literalinclude`` and other directives,
directive options, display math (``$$ ... $$ (label)``), HTML and ``%`` comments, ``(label)=`` targets.
In the prose, inline code, inline math and roles (``{term}`...```, ``{doc}`1장 <...>```) are read as one
noun, a placeholder that suits the particle after it (값은, 코드는); so are quotes without Hangul.

What is reported, from kiwipiepy's analysis of each paragraph:

- a word whose first morpheme is a particle or the copula and whose other morphemes are particles, endings
  or punctuation (``행렬 에서는``, ``64 입니다.``; not ``로짓을``, which kiwipiepy may start with 로/JKB);
- a word that kiwipiepy reads as a noun, suffix or deformed form but which, spelled like a particle, is one
  once joined to the word before (kiwipiepy reads ``행렬 을`` as 을/NNG, ``행렬을`` as 을/JKO); not after a
  particle or an ending (``무엇이 와도``: 와 = come);
- a word that can only be a particle or copula form (STANDALONE_PARTICLES: 은, 를, 에서, 인, 입니다 ...);
- a counter (COUNTERS) spaced from an Arabic numeral, or (MATH_COUNTERS) from inline math.

The word before must end in a letter, digit, closing quote or bracket (not after ``,`` or ``.``).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "COUNTERS", "MATH_COUNTERS", "STANDALONE_PARTICLES", "Finding", "Segment", "find_issues", "fix_text",
    "get_kiwi", "main", "prose_segments",
]

# Counters (단위 명사) that attach to an Arabic numeral: 4개, 3번째, 2배, 8장, 3차원, 2쌍, 300단계 ...
COUNTERS = frozenset(
    "개 번 번째 배 장 절 차원 쌍 단계 가지 줄 행 열 칸 층 명 회 권 쪽 초 분 시간 바이트 비트 글자 살 점"
    " 에폭 스텝 퍼센트 년 월 짜리 씩 째".split()
)
# Inline math stands for a number too ($i$번째, $L$개, $d_k$차원); after math only these, as 행, 열, 칸, 점 ...
# also name things ("$(i, j)$ 칸" = the cell (i, j)).
MATH_COUNTERS = frozenset("개 번 번째 배 차원 쌍 단계 가지 층 명 회 바이트 비트 글자 에폭 스텝 짜리 씩 째".split())

# Words that are nothing but a particle or a copula form: detached whatever kiwipiepy makes of them
# (it reads "1024 인" as 인/NNG, "1 은" as 은/NNG). Ambiguous ones (이 = this, 가 = go, 와 = come, 도, 만,
# 과, 보다 = more, 일 = work, 만큼 and 대로 after a verb: 넘칠 만큼) are left to kiwipiepy.
STANDALONE_PARTICLES = frozenset(
    "은 는 을 를 의 에 에서 에게 에는 에서는 에도 에만 으로 로 로는 으로는 로도 으로도 로서 으로서 로써 으로써"
    " 부터 까지 처럼 마다 와는 과는 와의 과의 보다는 까지의 부터는"
    " 인 이다 입니다 이고 이며 이므로 이라서 라서 이라고 라고 이라는 라는 이지만 이면 이라 이었다 였다"
    " 이었습니다 였습니다 일까요 입니까".split()
)
# Word-initial particles kiwipiepy may misread when a space separates them from their word: a word starting
# with one of these, analysed as one of SUSPECT_TAGS, is analysed again joined to the word before it.
PARTICLE_START_RE = re.compile(
    r"^(?:은|는|이|가|을|를|의|에|와|과|로|으로|도|만|까지|부터|보다|처럼|마다|인|일|입|라|께|한테|랑|대로|뿐|나|조차|밖에)"
)
SUSPECT_TAGS = frozenset({"NNG", "NNP", "NNB", "NR", "XSN", "XSM", "XSV", "XSA", "XR", "ETM", "ETN", "EC", "EF", "UN"})

HANGUL_RE = re.compile(r"[\uac00-\ud7a3]")
# a placeholder noun for inline code, math, roles and Hangul-less quotes: one ends in a consonant (for
# 은, 을, 이, 과, 으로 after it), one in a vowel (for 는, 를, 가, 와, 로 ...)
PLACEHOLDER_CONSONANT = "값"
PLACEHOLDER_VOWEL = "코드"
CONSONANT_PARTICLE_RE = re.compile(r"\s*[\"'”’」』)\]]*\s*(?:은|을|이|과|으|아)")


@dataclass(frozen=True)
class Finding:
    """One detached particle (``kind="particle"``) or spaced counter (``kind="counter"``)."""

    line: int  # 1-based line of the detached word
    col: int  # 0-based column of the detached word in that line
    context: str  # the word and its left neighbour, as written (a line break shown as ⏎)
    kind: str  # "particle" or "counter"
    morph: str  # the particle, copula or counter (e.g. 는, 이, 개)
    tag: str  # its kiwipiepy tag
    # (line index, col) of each whitespace character to remove; col -1: the line break before that line
    gap: tuple[tuple[int, int], ...]

    def message(self) -> str:
        what = "detached particle" if self.kind == "particle" else "spaced counter"
        return f"{self.context} ({what} {self.morph})"


# ---------------------------------------------------------------------------------------------------------
# Kiwi, loaded once


_KIWI: Any = None


def get_kiwi() -> Any:
    """The kiwipiepy analyser, loaded on first use (about 1-2 s)."""
    global _KIWI
    if _KIWI is None:
        from kiwipiepy import Kiwi

        _KIWI = Kiwi()
    return _KIWI


# ---------------------------------------------------------------------------------------------------------
# Prose: which characters of a page are Markdown text, and how they read when rendered

Piece = tuple[int, int, int]  # (line index, start col, end col) of prose on one line


@dataclass
class Segment:
    """A paragraph (or heading, table cell, caption) as rendered: its pieces joined with a space.

    ``origin[i]`` is the (line, col) of ``text[i]``; a space that joins two lines is ``(next line, -1)``.
    """

    text: str
    origin: list[tuple[int, int]]


FENCE_RE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})[ \t]*(?:\{(?P<name>[\w:.-]+)\})?[ \t]*(?P<arg>.*)$"
)
OPTION_RE = re.compile(r"^[ \t]*:[\w-]+:")  # a directive option line: `:tags: [...]`, `:pyobject: f`
# directives whose content is Markdown prose (their nested code blocks are not)
PROSE_DIRECTIVES = frozenset({
    "dropdown", "admonition", "note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
    "error", "seealso", "topic", "sidebar", "margin", "glossary", "card", "tab-item", "grid-item-card", "figure",
    "epigraph", "todo", "exercise", "solution",
})
TITLE_DIRECTIVES = frozenset({"dropdown", "admonition", "topic", "sidebar", "card", "tab-item", "grid-item-card",
                              "exercise", "solution"})
CELL_DIRECTIVES = frozenset({"code-cell"})  # code, but a figure caption in the YAML header is prose
HEADING_RE = re.compile(r"^[ \t]*#{1,6}[ \t]+")
LIST_RE = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
DEFLIST_RE = re.compile(r"^[ \t]*:[ \t]+")
QUOTE_RE = re.compile(r"^[ \t]*(?:>[ \t]?)+")
TARGET_RE = re.compile(r"^[ \t]*\([^()\s]+\)=[ \t]*$")
DISPLAY_MATH_END_RE = re.compile(r"\$\$[ \t]*(?:\([^()]*\))?[ \t]*$")
TABLE_SEP_RE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
THEMATIC_RE = re.compile(r"^[ \t]*(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
CAPTION_RE = re.compile(r"^(?P<indent>[ \t]*)caption:[ \t]*(?P<value>.*)$")
YAML_KEY_RE = re.compile(r"^[ \t]*[\w-]+:(?:[ \t]|$)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _content(line: str, start: int = 0) -> Piece | None:
    """The stripped part of ``line[start:]`` as a piece (line index filled in by the caller), or None."""
    end = len(line.rstrip())
    while start < end and line[start] in " \t":
        start += 1
    return (0, start, end) if start < end else None


def _table_cells(line: str) -> list[tuple[int, int]]:
    """(start, end) of each cell's text in a table row (``|`` inside inline code or escaped does not split)."""
    cells, start, i, tick = [], 0, 0, 0
    body = line.rstrip()
    lead = _indent(body)
    if body[lead:lead + 1] == "|":
        start = lead + 1
    i = start
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "`":
            run = len(body[i:]) - len(body[i:].lstrip("`"))
            tick = 0 if tick == run else (run if tick == 0 else tick)
            i += run
            continue
        if ch == "|" and not tick:
            cells.append((start, i))
            start = i + 1
        i += 1
    if start < len(body):
        cells.append((start, len(body)))
    out = []
    for a, b in cells:
        while a < b and body[a] in " \t":
            a += 1
        while b > a and body[b - 1] in " \t":
            b -= 1
        if a < b:
            out.append((a, b))
    return out


class _Parser:
    """Line-based reading of a MyST page into paragraphs of prose pieces."""

    def __init__(self, lines: Sequence[str]):
        self.lines = lines
        self.paragraphs: list[list[Piece]] = []
        self.current: list[Piece] = []

    def end_paragraph(self) -> None:
        if self.current:
            self.paragraphs.append(self.current)
        self.current = []

    def add(self, i: int, start: int = 0, new: bool = False) -> None:
        if new:
            self.end_paragraph()
        piece = _content(self.lines[i], start)
        if piece is not None:
            self.current.append((i, piece[1], piece[2]))

    def single(self, i: int, start: int, end: int) -> None:
        self.end_paragraph()
        self.paragraphs.append([(i, start, end)])

    def parse(self) -> list[list[Piece]]:
        lines = self.lines
        start = 0
        if lines and lines[0].strip() == "---":  # YAML front matter
            for j in range(1, len(lines)):
                if lines[j].strip() in ("---", "..."):
                    start = j + 1
                    break
        self.block(start, len(lines), glossary=False)
        self.end_paragraph()
        return self.paragraphs

    def _fence_end(self, i: int, end: int, fence: str) -> int:
        """Index of the line closing the fence opened on line ``i`` (``end`` if it is never closed)."""
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        for j in range(i + 1, end):
            if close.match(self.lines[j]):
                return j
        return end

    def _options_end(self, i: int, end: int) -> int:
        """First line of a directive's content after its options (``:key: value`` lines or a ``---`` block)."""
        lines = self.lines
        if i < end and lines[i].strip() == "---":
            for j in range(i + 1, end):
                if lines[j].strip() == "---":
                    return j + 1
            return end
        while i < end and OPTION_RE.match(lines[i]):
            i += 1
        return i

    def block(self, i: int, end: int, glossary: bool) -> None:
        """Read lines ``i`` to ``end`` (a page, or a prose directive's content) into paragraphs."""
        lines = self.lines
        prev_term = False  # glossary: the previous line was a term
        base = None  # glossary: indentation of the terms
        while i < end:
            line = lines[i]
            stripped = line.strip()
            m = FENCE_RE.match(line)
            if m and not (m.group("fence")[0] == "`" and "`" in m.group("arg")):
                self.end_paragraph()
                prev_term = False
                fence, name = m.group("fence"), (m.group("name") or "").lower()
                close = self._fence_end(i, end, fence)
                body = self._options_end(i + 1, close)
                if name in CELL_DIRECTIVES:
                    self.captions(i + 1, body)
                elif name in PROSE_DIRECTIVES or (fence[0] == ":" and name not in {"math", "code", "code-block"}):
                    if name in TITLE_DIRECTIVES and m.group("arg").strip():
                        self.single(i, m.start("arg"), len(line.rstrip()))
                    self.block(body, close, glossary=name == "glossary")
                    self.end_paragraph()
                i = close + 1
                continue
            if not stripped:
                self.end_paragraph()
                prev_term = False
                i += 1
                continue
            if stripped.startswith("$$"):  # display math, to its closing $$ (maybe with a label)
                self.end_paragraph()
                j = i
                if not DISPLAY_MATH_END_RE.search(stripped[2:]):
                    j = i + 1
                    while j < end and not DISPLAY_MATH_END_RE.search(lines[j]):
                        j += 1
                i = j + 1
                continue
            if stripped.startswith("<!--"):
                self.end_paragraph()
                j = i
                while j < end and "-->" not in lines[j]:
                    j += 1
                i = j + 1
                continue
            if TARGET_RE.match(line) or stripped.startswith("%") or stripped == "+++" or THEMATIC_RE.match(line):
                self.end_paragraph()
                i += 1
                continue
            if glossary:
                ind = _indent(line)
                if base is None:
                    base = ind
                if ind <= base:  # a term
                    self.add(i, new=True)
                    self.end_paragraph()
                    prev_term = True
                else:
                    self.add(i, new=prev_term)
                    prev_term = False
                i += 1
                continue
            if stripped.startswith("|") and "|" in stripped[1:]:
                self.end_paragraph()
                if not TABLE_SEP_RE.match(line):
                    for a, b in _table_cells(line):
                        self.single(i, a, b)
                i += 1
                continue
            q = QUOTE_RE.match(line)
            col = q.end() if q else 0
            h = HEADING_RE.match(line[col:])
            if h:
                body = line.rstrip()
                closing = re.search(r"[ \t]+#+$", body)  # an optional closing sequence: ## Title ##
                self.single(i, col + h.end(), closing.start() if closing else len(body))
                i += 1
                continue
            lm = LIST_RE.match(line[col:]) or DEFLIST_RE.match(line[col:])
            if lm:
                self.add(i, col + lm.end(), new=True)
            else:
                self.add(i, col)
            i += 1

    def captions(self, i: int, end: int) -> None:
        """Figure captions (``caption:`` values) in a directive's YAML header, lines ``i`` to ``end``."""
        lines = self.lines
        if not (i < end and lines[i].strip() == "---"):
            return
        j = i + 1
        while j < end - 1:
            m = CAPTION_RE.match(lines[j])
            if not m:
                j += 1
                continue
            self.end_paragraph()
            key_indent = len(m.group("indent"))
            value = m.group("value").rstrip()
            k = j + 1
            if re.fullmatch(r"[|>][+-]?\d*", value):  # block scalar: the more indented lines after the key
                while k < end - 1 and (not lines[k].strip() or _indent(lines[k]) > key_indent):
                    if lines[k].strip():
                        self.add(k)
                    else:
                        self.end_paragraph()
                    k += 1
            elif value:
                a = m.start("value")
                b = a + len(value)
                if value[0] in "\"'" and len(value) > 1 and value[-1] == value[0]:
                    a, b = a + 1, b - 1
                self.current.append((j, a, b))
                # a plain scalar may continue on more indented lines
                while (k < end - 1 and lines[k].strip() and _indent(lines[k]) > key_indent
                       and not YAML_KEY_RE.match(lines[k])):
                    self.add(k)
                    k += 1
            self.end_paragraph()
            j = k


def prose_segments(text: str) -> list[Segment]:
    """The prose of a MyST page as rendered segments (paragraph lines joined with a space)."""
    lines = text.split("\n")
    segments = []
    for para in _Parser(lines).parse():
        chars: list[str] = []
        origin: list[tuple[int, int]] = []
        for n, (i, a, b) in enumerate(para):
            if n:
                chars.append(" ")
                origin.append((i, -1))
            chars.extend(lines[i][a:b])
            origin.extend((i, c) for c in range(a, b))
        segments.append(Segment("".join(chars), origin))
    return segments


# ---------------------------------------------------------------------------------------------------------
# Inline markup -> what kiwipiepy reads

INLINE_RE = re.compile(
    r"(?P<role>\{[\w:.+-]+\}(?P<rt>`+)(?P<rbody>.+?)(?P=rt))"
    r"|(?P<code>(?P<ct>`+)(?P<cbody>.+?)(?P=ct))"
    r"|(?P<math>(?<![\\$])\$(?!\$)(?:[^$\\]|\\.)+?\$)"
    r"|(?P<link>\[(?P<ltext>[^\]]*)\]\([^()\s]*(?:\([^()]*\))?[^()\s]*\))"
    r"|(?P<comment><!--.*?-->)"
    r"|(?P<auto><https?://[^>\s]+>)"
    r"|(?P<tag></?[A-Za-z][^<>]*>)"
    r"|(?P<quote>\"[^\"]*\"|“[^”]*”|「[^」]*」|『[^』]*』)"
    r"|(?P<emph>\*+|(?<!\w)_{1,3}|_{1,3}(?!\w))"
    r"|(?P<esc>\\[!-/:-@\[-`{-~])"
)


@dataclass
class _Masked:
    """What kiwipiepy reads for a segment: ``text[i]`` stands for ``seg.text[start[i]:end[i]]``."""

    text: str
    start: list[int]
    end: list[int]
    math_ends: set[int]  # index just after each placeholder for inline math (a number: the counter rule)


def _mask(seg: Segment) -> _Masked:
    """The segment's text with markup replaced.

    Inline code, math, roles, autolinks and quotes without Hangul become a placeholder noun; links keep their
    text; emphasis markers and HTML tags go; quotes with Hangul stay as written.
    """
    text = seg.text
    out: list[str] = []
    start: list[int] = []
    end: list[int] = []
    math_ends: set[int] = set()
    pos = 0

    def keep(a: int, b: int) -> None:
        out.extend(text[a:b])
        start.extend(range(a, b))
        end.extend(range(a + 1, b + 1))

    def noun(a: int, b: int) -> None:
        word = PLACEHOLDER_CONSONANT if CONSONANT_PARTICLE_RE.match(text, b) else PLACEHOLDER_VOWEL
        out.extend(word)
        start.extend([a] * len(word))
        end.extend([b] * len(word))

    for m in INLINE_RE.finditer(text):
        keep(pos, m.start())
        pos = m.end()
        kind = m.lastgroup
        if kind in ("role", "code", "math", "auto"):
            noun(m.start(), m.end())
            if kind == "math":
                math_ends.add(len(out))
        elif kind == "link":
            inner = _mask(Segment(m.group("ltext"), []))
            out.extend(inner.text)
            start.extend(m.start("ltext") + w for w in inner.start)
            end.extend(m.start("ltext") + w for w in inner.end)
        elif kind == "quote":
            q = m.group()
            if HANGUL_RE.search(q):
                keep(m.start(), m.end())
            else:
                keep(m.start(), m.start() + 1)
                noun(m.start() + 1, m.end() - 1)
                keep(m.end() - 1, m.end())
        elif kind == "esc":
            keep(m.start() + 1, m.end())
        # comment, tag, emph: dropped
    keep(pos, len(text))
    return _Masked("".join(out), start, end, math_ends)


# ---------------------------------------------------------------------------------------------------------
# Findings

PARTICLE_TAG_RE = re.compile(r"^(?:J|VCP)")
# what may stand before a detached particle: a word character, a closing quote or bracket
LEFT_OK_RE = re.compile(r"[\w\"'”’」』)\]]")


def _is_particle(tag: str) -> bool:
    return bool(PARTICLE_TAG_RE.match(tag))


def _only_particles(tokens: Sequence[Any], n: int, end: int) -> bool:
    """Are the tokens from ``n`` to the word's end particles, copulas, endings or punctuation (not 로짓을)?"""
    for t in tokens[n:]:
        if t.start >= end:
            break
        if not re.match(r"^(?:J|VCP|E|S[FPSEOW])", t.tag):
            return False
    return True


def _word_bounds(s: str, i: int) -> tuple[int, int]:
    """Start and end of the whitespace-separated word of ``s`` that contains index ``i``."""
    a = i
    while a > 0 and not s[a - 1].isspace():
        a -= 1
    b = i
    while b < len(s) and not s[b].isspace():
        b += 1
    return a, b


def _window(masked: str, gap_start: int, word_start: int, words: int = 3) -> tuple[str, int]:
    """A few words either side of a gap, with the gap removed, and the index of the join in it."""
    a = gap_start
    for _ in range(words):
        a = masked.rfind(" ", 0, a - 1) if a > 1 else -1
        if a < 0:
            break
    a = max(a + 1, 0)
    b = word_start
    for _ in range(words):
        nb = masked.find(" ", b + 1)
        if nb < 0:
            b = len(masked)
            break
        b = nb
    return masked[a:gap_start] + masked[word_start:b], gap_start - a


def _first_at(tokens: Sequence[Any], start: int) -> int | None:
    """Index of the first token starting at ``start``."""
    for n, t in enumerate(tokens):
        if t.start == start:
            return n
        if t.start > start:
            return None
    return None


def _particle_name(tokens: Sequence[Any], n: int, text: str, end: int) -> str:
    """The particle as reported: its form, or (a copula, a contracted form) the word as written: 입니다, 이고."""
    t = tokens[n]
    copula = t.tag == "VCP" or any(u.tag.startswith("E") for u in tokens[n:] if u.start < end)  # 값 이고: 이/JKS 고/EC
    if not copula and t.len and t.form == text[t.start:t.end]:
        return t.form
    return re.sub(r"[^\uac00-\ud7a3]+$", "", text[t.start:end]) or t.form


def _segment_findings(kiwi: Any, seg: Segment, m: _Masked, tokens: Sequence[Any]) -> list[Finding]:
    masked = m.text
    findings = []
    for n, t in enumerate(tokens):
        s = t.start
        before = tokens[n - 1] if n else None
        if s == 0 or not masked[s - 1].isspace() or not HANGUL_RE.match(masked[s]):
            continue
        if before is not None and before.start == s:  # not the word's first morpheme (내 = 나 + 의)
            continue
        gap_start = s
        while gap_start > 0 and masked[gap_start - 1].isspace():
            gap_start -= 1
        if gap_start == 0 or not LEFT_OK_RE.match(masked[gap_start - 1]):
            continue
        _, w_end = _word_bounds(masked, s)
        kind = morph = None
        tag = t.tag
        core = re.sub(r"[^\uac00-\ud7a3]+$", "", masked[s:w_end])
        if t.len and _is_particle(t.tag) and _only_particles(tokens, n, w_end):
            kind, morph = "particle", _particle_name(tokens, n, masked, w_end)
        elif t.form in COUNTERS and masked.startswith(t.form, s) and (
            (gap_start in m.math_ends and t.form in MATH_COUNTERS)  # $i$ 번째
            or (before is not None and before.tag == "SN" and before.end == gap_start
                and re.fullmatch(r"\d[\d.,]*", masked[before.start:before.end]))
        ):
            after = tokens[n + 1] if n + 1 < len(tokens) else None
            joined_suffix = after is not None and after.start == t.end and after.form == "째"
            kind, morph = "counter", t.form + (after.form if joined_suffix else "")  # 번째: 번 + 째
        elif (
            (not t.len or t.tag.split("-")[0] in SUSPECT_TAGS or t.form != masked[s:t.end])
            and PARTICLE_START_RE.match(masked[s:w_end])
            # after a particle or an ending a word is rarely a particle: 무엇이 와도 (come), 집에 가서 (go)
            and not (before is not None and re.match(r"^(?:J|E)", before.tag))
        ):
            # kiwipiepy may misread a detached particle (행렬 을 -> 을/NNG): read the word joined to the one before
            window, at = _window(masked, gap_start, s)
            joined = kiwi.tokenize(window)
            j = _first_at(joined, at)
            if j is not None and _is_particle(joined[j].tag) and _only_particles(joined, j, at + w_end - s):
                kind, tag = "particle", joined[j].tag
                morph = _particle_name(joined, j, window, at + w_end - s)
        if kind is None and core in STANDALONE_PARTICLES:
            kind, morph, tag = "particle", core, "J"
        if kind is None:
            continue
        findings.append(_finding(seg, m, gap_start, s, kind, morph, tag))
    return findings


def _finding(seg: Segment, m: _Masked, gap_start: int, s: int, kind: str, morph: str, tag: str) -> Finding:
    raw = seg.text
    left_end = m.end[gap_start - 1]  # just after the left word's last character, in the rendered text
    word = m.start[s]
    gap = tuple(seg.origin[k] for k in range(left_end, word) if raw[k].isspace())
    left, _ = _word_bounds(m.text, gap_start - 1)
    left, _ = _word_bounds(raw, m.start[left])  # a placeholder's source may hold spaces: `this is an example`
    start, end = _word_bounds(raw, word)  # the word as written (with markup before it: **는**)
    context = "".join("⏎" if seg.origin[k][1] < 0 else raw[k] for k in range(left, end))
    line, col = seg.origin[start]
    return Finding(line + 1, col, context, kind, morph, tag, gap)


def find_issues(text: str, kiwi: Any = None) -> list[Finding]:
    """Every detached particle or copula and every spaced counter in the prose of a MyST page."""
    kiwi = kiwi or get_kiwi()
    work = []
    for seg in prose_segments(text):
        m = _mask(seg)
        if HANGUL_RE.search(m.text):
            work.append((seg, m))
    findings: list[Finding] = []
    if not work:
        return findings
    for (seg, m), tokens in zip(work, kiwi.tokenize([m.text for _, m in work]), strict=True):
        findings.extend(_segment_findings(kiwi, seg, m, tokens))
    return sorted(findings, key=lambda f: (f.line, f.col))


# ---------------------------------------------------------------------------------------------------------
# Fixing


def fix_text(text: str, findings: Iterable[Finding] | None = None, kiwi: Any = None) -> str:
    """The page with the whitespace before each finding's word removed (a line break: the word moves up)."""
    if findings is None:
        findings = find_issues(text, kiwi)
    lines = text.split("\n")
    deleted: set[int] = set()
    for f in sorted(findings, key=lambda f: (f.line, f.col), reverse=True):
        i = f.line - 1
        joins = [g for g in f.gap if g[1] < 0]
        if not joins:
            cols = sorted({c for ln, c in f.gap if ln == i}, reverse=True)
            line = lines[i]
            for c in cols:
                line = line[:c] + line[c + 1:]
            lines[i] = line
            continue
        # the word starts line i: move it (up to the next whitespace) to the end of the line before
        p = i - 1
        while p in deleted or not lines[p].strip():
            p -= 1
        line = lines[i]
        end = f.col
        while end < len(line) and not line[end].isspace():
            end += 1
        word, rest = line[f.col:end], line[end:].lstrip(" \t")
        cr = "\r" if lines[p].endswith("\r") else ""  # keep CRLF line ends
        lines[p] = lines[p].rstrip() + word + cr
        if rest.strip():
            lines[i] = line[:f.col] + rest
        else:
            deleted.add(i)
    return "\n".join(line for k, line in enumerate(lines) if k not in deleted)


# ---------------------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    """Check (or ``--fix``) the pages named on the command line; 1 if anything is left to fix."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="MyST pages (docs/*.md)")
    parser.add_argument("--fix", action="store_true", help="remove the offending spaces in place")
    args = parser.parse_args(argv)
    kiwi = get_kiwi()
    total = fixed = 0
    for path in args.paths:
        with path.open(encoding="utf-8", newline="") as fh:  # newline="": --fix keeps the line ends
            text = fh.read()
        findings = find_issues(text, kiwi)
        if args.fix and findings:
            new = fix_text(text, findings)
            with path.open("w", encoding="utf-8", newline="") as fh:
                fh.write(new)
            fixed += len(findings)
            for f in findings:
                print(f"{path}:{f.line}: fixed: {f.message()}")
            findings = find_issues(new, kiwi)
        for f in findings:
            print(f"{path}:{f.line}: {f.message()}")
        total += len(findings)
    if args.fix:
        print(f"{fixed} fixed, {total} left")
    else:
        print(f"{total} finding{'s' if total != 1 else ''}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
