"""Korean full-text search for the HTML builder, built on the kiwipiepy morphological analyzer.

Sphinx ships no Korean search language: it falls back to English, indexes 사과를 as one word, and a
search for 사과 finds nothing. This extension registers ``SearchKorean`` for ``language = "ko"``.

Index side (Python)
    ``split()`` returns every word as written (``\\w+``, as Sphinx does) plus the units kiwipiepy finds in
    it: content morphemes (nouns, verb and adjective stems, roots, foreign words, numbers, Hanja) and the
    word's *key*, its content part without the trailing particles and endings (가중치를 -> 가중치, 멀티헤드의
    -> 멀티헤드, 먹었다 -> 먹).

Query side (JavaScript, ``korean_search.js``)
    The reader's words are reduced to the same keys. The JS has no analyzer, so the build hands it what
    kiwipiepy saw in this corpus: the set of units, the surface forms of the particle/ending chains it
    tagged (J*, E*, XSV, VCP, ...) after a content part, and the few words whose key that suffix list
    cannot recover (contractions such as 가려진 -> 가리). Nothing is a hand-made list.

Ranking
    Sphinx scores a page 15 when a query word is in one of its titles and 5 when it is only in the text,
    and breaks ties by title. To put *the chapter about the term* first, the build also computes, per
    unit and page: how much of the page title the unit is, whether a section title holds it, how often the
    page uses it compared with the page that uses it most, and whether the page introduces it (first
    chapter in reading order that uses it). ``Scorer.score`` adds that bonus. Glossary index entries keep a
    place just below it.

kiwipiepy is loaded once per build (about 1 s) and each distinct text with Hangul in it is analysed once,
at read time for the statistics (kept in the environment, so incremental builds stay right) and from the
same cache when the index is written; code and English are indexed as written, without the analyzer.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.search import SearchLanguage

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

JS_LOGIC = Path(__file__).with_name("korean_search.js")
WORD_RE = re.compile(r"\w+")
HANGUL_RE = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")

# Morphemes that carry the meaning of a word (kiwipiepy / Sejong tag set).
CONTENT_TAGS = frozenset({"NNG", "NNP", "NR", "NP", "VV", "VA", "XR", "SL", "SH", "SN"})
# Of those, the ones that make a title "about" something (not pronouns, numbers or stray letters).
TOPIC_TAGS = frozenset({"NNG", "NNP", "XR", "VV", "VA", "SH"})
# Particles, endings, copula, auxiliaries and suffixes that follow the content part of a word.
FUNCTION_PREFIXES = ("J", "E", "XSV", "XSA", "VCP", "VCN", "VX")
# glued to the content before them, part of the key: noun suffixes (가중+치, 행렬+들), counters (8+개)
GLUED_TAGS = frozenset({"XSN", "NNB"})

# Weights of the ranking bonus (added to Sphinx's own 15 for a title word, 5 for a text word).
BONUS_PAGE_TITLE = 60.0  # times the share of the page title's topic words that hold the unit
BONUS_SECTION_TITLE = 15.0
BONUS_FREQUENCY = 15.0  # times count on this page / count on the page that uses it most
BONUS_INTRODUCES = 15.0  # the first chapter in reading order that uses it


def _base_tag(tag: str) -> str:
    """``VV-R`` (regular verb) -> ``VV``; kiwipiepy marks (ir)regular conjugation in the tag."""
    return tag.split("-", 1)[0]


def _is_content(tag: str) -> bool:
    return tag in CONTENT_TAGS or tag.startswith("W_")


def _is_function(tag: str) -> bool:
    return tag.startswith(FUNCTION_PREFIXES)


@dataclass(frozen=True)
class Word:
    """One ``\\w+`` word of a text and what kiwipiepy found in it."""

    text: str  # as written, lower-cased
    key: str  # content part (the unit a query for this word should look up)
    units: tuple[str, ...]  # units to index besides the word itself (morphemes and key)
    suffix: str | None  # the particle/ending chain after the key, as written
    topic: bool  # does the word carry a topic (for "how much of the title is this unit")


class _Analyzer:
    """kiwipiepy, loaded on first use, with a cache of analysed texts."""

    def __init__(self) -> None:
        self._kiwi: Any = None
        self._cache: dict[str, tuple[Word, ...]] = {}

    @property
    def kiwi(self) -> Any:
        if self._kiwi is None:
            from kiwipiepy import Kiwi

            self._kiwi = Kiwi()
        return self._kiwi

    def analyse_many(self, texts: Iterable[str]) -> None:
        """Analyse the texts not yet in the cache, in one batch (kiwipiepy only for those with Hangul)."""
        todo = []
        for text in dict.fromkeys(texts):
            if text in self._cache:
                continue
            if HANGUL_RE.search(text):
                todo.append(text)
            else:  # code, numbers, English: the words as written, as Sphinx would index them
                self._cache[text] = _plain_words(text)
        if todo:
            for text, tokens in zip(todo, self.kiwi.tokenize(todo), strict=True):
                self._cache[text] = _words(text, tokens)

    def words(self, text: str) -> tuple[Word, ...]:
        if text not in self._cache:
            self.analyse_many([text])
        return self._cache[text]


ANALYZER = _Analyzer()


def _plain_words(text: str) -> tuple[Word, ...]:
    return tuple(Word(w.lower(), w.lower(), (), None, topic=False) for w in WORD_RE.findall(text))


def _words(text: str, tokens: list[Any]) -> tuple[Word, ...]:
    """Group kiwipiepy tokens by the ``\\w+`` word they start in and derive each word's key."""
    out = []
    spans = [(m.start(), m.end()) for m in WORD_RE.finditer(text)]
    i = 0
    for start, end in spans:
        while i < len(tokens) and tokens[i].start < start:
            i += 1
        group = []
        while i < len(tokens) and tokens[i].start < end:
            group.append(tokens[i])
            i += 1
        out.append(_word(text[start:end], start, group))
    return tuple(out)


def _word(written: str, start: int, tokens: list[Any]) -> Word:
    low = written.lower()
    tags = [_base_tag(t.tag) for t in tokens]
    # content tokens, and noun suffixes / counters glued to a content token just before them
    core: list[int] = []
    for j, tag in enumerate(tags):
        if tokens[j].start + tokens[j].len > start + len(written):
            continue  # a token running past the word ("11.6" is the words 11 and 6)
        glued = core and core[-1] == j - 1 and tokens[j - 1].start + tokens[j - 1].len == tokens[j].start
        if _is_content(tag) or (tag in GLUED_TAGS and glued):
            core.append(j)
    if not core or tokens[core[0]].start != start:
        return Word(low, low, (), None, topic=False)
    first, last = core[0], core[-1]
    end = tokens[last].start + tokens[last].len
    surface = written[: end - start]
    if first == last and tokens[first].form != surface:
        key = tokens[first].form.lower()  # contraction: 가려진 -> 가리, 합니다 -> 하
    else:
        key = surface.lower()
    if key.isdigit():  # Sphinx indexes no bare numbers: keep "0번" whole
        key = low
    morphemes = [tokens[j].form.lower() for j in core if _is_content(tags[j])]
    units = tuple(dict.fromkeys([*morphemes, key]))
    rest = written[end - start :]
    tail = tokens[last + 1 :]
    suffix = None
    functional = all(_is_function(tags[j]) for j in range(last + 1, len(tokens)))
    if rest and tail and tail[0].start >= end and functional:
        suffix = rest.lower()
    return Word(low, key, units, suffix, topic=tags[first] in TOPIC_TAGS)


class SearchKorean(SearchLanguage):
    """Korean: words as written plus the units kiwipiepy finds in them."""

    lang = "ko"
    language_name = "Korean"
    stopwords = frozenset()

    def split(self, input: str) -> list[str]:
        result = []
        for word in ANALYZER.words(input):
            result.append(word.text)
            result.extend(u for u in word.units if u != word.text)
        return result

    @property
    def js_stemmer_code(self) -> str:  # type: ignore[override]
        """Data from this build's corpus, then the stemmer and scorer of ``korean_search.js``."""
        data = search_data(_STATE["app"].env, _STATE["app"].config.root_doc) if "app" in _STATE else {}
        return f"const KO_SEARCH_DATA = {json.dumps(data, ensure_ascii=False, separators=(',', ':'))};\n" + (
            JS_LOGIC.read_text(encoding="utf-8")
        )


_STATE: dict[str, Any] = {}


# --- statistics per page, gathered at read time and kept in the environment -----------------------


def _texts(node: nodes.Node) -> Iterator[tuple[str, str]]:
    """(where, text) for the text Sphinx indexes: where is "title" (page), "section" or "body"."""
    if isinstance(node, nodes.comment | nodes.raw):
        return
    if isinstance(node, nodes.Element) and "no-search" in node.get("classes", ()):
        return
    if isinstance(node, nodes.Text):
        yield "body", node.astext()
        return
    if isinstance(node, nodes.title) and isinstance(node.parent, nodes.section):
        yield "section", node.astext()
        return
    for child in node.children:
        yield from _texts(child)


def collect_stats(app: Sphinx, doctree: nodes.document) -> None:
    """Count the units of one page: in its title, its section titles and its text."""
    if not getattr(app.builder, "search", False):  # only the HTML builders have a search page
        return
    env = app.env
    parts = list(_texts(doctree))
    ANALYZER.analyse_many(text for _, text in parts)
    # the first section title is the page title (one H1 per page)
    first = next((i for i, (where, _) in enumerate(parts) if where == "section"), None)
    page_title = parts[first][1] if first is not None else ""
    title_words = [w for w in ANALYZER.words(page_title) if w.topic]
    stats: dict[str, Any] = {
        # for each topic word of the page title, the units it holds
        "title": [list(w.units) for w in title_words],
        "section": set(),
        "count": Counter(),
        "suffix": Counter(),
        "key": Counter(),
    }
    for i, (where, text) in enumerate(parts):
        for w in ANALYZER.words(text):
            if i == first:
                pass  # counted through "title"
            elif where == "section":
                stats["section"].update(w.units)
            else:
                stats["count"].update(w.units)
            if w.suffix:
                stats["suffix"][w.suffix] += 1
            if w.units:
                stats["key"][w.text, w.key] += 1
    if not hasattr(env, "ko_search"):
        env.ko_search = {}
    env.ko_search[env.docname] = stats


def purge_stats(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "ko_search", {}).pop(docname, None)


def merge_stats(app: Sphinx, env: BuildEnvironment, docnames: Iterable[str], other: BuildEnvironment) -> None:
    if not hasattr(env, "ko_search"):
        env.ko_search = {}
    for docname in docnames:
        if docname in getattr(other, "ko_search", {}):
            env.ko_search[docname] = other.ko_search[docname]


# --- what the query side needs, derived from the statistics ---------------------------------------


def reading_order(env: BuildEnvironment, root: str) -> list[str]:
    """Documents in the order of the table of contents, depth first from the root."""
    seen: list[str] = []

    def visit(doc: str) -> None:
        if doc in seen:
            return
        seen.append(doc)
        for child in env.toctree_includes.get(doc, []):
            visit(child)

    visit(root)
    seen.extend(sorted(d for d in getattr(env, "ko_search", {}) if d not in seen))
    return seen


def strip_suffix(word: str, units: set[str], suffixes: list[str]) -> str:
    """The query side's rule (mirrored in korean_search.js): a unit stays, else drop the longest suffix
    seen in the corpus that leaves a unit, else keep the word."""
    if word in units:
        return word
    for suffix in suffixes:
        if len(suffix) < len(word) and word.endswith(suffix) and word[: -len(suffix)] in units:
            return word[: -len(suffix)]
    return word


def search_data(env: BuildEnvironment, root: str) -> dict[str, Any]:
    stats: dict[str, dict[str, Any]] = getattr(env, "ko_search", {})
    order = [d for d in reading_order(env, root) if d in stats]
    units: set[str] = set()
    suffix_count: Counter[str] = Counter()
    key_count: Counter[tuple[str, str]] = Counter()
    for s in stats.values():
        units.update(s["count"], s["section"], *s["title"])
        suffix_count.update(s["suffix"])
        key_count.update(s["key"])
    suffixes = sorted(suffix_count, key=lambda x: (-len(x), x))

    # words whose key the suffix rule does not recover (most frequent analysis wins)
    best: dict[str, tuple[int, str]] = {}
    for (word, key), n in key_count.items():
        if word not in best or n > best[word][0]:
            best[word] = (n, key)
    exceptions = {
        w: key for w, (_, key) in sorted(best.items()) if strip_suffix(w, units, suffixes) != key
    }

    # ranking bonus for units found on two or more pages
    chapters = [d for d in order if d != root]
    pages: dict[str, list[str]] = {}
    for doc in order:
        s = stats[doc]
        for unit in set(s["count"]) | s["section"] | {u for t in s["title"] for u in t}:
            pages.setdefault(unit, []).append(doc)
    index = {doc: i for i, doc in enumerate(order)}
    weights: dict[str, list[float]] = {}
    for unit, docs in sorted(pages.items()):
        if len(docs) < 2:
            continue
        top = max(stats[d]["count"][unit] for d in docs) or 1
        first = next((d for d in chapters if stats[d]["count"][unit]), None)
        row: list[float] = []
        for doc in docs:
            s = stats[doc]
            share = sum(unit in t for t in s["title"]) / len(s["title"]) if s["title"] else 0.0
            bonus = (
                BONUS_PAGE_TITLE * share
                + BONUS_SECTION_TITLE * (unit in s["section"])
                + BONUS_FREQUENCY * s["count"][unit] / top
                + BONUS_INTRODUCES * (doc == first)
            )
            row += [index[doc], round(bonus, 1)]
        weights[unit] = row
    return {
        "docs": order,
        "units": sorted(units),
        "suffixes": suffixes,
        "exceptions": exceptions,
        "weights": weights,
    }


def remember_app(app: Sphinx) -> None:
    _STATE["app"] = app


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_search_language(SearchKorean)
    app.connect("builder-inited", remember_app)
    app.connect("doctree-read", collect_stats)
    app.connect("env-purge-doc", purge_stats)
    app.connect("env-merge-info", merge_stats)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
