"""The index side of the Korean search (docs/_ext/korean_search.py), with the real kiwipiepy.

Run by ``nox -s buildcheck``. The query side and the whole site are tested in the browser
(tests/browser/test_search.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[2] / "docs" / "_ext"
sys.path.insert(0, str(EXT))

import korean_search as ks  # noqa: E402

TERMS = ["소프트맥스", "쿼리", "키", "인과 마스크", "멀티헤드 어텐션", "이어 붙이기", "내적", "층 정규화"]


@pytest.fixture(scope="module")
def analyzer():
    ks.ANALYZER.use_terms(TERMS)  # the one SearchKorean.split uses
    return ks.ANALYZER


def units(analyzer, text: str) -> dict[str, tuple[str, tuple[str, ...], str | None]]:
    return {w.text: (w.key, w.units, w.suffix) for w in analyzer.words(text)}


def test_the_glossarys_words_are_taught_as_nouns(analyzer):
    analyzer.kiwi  # noqa: B018  (loads kiwipiepy and teaches it)
    assert {"소프트맥스", "쿼리", "인과", "마스크", "멀티헤드", "어텐션", "내적", "정규화"} <= set(analyzer.nouns)
    assert "키" not in analyzer.nouns  # one syllable: in kiwipiepy's dictionary, too short to teach
    assert not {"이어", "붙이기"} & set(analyzer.nouns)  # a verb form, not a noun
    assert analyzer.nouns["멀티헤드"] == ("멀티", "헤드")  # what kiwipiepy saw in it before


@pytest.mark.parametrize(
    ("text", "word", "key", "suffix"),
    [
        ("소프트맥스의 출력", "소프트맥스의", "소프트맥스", "의"),  # kiwipiepy alone: one noun 소프트맥스의
        ("점수를 소프트맥스로 바꾼다", "소프트맥스로", "소프트맥스", "로"),
        ("소프트맥스도 쓴다", "소프트맥스도", "소프트맥스", "도"),
        ("소프트맥스만 남는다", "소프트맥스만", "소프트맥스", "만"),
        ("쿼리도 키도", "쿼리도", "쿼리", "도"),  # kiwipiepy alone: 쿼리도, a proper noun of its dictionary
        ("인과 마스크를 쓴다", "인과", "인과", None),  # kiwipiepy alone: 인 + the particle 과
        ("쿼리와 키의 내적", "키의", "키", "의"),  # still guessed as one unknown noun, split after
        ("멀티헤드 어텐션의 헤드", "어텐션의", "어텐션", "의"),
        ("사과를 먹었다", "사과를", "사과", "를"),
    ],
)
def test_a_word_is_indexed_under_its_stem(analyzer, text, word, key, suffix):
    got_key, got_units, got_suffix = units(analyzer, text)[word]
    assert (got_key, got_suffix) == (key, suffix)
    assert key in got_units
    split = ks.SearchKorean.split(None, text)  # what goes into Sphinx's index
    assert word in split and key in split


def test_a_taught_noun_keeps_the_morphemes_found_in_it(analyzer):
    assert {"멀티헤드", "멀티", "헤드"} <= set(units(analyzer, "멀티헤드 어텐션")["멀티헤드"][1])


def test_a_guessed_word_is_split_only_into_a_known_noun_and_particles(analyzer):
    for text in ["임베딩", "가중합", "마스킹", "피드포워드", "사과", "코사인"]:
        assert units(analyzer, text)[text][0] == text, text


def test_other_books_words_are_the_names_of_the_line():
    cands = ks.synonym_candidates
    assert cands("레이어 정규화, LayerNorm") == ["레이어 정규화", "LayerNorm"]
    assert cands("룩어헤드 마스크(룩-어헤드 마스크, look-ahead mask), 인과적 마스크") == [
        "룩어헤드 마스크", "룩-어헤드 마스크", "look-ahead mask", "인과적 마스크",
    ]
    # the first sentence only; an item with text after its parenthesis is a remark
    assert cands("밸류, 값 벡터. \"어텐션 값\"은 이것이 아니라 어텐션의 출력이다") == ["밸류", "값 벡터"]
    assert cands('스케일드 닷-프로덕트 어텐션(scaled dot-product attention)의 "스케일드"가 이것이다.') == []
    # what a parenthesis explains is dropped later, by is_name (kiwipiepy finds a particle or an ending)
    assert cands("마스킹(마스크를 씌우는 일)") == ["마스킹", "마스크를 씌우는 일"]


def test_the_query_rule_keeps_the_longest_stem():
    units_, suffixes = {"사", "사이", "쿼", "쿼리", "행렬", "행렬이"}, sorted(["의", "이의", "까지", "리까지", "다"], key=len)
    assert ks.strip_suffix("사이의", units_, suffixes) == "사이"
    assert ks.strip_suffix("쿼리까지", units_, suffixes) == "쿼리"
    assert ks.strip_suffix("사이", units_, suffixes) == "사이"  # a unit stays
    # the stem goes through the exceptions: 행렬이 is a unit only because kiwipiepy kept 행렬이 whole
    assert ks.query_key("행렬이다", units_, suffixes, {"행렬이": "행렬"}) == "행렬"


# --- a tiny site, built twice -------------------------------------------------------------------------

CONF = f"""
import sys
sys.path.insert(0, {str(EXT)!r})
extensions = ["korean_search"]
language = "ko"
root_doc = "index"
"""
GLOSSARY = """용어집
======

.. glossary::

   층 정규화
      토큰 벡터를 평균 0, 분산 1로 맞추는 연산.

      다른 책에서는: 레이어 정규화{more}

   소프트맥스
      점수를 확률로 바꾸는 함수.

      다른 책에서는: 소프트맥스 함수, 가중치(이 책의 말이 아니다)
"""
PAGE = """트랜스포머
==========

각 부분층 뒤에 층 정규화를 둡니다. 점수를 소프트맥스로 바꾸고 가중치를 곱합니다.
"""


def _build(root: Path) -> dict:
    out = root / "out"
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-n", "-W", "-b", "html", str(root / "src"), str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, f"sphinx-build failed:\n{run.stdout}\n{run.stderr}"
    index = (out / "searchindex.js").read_text(encoding="utf-8")
    language = (out / "_static" / "language_data.js").read_text(encoding="utf-8")
    start = language.index("KO_SEARCH_DATA = ") + len("KO_SEARCH_DATA = ")
    data = language[start : language.index(";\n", start)]
    return {"index": json.loads(index[index.index("(") + 1 : index.rindex(")")]), "data": json.loads(data)}


def _pages(index: dict, term: str) -> set[str]:
    files = index["terms"].get(term, [])
    return {index["docnames"][f] for f in ([files] if isinstance(files, int) else files)}


def test_a_tiny_site_indexes_stems_and_follows_the_glossary(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(CONF, encoding="utf-8")
    (src / "index.rst").write_text("책\n==\n\n.. toctree::\n\n   page\n   glossary\n", encoding="utf-8")
    (src / "page.rst").write_text(PAGE, encoding="utf-8")
    (src / "glossary.rst").write_text(GLOSSARY.format(more=""), encoding="utf-8")
    first = _build(tmp_path)
    assert "page" in _pages(first["index"], "소프트맥스")  # 소프트맥스로
    assert first["data"]["aliases"] == {"레이어 정규화": "층 정규화", "소프트맥스 함수": "소프트맥스"}
    assert first["index"]["indexentries"], "the glossary's terms"

    # the glossary changes, the page does not: the new alias is there, the index entries still are
    (src / "glossary.rst").write_text(GLOSSARY.format(more=", 레이어 노멀라이제이션"), encoding="utf-8")
    second = _build(tmp_path)
    assert second["data"]["aliases"]["레이어 노멀라이제이션"] == "층 정규화"
    assert "page" in _pages(second["index"], "소프트맥스")
    assert second["index"]["indexentries"] == first["index"]["indexentries"]

    # nothing changes: the index entries survive an incremental build (Sphinx reloads the index without them)
    third = _build(tmp_path)
    assert third["index"]["indexentries"] == first["index"]["indexentries"]
