"""The check for numbers typed by hand into a page's prose (docs/_tools/check_numbers.py).

Tiny pages and executed notebooks written here (no Sphinx build): a number printed by a cell and retyped
in the prose is reported, by page, line and cell; glued numbers, math, code, cells tagged ``timing`` and
allowlisted numbers are not. The last test runs the check over the real pages and an existing build.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from .conftest import FRONT_MATTER, REPO

TOOL = REPO / "docs" / "_tools" / "check_numbers.py"
_spec = importlib.util.spec_from_file_location("check_numbers", TOOL)
cn = importlib.util.module_from_spec(_spec)
sys.modules["check_numbers"] = cn  # dataclasses look their module up here
_spec.loader.exec_module(cn)

FRONT_LINES = FRONT_MATTER.count("\n")


def notebook(*cells: tuple[str, str] | tuple[str, str, list[str]], source_map: list[int] | None = None) -> dict:
    """An executed notebook: each cell is (source, printed text[, tags]); a markdown cell before each."""
    nb = nbformat.v4.new_notebook()
    for source, printed, *tags in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell("text"))
        cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags[0]
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
        nb.cells.append(cell)
    if source_map is not None:
        nb.metadata["source_map"] = source_map
    return nb


def book(tmp_path: Path, pages: dict[str, tuple[str, dict]]) -> tuple[Path, Path]:
    """``docs/<page>.md`` and ``exec/<page>.ipynb`` for each page: (markdown body, notebook)."""
    docs, execute = tmp_path / "docs", tmp_path / "exec"
    docs.mkdir()
    execute.mkdir()
    for name, (body, nb) in pages.items():
        (docs / f"{name}.md").write_text(FRONT_MATTER + body, encoding="utf-8")
        (execute / f"{name}.ipynb").write_text(nbformat.writes(nbformat.from_dict(nb)), encoding="utf-8")
    return docs, execute


def run(docs: Path, execute: Path, *args: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, str(TOOL), str(docs), str(execute), *args],
                          capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout


def found(body: str, nb: dict) -> list[str]:
    """The prose numbers of a page body that the notebook's outputs also print, as written."""
    findings, _ = cn.check_page(FRONT_MATTER + body, nb)
    return [f.number for f in findings]


WEIGHTS = notebook(("w = attention()\nprint(w.round(3))", "[0.016 0.115 0.016 0.853]\n"))

RETYPED = """\
# Page

```{code-cell} ipython3
w = attention()
print(w.round(3))
```

가중치의 대부분인 0.853이 kirai로 갑니다.
"""


def test_retyped_number_is_reported_with_page_line_and_cell(tmp_path):
    nb = notebook(("w = attention()\nprint(w.round(3))", "[0.016 0.115 0.016 0.853]\n"), source_map=[0, 3])
    docs, execute = book(tmp_path, {"p1": (RETYPED, nb)})
    code, out = run(docs, execute, "--allowlist", str(tmp_path / "none.toml"))
    line = FRONT_LINES + RETYPED.splitlines().index("가중치의 대부분인 0.853이 kirai로 갑니다.") + 1
    assert code == 1, out
    assert f"{docs / 'p1.md'}:{line}: number 0.853 also printed by cell 1 (line 4)" in out
    assert f"{docs / 'p1.md'}: 1" in out  # the count per page


def test_glued_number_is_not_reported(tmp_path):
    body = RETYPED.replace("0.853", "{glue:text}`w_kirai:.3f`") + "\n반올림하면 {glue}`w_kirai`.\n"
    docs, execute = book(tmp_path, {"p1": (body, WEIGHTS)})
    code, out = run(docs, execute, "--allowlist", str(tmp_path / "none.toml"))
    assert code == 0, out
    assert "no number of the prose" in out


NOT_PROSE = """\
---
substitutions:
  w: 0.853
---
(label-0.853)=
# Page

<!-- 0.853 in a comment -->

인라인 수식 $w = 0.853$ 과 코드 `w = 0.853`, 역할 {eq}`eq-0853` {cite}`paper0853` {doc}`0853`.
[링크](https://example.org/0.853) https://example.org/v0.853 <span data-w="0.853">태그</span>

$$
\\alpha = 0.853
$$ (eq-0853)

\\begin{equation}
0.853
\\end{equation}

```python
print(0.853)
```

````{code-cell} ipython3
:tags: [hide-input]
print(w)  # 0.853
````

```{literalinclude} ../x.py
:lines: 853
```

% 0.853 in a MyST comment
+++ {"w": 0.853}
"""


def test_math_code_comments_roles_and_urls_are_not_prose():
    # the front matter is the page's own here (not conftest's), so check_page gets the body alone
    assert cn.check_page(NOT_PROSE, WEIGHTS)[0] == []
    assert [n.text for n in cn.prose_numbers(NOT_PROSE)] == []


def test_dropdown_answers_captions_and_visible_role_text_are_prose():
    body = """\
````{dropdown} 정답 0.115
가장 큰 가중치는 0.853입니다.
```python
print(0.016)
```
````

```{code-cell} ipython3
---
tags: [hide-input]
mystnb:
  figure:
    caption: |
      가중치의 85%가
      kirai로
    name: fig-w
---
plot(w)
```

{ref}`0.016 이야기 <label-0.115>`, {term}`셀프 어텐션`.
"""
    assert found(body, WEIGHTS) == ["0.115", "0.853", "85%", "0.016"]


def test_timing_cells_are_ignored():
    nb = notebook(("print(t)", "0.853 초\n", ["timing"]), ("print(w)", "[0.115]\n"))
    assert found("한 번에 0.853초, 가중치는 0.115.\n", nb) == ["0.115"]


def test_figure_repr_and_html_tags_are_not_outputs():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure size 860x360>"}),
        nbformat.v4.new_output("display_data", data={"text/html": '<table width="640"><td>0.853</td></table>'}),
    ]
    nb.cells.append(cell)
    assert found("그림은 860 너비, 표는 640, 값은 0.853.\n", nb) == ["0.853"]


@pytest.mark.parametrize(("prose", "printed", "how"), [
    ("0.853", "0.853", "exact"),
    ("0.85", "0.853", "rounded"),  # the prose rounds the output: retyped
    ("0.86", "0.853", None),
    ("0.8530", "0.853", "exact"),
    ("0.853", "0.85", None),  # the prose has more digits than the output
    ("0.245", "0.2449", "rounded"),
    ("0.244", "0.2445", "rounded"),  # half to even
    ("0.245", "0.2445", "rounded"),  # half up
    ("2.9배", "2.93", "rounded"),
    ("85%", "0.853", "rounded"),  # a percentage of a printed fraction
    ("97.2%", "0.972", "exact"),
    ("97.2%", "97.2", "exact"),
    ("24,577", "24577", "exact"),
    ("204", "204", "exact"),
    ("36", "35.8", None),  # an integer of two digits matches only an equal output
    ("628", "628.3", "rounded"),  # three significant digits: a rounded output
    ("1.2e-05", "1.23e-05", "rounded"),
    ("0.853", "-0.853", "exact"),  # the sign is ignored
])
def test_rounding_rule(prose, printed, how):
    (p,), (o,) = cn._numbers(prose), cn._numbers(printed)
    assert cn.matches(p, o) == how


def test_which_prose_numbers_are_checked():
    prose = ("8장과 3.2절, 2017년 논문 Vaswani (2017), Vaswani et al. 2017, 헤드 8개, 길이 20, 0.5배, 1.0, 1e-10, "
             "float32, W_128, d2048, v2.1.0, 1,000개, 0.09, 204쌍, 24,577개, 2.9배, 97.2%, 10^{-12}, 2000번, "
             "2.5 × 10^{-3}, 길이 (2048)\n")
    numbers = cn.prose_numbers(prose)
    assert [n.text for n in numbers] == [
        "1e-10", "1,000", "0.09", "204", "24,577", "2.9", "97.2%", "10^{-12}", "2000", "2.5 × 10^{-3}", "2048",
    ]
    assert [str(n.value) for n in numbers if n.exponent_form] == ["1E-10", "1E-12", "0.0025"]


def test_numbers_written_in_the_code_are_inputs():
    nb = notebook(("pairs = make_pairs(240)  # 36 held out\nprint(len(pairs), len(held))", "240 36\n"))
    assert found("문장 쌍 240개 중 36개를 떼어 둡니다.\n", nb) == ["36"]  # 36 is only in a comment


def test_allowlist(tmp_path):
    body = "네 키에 똑같이 0.115씩, 가장 큰 것은 0.853.\n"
    docs, execute = book(tmp_path, {"p1": (body, WEIGHTS), "p2": (body, WEIGHTS)})
    allow = tmp_path / "allow.toml"
    allow.write_text(
        '[[allow]]\npage = "p1"\nnumber = "0.115"\nreason = "a constant of the text"\n\n'
        '[[allow]]\npage = "p1"\nnumber = "0.5"\nreason = "stale"\n',
        encoding="utf-8",
    )
    code, out = run(docs, execute, "--allowlist", str(allow))
    assert code == 1, out
    reported = [line.split(": number ")[1].split()[0] for line in out.splitlines() if ": number " in line]
    assert reported == ["0.853", "0.115", "0.853"]  # 0.115 allowed on p1 only
    assert "note: allowlist entry p1 0.5 matched nothing" in out
    allow.write_text('[[allow]]\npage = "p1"\nnumber = 0.115\n', encoding="utf-8")
    with pytest.raises(ValueError, match="lacks reason"):
        cn.load_allowlist(allow)


def test_missing_folder_exits_2(tmp_path):
    code, out = run(tmp_path / "nope", tmp_path)
    assert code == 2
    assert "is not a directory" in out
