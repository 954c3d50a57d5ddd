"""The check of Korean spacing in the book's prose (docs/_tools/check_spacing.py).

Small pages written here: a particle or copula that starts a word (after plain words, inline code, math,
roles and quotes, also across a line break) and a counter spaced from its numeral are reported; attached
ones, code, display math, directive options and words that only look like particles are not; figure
captions, dropdown answers, glossary definitions and table cells are checked. ``--fix`` removes exactly the
reported spaces. The last tests run the check over the real pages.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest

from .conftest import FRONT_MATTER, REPO

TOOL = REPO / "docs" / "_tools" / "check_spacing.py"
_spec = importlib.util.spec_from_file_location("check_spacing", TOOL)
cs = importlib.util.module_from_spec(_spec)
sys.modules["check_spacing"] = cs  # dataclasses look their module up here
_spec.loader.exec_module(cs)

PAGES = sorted((REPO / "docs").glob("*.md"))


@pytest.fixture(scope="module")
def kiwi():
    """kiwipiepy, loaded once for the module (1-2 s)."""
    return cs.get_kiwi()


def found(kiwi, text: str) -> list[tuple[int, str, str, str]]:
    """(line, kind, morph, context) of each finding in ``text``."""
    return [(f.line, f.kind, f.morph, f.context) for f in cs.find_issues(text, kiwi)]


def morphs(kiwi, text: str) -> list[str]:
    return [f.morph for f in cs.find_issues(text, kiwi)]


# --- particles and the copula ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "morph", "context"), [
    ("패키지의 `softmax` 는 합이 1인 가중치를 냅니다.", "는", "`softmax` 는"),
    ("길이가 $d_k$ 는 쿼리의 길이입니다.", "는", "$d_k$ 는"),
    ("이 책은 {term}`어텐션` 을 손으로 계산합니다.", "을", "{term}`어텐션` 을"),
    ('번역 문장의 "hate" 를 손으로 계산하기', "를", '"hate" 를'),
    ('쿼리 "hate" 의 벡터', "의", '"hate" 의'),
    ("두 행렬 을 곱합니다.", "을", "행렬 을"),  # kiwipiepy alone reads this 을 as a noun
    ("`q` 는 `x` 로 만듭니다.", "는", "`q` 는"),
    ("인코더 출력 `memory` 에서 옵니다.", "에서", "`memory` 에서"),
    ("번역문도 RNN 으로 한 단어씩 씁니다.", "으로", "RNN 으로"),
    ("float64 로 숫자 하나하나까지 대조합니다.", "로", "float64 로"),
    ("{cite}`vaswani2017attention` 는 제목 그대로의 주장을 했습니다.", "는", "{cite}`vaswani2017attention` 는"),
    ("{doc}`glossary` 에 한 가지로 정해 두었습니다.", "에", "{doc}`glossary` 에"),
    ("`this is an example` 과 일본어 예문을 씁니다.", "과", "`this is an example` 과"),
    ("지수 $2i/d$ 이 열 번호와 함께 커집니다.", "이", "$2i/d$ 이"),
    ("점수에 0 을 곱합니다.", "을", "0 을"),
    ("길이 1024 인 점수 타일", "인", "1024 인"),  # 인/NNG for kiwipiepy: a copula form standing alone
    ('"개가 사람을 물었다" 와 "사람이 개를 물었다" 는 다릅니다.', "와", '물었다" 와'),
])
def test_detached_particle(kiwi, text, morph, context):
    (finding,) = [f for f in cs.find_issues(text, kiwi) if f.morph == morph]
    assert finding.kind == "particle"
    assert finding.context == context
    assert finding.message() == f"{context} (detached particle {morph})"


@pytest.mark.parametrize(("text", "morph"), [
    ("디코더 쪽은 길이 64 입니다.", "입니다"),
    ("출력은 `blockwise_attention` 입니다.", "입니다"),
    ("모양은 $(3, 8)$ 이고, 가중치는 행렬입니다.", "이고"),
    ("벡터를 $b_j$ 라고 씁니다.", "라고"),
    ("KV 캐시는 몇 MiB 일까요?", "일까요"),
])
def test_detached_copula(kiwi, text, morph):
    assert morphs(kiwi, text) == [morph]


@pytest.mark.parametrize("text", [
    "패키지의 `softmax`는 합이 1인 가중치를 냅니다.",
    "길이가 $d_k$는 쿼리의 길이입니다. 이 책은 {term}`어텐션`을 손으로 계산합니다.",
    '번역 문장의 "hate"를 손으로, 쿼리 "hate"의 벡터를 봅니다.',
    "디코더 쪽은 길이 64입니다. 출력은 `blockwise_attention`입니다.",
    # words that are not particles
    "이 함수는 그 값 및 과정 이상의 의미를 가집니다.",
    "이 장에서는 가장 큰 값을 이 행렬에 넣습니다.",
    "쿼리, 키, 값 등을 만듭니다. 와서 보면 알 수 있습니다.",
    "{doc}`1장 <01-attention>`에서 본 것처럼 {ref}`1장 <attention>`의 예와 같습니다.",
    "일본어 kono eiga ga kirai의 네 토큰입니다.",
    "결과가 넘칠 만큼 크지 않습니다. 몇 칸 떨어질 만큼 멉니다.",
    "모든 단어에 로짓을 매기고 가리는 인과 마스크를 씁니다.",
    "3 만 토큰이면 가중치만 48 GiB입니다. 그 상자를 N 번 쌓습니다.",
    "양쪽 모두 로그 눈금입니다. 무엇이 와도 같습니다.",
    "kirai의 키와 kono eiga ga kirai",
])
def test_not_detached(kiwi, text):
    assert found(kiwi, text) == []


# --- counters ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "counter"), [
    ("점수 4 개를 넣습니다.", "개"),
    ("3 번째 단어의 벡터", "번째"),
    ("값이 2 배가 됩니다.", "배"),
    ("8 장에서 다룹니다.", "장"),
    ("3 차원 벡터", "차원"),
    ("300 단계 학습합니다.", "단계"),
    ("7 번 이상 잽니다.", "번"),
    ("길이 64 짜리 벡터", "짜리"),
    ("$i$ 번째 단어 벡터를 $a_i$라 합니다.", "번째"),  # math stands for a number
    ("벡터 $L_q$ 개를 쌓습니다.", "개"),
])
def test_spaced_counter(kiwi, text, counter):
    (finding,) = cs.find_issues(text, kiwi)
    assert (finding.kind, finding.morph) == ("counter", counter)
    assert finding.message().endswith(f"(spaced counter {counter})")


@pytest.mark.parametrize("text", [
    "점수 4개, 3번째 단어, 2배, 8장, 3차원, 2쌍, 16개, 300단계, $i$번째, $L$개.",
    "위치 $e_i$ 자리에는 출력이, $(i, j)$ 칸에는 점수가 들어갑니다.",  # 자리, 칸: nouns after math
    "헤드 셋은 왜 쓸모없는가. 단어 세 개짜리 장난감.",
])
def test_not_spaced_counter(kiwi, text):
    assert found(kiwi, text) == []


# --- line joins ----------------------------------------------------------------------------------------


def test_particle_after_a_line_break_is_detached(kiwi):
    text = "일본어 `kono eiga ga kirai`\n를 영어로 옮깁니다. 두 단어\n를 봅니다.\n"
    assert found(kiwi, text) == [
        (2, "particle", "를", "`kono eiga ga kirai`⏎를"),
        (3, "particle", "를", "단어⏎를"),
    ]
    # a blank line ends the paragraph: the next one does not continue the word before it
    assert found(kiwi, "첫 문단의 `softmax`\n\n는 다음 문단입니다.\n") == []


def test_attached_across_a_line_break_is_fine(kiwi):
    assert found(kiwi, "일본어 `kono eiga ga kirai`를\n영어로 옮깁니다.\n") == []


# --- what is prose -------------------------------------------------------------------------------------


NOT_PROSE = FRONT_MATTER + """\
(label-x)=
# 제목

```{code-cell} ipython3
:tags: [remove-cell]

x = 1  # `x` 는 값 을 담는다
```

```python
K = E @ W_K.T  # 키 를 만든다
```

```{literalinclude} ../attention_ref/_core.py
:pyobject: attention
:caption: 함수 를 보인다
```

$$
x 는 y
$$ (eq-x)

$$ a 는 b $$

<!-- `softmax` 는 주석 안 -->

<!--
여러 줄 주석 의
-->

% MyST 주석 은 무시
"""


def test_code_math_options_comments_are_not_prose(kiwi):
    assert found(kiwi, NOT_PROSE) == []
    assert found(kiwi, NOT_PROSE + "\n본문의 `x` 는 셉니다.\n") == [
        (NOT_PROSE.count("\n") + 2, "particle", "는", "`x` 는"),
    ]


def test_front_matter_is_not_prose(kiwi):
    assert found(kiwi, "---\ntitle: 제목 은 무시\n---\n본문입니다.\n") == []


CAPTIONS = """\
```{code-cell} ipython3
---
tags: [hide-input]
mystnb:
  figure:
    caption: 쿼리 "hate" 의 어텐션. 헤드 4 개.
    name: fig-one
---
fig = plt.figure()  # 코드 는 무시
```

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: |
      블록 스칼라 캡션의 첫 줄이고 $L^2$
      에 비례한다.
    name: fig-two
---
x = 1
```
"""


def test_figure_captions_are_checked(kiwi):
    assert found(kiwi, CAPTIONS) == [
        (6, "particle", "의", '"hate" 의'),
        (6, "counter", "개", "4 개."),
        (18, "particle", "에", "$L^2$⏎에"),
    ]


DROPDOWN = """\
**1.** 문제입니다.

````{dropdown} 정답
```python
X = np.stack(vectors)  # 벡터 를 쌓음
```
`loop_scores[i, j]` 는 점수입니다.
````

```{dropdown} 정답
$e^1$ 입니다.
```
"""


def test_dropdown_answers_are_checked_not_their_code(kiwi):
    assert found(kiwi, DROPDOWN) == [
        (7, "particle", "는", "`loop_scores[i, j]` 는"),
        (11, "particle", "입니다", "$e^1$ 입니다."),
    ]


TABLE = """\
| 역할 | 어디서 오는가 | `kono eiga ga kirai` → `I hate this movie` 에서 |
|---|---|---|
| 쿼리 $Q$ | 디코더: 지금까지 쓴 번역문 | `hate` 처럼 영어 쪽 위치 |
| 키 $K$ | 인코더의 출력 | `kono`, `ga`와 `kirai` |
"""


def test_table_cells_are_checked(kiwi):
    assert found(kiwi, TABLE) == [
        (1, "particle", "에서", "`I hate this movie` 에서"),
        (3, "particle", "처럼", "`hate` 처럼"),
    ]


GLOSSARY = """\
```{glossary}
인과 마스크
  causal mask. 위치 $i$의 쿼리가 $i$ 번째까지의 키만 보게 하는
  마스크. 코드: `causal_mask` 를 씁니다.

패딩 마스크
  padding mask. 패딩 위치를 가리는 마스크.
```
"""


def test_glossary_definitions_are_checked(kiwi):
    assert found(kiwi, GLOSSARY) == [
        (3, "counter", "번째", "$i$ 번째까지의"),
        (4, "particle", "를", "`causal_mask` 를"),
    ]


def test_prose_segments_join_lines_and_keep_positions():
    text = "# 제목\n\n첫 줄\n  둘째 줄\n\n- 항목 하나\n- 항목 둘\n"
    segs = cs.prose_segments(text)
    assert [s.text for s in segs] == ["제목", "첫 줄 둘째 줄", "항목 하나", "항목 둘"]
    joined = segs[1]
    assert joined.origin[joined.text.index("둘")] == (3, 2)
    assert joined.origin[joined.text.index(" 둘")] == (3, -1)  # the line break, read as a space


# --- fixing --------------------------------------------------------------------------------------------


def test_fix_removes_only_the_reported_spaces(kiwi):
    text = (
        "패키지의 `softmax` 는 가중치를 냅니다. 점수 4 개,  $d_k$   는 길이.\n"
        "이 함수는 그 값을 쓰고 `kono eiga ga kirai`\n"
        "를 옮깁니다. 마지막 줄의 `x`\n"
        "는\n"
        "끝입니다.\n"
    )
    fixed = cs.fix_text(text, kiwi=kiwi)
    assert fixed == (
        "패키지의 `softmax`는 가중치를 냅니다. 점수 4개,  $d_k$는 길이.\n"
        "이 함수는 그 값을 쓰고 `kono eiga ga kirai`를\n"
        "옮깁니다. 마지막 줄의 `x`는\n"
        "끝입니다.\n"
    )
    assert cs.find_issues(fixed, kiwi) == []


def test_fix_around_emphasis_and_links(kiwi):
    text = "**원문** 을 보고, 가중합 **은** 크고, [용어집](glossary.md) 에 있고\n**다음** 줄입니다.\n"
    assert morphs(kiwi, text) == ["을", "은", "에"]
    assert cs.fix_text(text, kiwi=kiwi) == (
        "**원문**을 보고, 가중합**은** 크고, [용어집](glossary.md)에 있고\n**다음** 줄입니다.\n"
    )


def test_fix_in_captions_and_tables(kiwi):
    fixed = cs.fix_text(CAPTIONS + "\n" + TABLE, kiwi=kiwi)
    assert 'caption: 쿼리 "hate"의 어텐션. 헤드 4개.' in fixed
    assert "      블록 스칼라 캡션의 첫 줄이고 $L^2$에\n      비례한다.\n" in fixed
    assert "`I hate this movie`에서 |" in fixed and "| `hate`처럼 영어 쪽 위치 |" in fixed
    assert "fig = plt.figure()  # 코드 는 무시" in fixed  # code untouched
    assert cs.find_issues(fixed, kiwi) == []


def test_command_line_check_and_fix(kiwi, tmp_path, capsys):
    page = tmp_path / "page.md"
    page.write_bytes((FRONT_MATTER + "`softmax` 는 가중치를\r\n냅니다. 헤드 4 개.\r\n").encode())
    assert cs.main([str(page)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{page}:11: `softmax` 는 (detached particle 는)",
        f"{page}:12: 4 개. (spaced counter 개)",
        "2 findings",
    ]
    assert cs.main(["--fix", str(page)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 fixed, 0 left"
    assert page.read_bytes().endswith("`softmax`는 가중치를\r\n냅니다. 헤드 4개.\r\n".encode())  # CRLF kept
    assert cs.main([str(page)]) == 0
    assert capsys.readouterr().out == "0 findings\n"


def test_runs_as_a_script():
    run = subprocess.run([sys.executable, str(TOOL), "--help"], capture_output=True, text=True, check=False)
    assert run.returncode == 0 and "--fix" in run.stdout


# --- the real pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_real_pages(kiwi, page):
    """Every page parses; a fix changes only whitespace and leaves nothing to report."""
    text = page.read_text(encoding="utf-8")
    assert cs.prose_segments(text) or page.name == "references.md"
    findings = cs.find_issues(text, kiwi)
    lines = text.split("\n")
    for f in findings:
        assert f.context and f.gap, f
        written = re.split(r"[ ⏎]", f.context)[-1]  # the detached word, as written
        assert lines[f.line - 1][f.col:].startswith(written), f
    fixed = cs.fix_text(text, findings)
    assert re.sub(r"\s", "", fixed) == re.sub(r"\s", "", text)
    assert cs.find_issues(fixed, kiwi) == []


def test_real_pages_code_is_not_read(kiwi):
    """A control: the code and math of the real pages, had they been read, hold spaced particles."""
    page = REPO / "docs" / "01-attention.md"
    text = page.read_text(encoding="utf-8")
    assert "kirai 의 키" in text  # a comment in a code cell
    assert not any("kirai 의" in f.context for f in cs.find_issues(text, kiwi))
