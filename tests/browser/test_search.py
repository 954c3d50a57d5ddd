"""Korean search in the browser: particles don't hide a word, and the chapter about it comes first."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote

import pytest

# query -> the page that must be the first hit (the chapter about the term, or the one introducing it)
EXPECTED_FIRST = {
    "사과": "02-self-attention",
    "사과를": "02-self-attention",
    "어텐션": "01-attention",
    "어텐션을": "01-attention",
    "쿼리": "01-attention",
    "쿼리와": "01-attention",
    "마스크": "04-masked",
    "가중치": "01-attention",
    "행렬": "01-attention",
}
# the word without its particle: a page whose text holds it must be found too
STEM = {"사과를": "사과", "어텐션을": "어텐션", "쿼리와": "쿼리"}
NOT_CONTENT = {"search", "genindex", "py-modindex"}

RESULTS: dict[str, list[str]] = {}


def run_search(visit, query: str) -> list[str]:
    """Use the site's own search page; return the hits in order (page names, sections dropped)."""
    v = visit(f"search.html?q={quote(query)}")
    v.page.wait_for_function(
        "() => { const s = document.querySelector('#search-results .search-summary');"
        " return s && s.innerText.trim().length > 0; }",
        timeout=20_000,
    )
    hrefs = v.page.eval_on_selector_all(
        "#search-results ul.search li > a", "els => els.map(e => e.getAttribute('href'))"
    )
    assert not v.problems(), v.problems()
    return [h.split("#")[0].removesuffix(".html") for h in hrefs]


def article_text(site, doc: str) -> str:
    """The page's own text (its article), without navigation, scripts or tags."""
    page = (site / f"{doc}.html").read_text(encoding="utf-8")
    article = re.search(r"<article\b.*?</article>", page, flags=re.S)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", article.group(0) if article else "", flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.mark.parametrize("query", list(EXPECTED_FIRST))
def test_search_finds_the_chapter_first(visit, site, screenshots, query):
    hits = run_search(visit, query)
    RESULTS[query] = hits
    (screenshots / "search-results.json").write_text(
        json.dumps(RESULTS, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    assert hits, f"{query!r} found nothing"
    expected = EXPECTED_FIRST[query]
    assert hits[0] == expected, f"{query!r}: first hit {hits[0]}, expected {expected}; all hits: {hits}"
    # every page whose text uses the word as written, or its stem as a word of its own, is found
    stem = STEM.get(query, query)
    pages = sorted(p.stem for p in site.glob("*.html") if p.stem not in NOT_CONTENT)
    texts = {doc: article_text(site, doc) for doc in pages}
    users = [d for d in pages if query in texts[d] or re.search(rf"(?<!\w){stem}(?!\w)", texts[d])]
    missing = [d for d in users if d not in hits]
    assert not missing, f"{query!r}: pages using it but not found: {missing}; hits: {hits}"
    # and no page that does not use it
    unrelated = [d for d in dict.fromkeys(hits) if stem not in texts.get(d, "")]
    assert not unrelated, f"{query!r}: hits that never use {stem!r}: {unrelated}"


# the query side alone: what the reader types -> the index term it looks up
STEMS = {
    "사과를": "사과",
    "쿼리와": "쿼리",
    "어텐션을": "어텐션",
    "어텐션에서는": "어텐션",
    "가중치를": "가중치",
    "행렬로": "행렬",
    "먹었다": "먹",
    "마스크": "마스크",
    "사과": "사과",
}


def test_query_words_lose_their_particles(visit):
    v = visit("search.html")
    got = v.page.evaluate("words => words.map(w => KoSearch.stem(w))", list(STEMS))
    assert dict(zip(STEMS, got, strict=True)) == STEMS
