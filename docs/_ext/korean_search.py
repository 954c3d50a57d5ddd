"""Korean full-text search for the HTML builder, built on the kiwipiepy morphological analyzer.

Sphinx ships no Korean search language: it falls back to English, indexes 사과를 as one word, and a
search for 사과 finds nothing. This extension registers ``SearchKorean`` for ``language = "ko"``.

Index side (Python)
    ``split()`` returns every word as written (``\\w+``, as Sphinx does) plus the units kiwipiepy finds in
    it: content morphemes (nouns, verb and adjective stems, roots, foreign words, numbers, Hanja) and the
    word's *key*, its content part without the trailing particles and endings (가중치를 -> 가중치, 멀티헤드의
    -> 멀티헤드, 먹었다 -> 먹).

    The book's own terms are told to kiwipiepy: every Hangul word of a glossary term that kiwipiepy does
    not read as a verb form becomes a user noun. Without that, kiwipiepy guesses at loanwords it does not
    know and keeps the particle (소프트맥스의, 소프트맥스만 and 쿼리도 came out as one noun each, so the page
    was not indexed under 소프트맥스 or 쿼리) or cuts a particle out of a term (인과 -> 인 + 과). A user noun
    still indexes the morphemes kiwipiepy saw in it before (멀티헤드 -> 멀티, 헤드), so nothing is lost.
    What kiwipiepy still guesses as one unknown noun is split when it is a known noun and a particle
    chain (키의 in 쿼리와 키의 내적 -> 키 + 의; kiwipiepy is asked whether 의 follows a plain noun as one).

Query side (JavaScript, ``korean_search.js``)
    The reader's words are reduced to the same keys. The JS has no analyzer, so the build hands it what
    kiwipiepy saw in this corpus: the set of units, the surface forms of the particle/ending chains it
    tagged (J*, E*, XSV, VCP, ...) after a content part, and the words whose key that suffix rule cannot
    recover (contractions such as 가려진 -> 가리, and a term with a particle that kiwipiepy still kept as
    one noun). Nothing is a hand-made list.

    Other books' words for a concept, the glossary's lines "다른 책에서는: 레이어 정규화, LayerNorm",
    become *aliases*: a query holding one (레이어 정규화를, layernorm) is searched as the book's term (층 정규화),
    so it finds the pages that use the term and the glossary. Only names are taken (what a parenthesis
    explains, such as 마스킹(마스크를 씌우는 일), is not), and only those no page outside the glossary uses
    itself: a reader looking for 가중치 or 가중 평균 finds the pages that say so, not 매개변수 or 가중합.

Ranking
    Sphinx scores a page 15 when a query word is in one of its titles and 5 when it is only in the text,
    and breaks ties by title. To put *the chapter about the term* first, the build also computes, per
    unit and page: how much of the page title the unit is, whether a section title holds it, how often the
    page uses it compared with the page that uses it most, and whether the page introduces it (first
    chapter in reading order that uses it). ``Scorer.score`` adds that bonus. Glossary index entries keep a
    place just below it. The page list shows each page once (its best entry).

When it runs
    At read time each page's texts (what Sphinx indexes) and its glossary entries are kept in the
    environment. Once all pages are read (``env-updated``) the glossary's terms configure kiwipiepy (loaded
    then, about 1 s), the pages not analysed before are analysed in one batch, and their statistics are
    kept in the environment, so an incremental build analyses only what changed. When the glossary's
    terms or aliases change, every page is analysed and written again (its index terms depend on them);
    the pages with index entries (the glossary) are written again in every build, as Sphinx 9 reloads
    the previous search index without them. Code and English are indexed as written, without the analyzer.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx import addnodes
from sphinx.search import SearchLanguage

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

JS_LOGIC = Path(__file__).with_name("korean_search.js")
WORD_RE = re.compile(r"\w+")
HANGUL_RE = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
NOUN_RE = re.compile("[\uac00-\ud7a3]{2,}")  # a word to teach kiwipiepy: Hangul syllables only, two or more

# Morphemes that carry the meaning of a word (kiwipiepy / Sejong tag set).
CONTENT_TAGS = frozenset({"NNG", "NNP", "NR", "NP", "VV", "VA", "XR", "SL", "SH", "SN"})
# Of those, the ones that make a title "about" something (not pronouns, numbers or stray letters).
TOPIC_TAGS = frozenset({"NNG", "NNP", "XR", "VV", "VA", "SH"})
# Particles, endings, copula, auxiliaries and suffixes that follow the content part of a word.
FUNCTION_PREFIXES = ("J", "E", "XSV", "XSA", "VCP", "VCN", "VX")
# glued to the content before them, part of the key: noun suffixes (가중+치, 행렬+들), counters (8+개)
GLUED_TAGS = frozenset({"XSN", "NNB"})
# a key ending in one of these is a noun: what follows it is a particle (or 하다, 이다) chain
NOUN_TAGS = frozenset({"NNG", "NNP", "NR", "NP", "SL", "SH", "SN", *GLUED_TAGS})
# a glossary term's word holding one of these is a verb form (이어 붙이기), not a noun to teach kiwipiepy
VERBAL_PREFIXES = ("VV", "VA", "VX", "XSV", "XSA", "VCP", "VCN", "E")
# a name (an alias) holds none of these: 마스크를 씌우는 일 explains, it does not name
NOT_IN_NAMES = (*VERBAL_PREFIXES, "J")

# A glossary entry's paragraph of other books' words for the concept starts with this label.
SYNONYMS_LABEL = "다른 책에서는"
# Part of the fingerprint of what the analysis depends on: bump it when the analysis changes.
ANALYSIS_VERSION = 4

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
    noun: bool = False  # does the key end in a noun (so the suffix is a particle chain: 쿼리+도, 생성+할)


class _Analyzer:
    """kiwipiepy, loaded on first use with the book's terms added as nouns, and a cache of analysed texts."""

    def __init__(self) -> None:
        self._kiwi: Any = None
        self._cache: dict[str, tuple[Word, ...]] = {}
        self.terms: tuple[str, ...] = ()
        # the nouns added to kiwipiepy, each with the content morphemes kiwipiepy saw in it without them
        self.nouns: dict[str, tuple[str, ...]] = {}
        self._splits: dict[str, tuple[str, str] | None] = {}
        self._known: dict[str, bool] = {}
        self._particle: dict[tuple[str, str], bool] = {}

    def use_terms(self, terms: Iterable[str]) -> None:
        """The glossary's terms, taught to kiwipiepy from the next analysis on (a change starts afresh)."""
        terms = tuple(sorted(set(terms)))
        if terms != self.terms:
            self.terms = terms
            self._kiwi = None
            self._cache.clear()
            self.nouns = {}
            self._splits, self._known, self._particle = {}, {}, {}

    @property
    def kiwi(self) -> Any:
        if self._kiwi is None:
            from kiwipiepy import Kiwi

            kiwi = Kiwi()
            self.nouns = user_nouns(self.terms, list(kiwi.tokenize(list(self.terms)))) if self.terms else {}
            for noun in self.nouns:
                kiwi.add_user_word(noun, "NNG")
            self._kiwi = kiwi
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
            analyses = list(self.kiwi.tokenize(todo))
            for text, tokens in zip(todo, analyses, strict=True):
                self._cache[text] = _words(text, tokens, self)

    def words(self, text: str) -> tuple[Word, ...]:
        if text not in self._cache:
            self.analyse_many([text])
        return self._cache[text]

    def tags(self, text: str) -> list[str]:
        """kiwipiepy's tags for a text (not cached)."""
        return [_base_tag(t.tag) for t in self.kiwi.tokenize(text)]

    def split_guess(self, token: Any) -> tuple[str, str] | None:
        """A noun kiwipiepy guessed (it is not in its dictionary) that is a known noun and a particle
        chain: 키의 -> 키 + 의. Taught nouns make kiwipiepy guess less, not never: in 쿼리와 키의 내적 it
        still reads 키의 as one unknown noun."""
        form = token.form
        if _base_tag(token.tag) not in ("NNG", "NNP") or not NOUN_RE.fullmatch(form):
            return None
        if self.kiwi.morpheme(token.id).form:  # a word of its dictionary, or taught
            return None
        if form not in self._splits:
            self._splits[form] = next(
                (
                    (form[:i], form[i:])
                    for i in range(len(form) - 1, 0, -1)
                    if self._known_noun(form[:i]) and self._particles(form[:i], form[i:])
                ),
                None,
            )
        return self._splits[form]

    def _known_noun(self, word: str) -> bool:
        """Taught, or a noun of kiwipiepy's dictionary by itself."""
        if word not in self._known:
            tokens = self.kiwi.tokenize(word)
            self._known[word] = word in self.nouns or (
                len(tokens) == 1
                and tokens[0].form == word
                and _base_tag(tokens[0].tag) in ("NNG", "NNP")
                and bool(self.kiwi.morpheme(tokens[0].id).form)
            )
        return self._known[word]

    def _particles(self, noun: str, rest: str) -> bool:
        """Is ``rest`` a particle chain (with the copula and its endings) after ``noun``? Asked of
        kiwipiepy after a plain noun that ends like ``noun`` (vowel, ㄹ or another consonant: 은/는, 으로/로)."""
        code = ord(noun[-1]) - 0xAC00
        final = code % 28 if 0 <= code < 11172 else -1
        plain = "사과" if final == 0 else "물" if final == 8 else "책"
        if (plain, rest) not in self._particle:
            tokens = self.kiwi.tokenize(plain + rest)
            self._particle[plain, rest] = (
                len(tokens) > 1
                and tokens[0].form == plain
                and tokens[1].start == len(plain)
                and all(_base_tag(t.tag).startswith(("J", "E", "VCP")) for t in tokens[1:])
            )
        return self._particle[plain, rest]


ANALYZER = _Analyzer()


def user_nouns(terms: Iterable[str], analyses: Iterable[list[Any]]) -> dict[str, tuple[str, ...]]:
    """The words of the glossary's terms to add to kiwipiepy as nouns (the Hangul words of two syllables
    or more that it does not read as a verb form), each with the content morphemes kiwipiepy found in it
    by itself when it read it as a compound (멀티헤드 -> 멀티, 헤드; 인과 -> none, it read 인 + the particle 과)."""
    nouns: dict[str, tuple[str, ...]] = {}
    for term, tokens in zip(terms, analyses, strict=True):
        for m in WORD_RE.finditer(term):
            if not NOUN_RE.fullmatch(m.group()):
                continue
            inside = [t for t in tokens if m.start() <= t.start < m.end()]
            tags = [_base_tag(t.tag) for t in inside]
            if any(tag.startswith(VERBAL_PREFIXES) for tag in tags):
                continue
            parts: tuple[str, ...] = ()
            if len(inside) > 1 and all(_is_content(tag) or tag in GLUED_TAGS for tag in tags):
                parts = tuple(t.form.lower() for t, tag in zip(inside, tags, strict=True) if _is_content(tag))
            nouns.setdefault(m.group().lower(), parts)
    return nouns


def _plain_words(text: str) -> tuple[Word, ...]:
    return tuple(Word(w.lower(), w.lower(), (), None, topic=False) for w in WORD_RE.findall(text))


def _words(text: str, tokens: list[Any], analyzer: _Analyzer) -> tuple[Word, ...]:
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
        out.append(_word(text[start:end], start, group, analyzer))
    return tuple(out)


def _word(written: str, start: int, tokens: list[Any], analyzer: _Analyzer) -> Word:
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
    split = analyzer.split_guess(tokens[first]) if first == last else None  # 키의 -> 키 + 의
    if split:
        end = start + len(split[0])
    surface = written[: end - start]

    def form(j: int) -> str:  # the morpheme; as written if kiwipiepy's form has a space (숏컷 -> "숏 컷")
        if any(c.isspace() for c in tokens[j].form):
            return written[tokens[j].start - start : tokens[j].start - start + tokens[j].len].lower()
        return tokens[j].form.lower()

    if split:
        key = split[0].lower()
    elif first == last and form(first) != surface.lower():
        key = form(first)  # contraction: 가려진 -> 가리, 합니다 -> 하
    else:
        key = surface.lower()
    if key.isdigit():  # Sphinx indexes no bare numbers: keep "0번" whole
        key = low
    morphemes = []
    for j in core:
        if _is_content(tags[j]):
            morpheme = key if split else form(j)
            morphemes += [morpheme, *analyzer.nouns.get(morpheme, ())]  # a taught noun keeps its morphemes
    units = tuple(dict.fromkeys([*morphemes, key]))
    rest = written[end - start :]
    tail = tokens[last + 1 :]
    suffix = None
    functional = all(_is_function(tags[j]) for j in range(last + 1, len(tokens)))
    if rest and functional and (split or (tail and tail[0].start >= end)):
        suffix = rest.lower()
    return Word(low, key, units, suffix, topic=tags[first] in TOPIC_TAGS, noun=tags[last] in NOUN_TAGS)


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


# --- what each page holds, kept in the environment at read time -----------------------------------


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


def synonym_candidates(text: str) -> list[str]:
    """The names in a glossary line of other books' words: ``A, B(C, D), E. Remark.`` -> A, B, C, D, E.

    Only the first sentence lists names; an item with text after its parenthesis is a remark (스케일드
    닷-프로덕트 어텐션(...)의 "스케일드"가 이것이다), and what is left is filtered by ``is_name`` later.
    """
    sentence = re.split(r"\.(?=\s|$)", text, maxsplit=1)[0]
    items, depth, begin = [], 0, 0
    for i, char in enumerate(sentence):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            items.append(sentence[begin:i])
            begin = i + 1
    items.append(sentence[begin:])
    names = []
    for item in items:
        m = re.fullmatch(r"\s*([^()]*?)\s*(?:\(([^()]*)\))?\s*", item)
        if m:
            names += [m.group(1), *(m.group(2) or "").split(",")]
    return [name.strip() for name in names if name.strip()]


def glossary_entries(doctree: nodes.Node) -> Iterator[dict[str, list[str]]]:
    """Each glossary entry of a page: its terms and the other books' words listed under it."""
    for glossary in doctree.findall(addnodes.glossary):
        for item in glossary.findall(nodes.definition_list_item):
            terms = [c.astext().strip() for c in item.children if isinstance(c, nodes.term)]
            synonyms = []
            for paragraph in item.findall(nodes.paragraph):
                text = paragraph.astext().strip()
                if text.startswith(SYNONYMS_LABEL):
                    synonyms += synonym_candidates(text[len(SYNONYMS_LABEL) :].lstrip(" :"))
            if terms:
                yield {"terms": terms, "synonyms": synonyms}


def collect_texts(app: Sphinx, doctree: nodes.document) -> None:
    """Keep what the page's index is made of: its texts and its glossary entries (analysed later)."""
    if not getattr(app.builder, "search", False):  # only the HTML builders have a search page
        return
    env = app.env
    if not hasattr(env, "ko_search"):
        env.ko_search = {}
    env.ko_search[env.docname] = {
        "parts": list(_texts(doctree)),
        "glossary": list(glossary_entries(doctree)),
        "index_entries": any(node["entries"] for node in doctree.findall(addnodes.index)),
    }


def purge_texts(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "ko_search", {}).pop(docname, None)


def merge_texts(app: Sphinx, env: BuildEnvironment, docnames: Iterable[str], other: BuildEnvironment) -> None:
    if not hasattr(env, "ko_search"):
        env.ko_search = {}
    for docname in docnames:
        if docname in getattr(other, "ko_search", {}):
            env.ko_search[docname] = other.ko_search[docname]


# --- analysis, once every page is read --------------------------------------------------------------


def page_stats(parts: list[tuple[str, str]], phrases: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Count the units of one page: in its title, its section titles and its text; and which of the
    glossary's other books' words (``phrases``: name -> keys of its words) the page itself uses."""
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
        "noun_suffix": Counter(),
        "key": Counter(),
        "uses": set(),
    }
    by_first_key: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for name, keys in phrases.items():
        if keys:
            by_first_key.setdefault(keys[0], []).append((name, keys))
    for i, (where, text) in enumerate(parts):
        words = ANALYZER.words(text)
        keys = [w.key for w in words]
        for j, w in enumerate(words):
            if i == first:
                pass  # counted through "title"
            elif where == "section":
                stats["section"].update(w.units)
            else:
                stats["count"].update(w.units)
            if w.suffix:
                stats["suffix"][w.suffix] += 1
                if w.noun:
                    stats["noun_suffix"][w.suffix] += 1
            if w.units:
                stats["key"][w.text, w.key] += 1
            for name, phrase in by_first_key.get(w.key, ()):
                if tuple(keys[j : j + len(phrase)]) == phrase:
                    stats["uses"].add(name)
    return stats


def analyse_pages(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """``env-updated``: teach kiwipiepy the glossary's terms, analyse the pages not analysed yet.

    Returns the pages to write (and index) again although they did not change: every page when the
    glossary's terms or other books' words changed (its index terms depend on them), else the pages
    with index entries (the glossary's terms): an incremental build reloads the previous search index
    without them (Sphinx 9's ``IndexBuilder.load`` keeps no ``indexentries``), so they would vanish
    from the search until the page changes.
    """
    if not getattr(app.builder, "search", False):
        return []
    pages: dict[str, dict[str, Any]] = getattr(env, "ko_search", {})
    for doc, page in pages.items():  # Sphinx indexes nothing of a page marked nosearch (the 404 page)
        if (page["parts"] or page["glossary"]) and {"nosearch", "no-search"} & set(env.metadata.get(doc, ())):
            pages[doc] = {"parts": [], "glossary": []}
    glossary = [entry for doc in sorted(pages) for entry in pages[doc]["glossary"]]
    ANALYZER.use_terms(term for entry in glossary for term in entry["terms"])
    fingerprint = json.dumps([ANALYSIS_VERSION, glossary], ensure_ascii=False, sort_keys=True)
    renew = getattr(env, "ko_search_fingerprint", None) != fingerprint
    todo = [doc for doc in sorted(pages) if renew or "stats" not in pages[doc]]
    with_entries = sorted(doc for doc, page in pages.items() if page.get("index_entries"))
    if not todo:
        return with_entries
    synonyms = sorted({name for entry in glossary for name in entry["synonyms"]})
    ANALYZER.analyse_many([*synonyms, *(text for doc in todo for _, text in pages[doc]["parts"])])
    phrases = {name: tuple(w.key for w in ANALYZER.words(name)) for name in synonyms}
    for doc in todo:
        pages[doc]["stats"] = page_stats(pages[doc]["parts"], phrases)
    if not renew:
        return with_entries
    env.ko_search_fingerprint = fingerprint
    env.ko_search_nouns = dict(ANALYZER.nouns) if ANALYZER.terms else {}
    env.ko_search_names = sorted(n for n in synonyms if not any(t.startswith(NOT_IN_NAMES) for t in ANALYZER.tags(n)))
    return sorted(pages)


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
    """The query side's rule (mirrored in korean_search.js): a unit stays, else drop the shortest suffix
    seen in the corpus that leaves a unit (``suffixes`` run shortest first), else keep the word.

    The longest stem wins: 사이의 -> 사이, not 사 + 이의; 쿼리까지 -> 쿼리 even if 리까지 were a suffix."""
    if word in units:
        return word
    for suffix in suffixes:
        if len(suffix) < len(word) and word.endswith(suffix) and word[: -len(suffix)] in units:
            return word[: -len(suffix)]
    return word


def query_key(word: str, units: set[str], suffixes: list[str], exceptions: dict[str, str]) -> str:
    """What the query side (``KoSearch.stem``) looks up for a word the reader typed: its exception, else
    the suffix rule's stem, itself through the exceptions (행렬이다 -> 행렬이 -> 행렬)."""
    if word in exceptions:
        return exceptions[word]
    stem = strip_suffix(word, units, suffixes)
    return exceptions.get(stem, stem)


def search_data(env: BuildEnvironment, root: str) -> dict[str, Any]:
    pages: dict[str, dict[str, Any]] = getattr(env, "ko_search", {})
    stats = {doc: page["stats"] for doc, page in pages.items() if "stats" in page}
    order = [d for d in reading_order(env, root) if d in stats]
    units: set[str] = set()
    suffix_count: Counter[str] = Counter()
    noun_suffixes: set[str] = set()
    key_count: Counter[tuple[str, str]] = Counter()
    for s in stats.values():
        units.update(s["count"], s["section"], *s["title"])
        suffix_count.update(s["suffix"])
        noun_suffixes.update(s["noun_suffix"])
        key_count.update(s["key"])
    suffixes = sorted(suffix_count, key=lambda x: (len(x), x))

    # words whose key the suffix rule does not recover (most frequent analysis wins)
    best: dict[str, tuple[int, str]] = {}
    for (word, key), n in key_count.items():
        if word not in best or n > best[word][0]:
            best[word] = (n, key)
    exceptions: dict[str, str] = {}
    for _ in range(5):  # an exception changes the stem of the words built on it: until none is wrong
        wrong = {w: key for w, (_, key) in best.items() if query_key(w, units, suffixes, exceptions) != key}
        exceptions.update(wrong)
        if not wrong:
            break
    # a taught noun and a particle that kiwipiepy still read as one word somewhere (위치가, 점수라면);
    # not 생성기: 기 never follows a noun in the corpus
    nouns: dict[str, tuple[str, ...]] = getattr(env, "ko_search_nouns", {})
    for word in sorted(units - set(nouns) - set(exceptions)):
        stems = [word[:i] for i in range(len(word) - 1, 0, -1) if word[i:] in noun_suffixes]
        if noun := next((stem for stem in stems if stem in nouns), None):
            exceptions[word] = noun  # the longest noun

    # other books' words -> the book's term
    glossary_docs = {doc for doc, page in pages.items() if page["glossary"]}
    used = set().union(*(s["uses"] for doc, s in stats.items() if doc not in glossary_docs))
    names = set(getattr(env, "ko_search_names", ()))

    def keys(text: str) -> str:
        return " ".join(query_key(w, units, suffixes, exceptions) for w in WORD_RE.findall(text.lower()))

    aliases: dict[str, str | None] = {}
    for doc in sorted(glossary_docs):
        for entry in pages[doc]["glossary"]:
            term = " ".join(WORD_RE.findall(entry["terms"][0].lower()))
            for name in entry["synonyms"]:
                alias = keys(name)
                if name in names and name not in used and alias and alias != keys(term):
                    # the same words for two terms: ambiguous, searched as written
                    aliases[alias] = term if aliases.get(alias, term) == term else None

    # ranking bonus for units found on two or more pages
    chapters = [d for d in order if d != root]
    found: dict[str, list[str]] = {}
    for doc in order:
        s = stats[doc]
        for unit in set(s["count"]) | s["section"] | {u for t in s["title"] for u in t}:
            found.setdefault(unit, []).append(doc)
    index = {doc: i for i, doc in enumerate(order)}
    weights: dict[str, list[float]] = {}
    for unit, docs in sorted(found.items()):
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
        "exceptions": dict(sorted(exceptions.items())),
        "aliases": {alias: term for alias, term in sorted(aliases.items()) if term},
        "weights": weights,
    }


def remember_app(app: Sphinx) -> None:
    _STATE["app"] = app


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_search_language(SearchKorean)
    app.connect("builder-inited", remember_app)
    app.connect("doctree-read", collect_texts)
    app.connect("env-purge-doc", purge_texts)
    app.connect("env-merge-info", merge_texts)
    app.connect("env-updated", analyse_pages)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 3}
