"""The downloaded notebooks are clean Jupyter: docs/_ext/clean_notebook.py on small MyST sources.

Run by ``nox -s buildcheck``. The whole book's notebooks are checked by ``nox -s notebooks``, which runs
them in a fresh environment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))

from book_site import site_settings
from clean_notebook import CleanError, Resolver, citation_text, clean_notebook, leftover_myst

EXT = Path(__file__).resolve().parents[2] / "docs" / "_ext"


def include(arg: str, options: dict) -> str:
    assert arg == "code/demo.py"
    return "def f(x):\n    return x\n" if options.get("pyobject") == "f" else "print(1)\n"


RESOLVER = Resolver(
    equations={"eq-softmax": 2, "eq-head": 7},
    labels={"mh-cost": ("03-multi-head", "mh-cost", "헤드 수와 비용")},
    titles={"01-attention": "어텐션이란", "03-multi-head": "멀티헤드 셀프 어텐션", "glossary": "용어집"},
    citations={"vaswani2017attention": "Vaswani 외 (2017)", "luong2015effective": "Luong 외 (2015)"},
    include=include,
)
LINKED = Resolver(**{**RESOLVER.__dict__, "site_url": "https://kim.github.io/book/"})


def notebook(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        nb.cells.append(cell if isinstance(cell, dict) else nbformat.v4.new_markdown_cell(cell))
    return nb


def glue_cell(name: str, text: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(f'glue("{name}", {text}, display=False)')
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={"application/papermill.record/text/plain": text},
        metadata={"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}})]
    return cell


def markdown_of(nb, resolver=RESOLVER, install=None) -> list[str]:
    clean = clean_notebook(nb, resolver, "page", install=install)
    assert leftover_myst(clean) == []
    return [c.source for c in clean.cells if c.cell_type == "markdown"]


@pytest.mark.parametrize(("myst", "plain"), [
    ("{term}`어텐션`은 방법입니다.", "어텐션은 방법입니다."),
    ("{term}`가중치 <어텐션 가중치>`를 봅니다.", "가중치를 봅니다."),
    ("식 {eq}`eq-softmax`에서", "식 (2)에서"),
    ("{cite}`vaswani2017attention`과 이 책은", "Vaswani 외 (2017)과 이 책은"),
    ("합칩니다 {cite}`vaswani2017attention`.", "합칩니다 (Vaswani 외, 2017)."),
    ("두 논문 {cite}`vaswani2017attention,luong2015effective`.", "두 논문 (Vaswani 외, 2017; Luong 외, 2015)."),
    ("{ref}`mh-cost`에서", "헤드 수와 비용에서"),
    ("{ref}`비용 <mh-cost>`을 보세요", "비용을 보세요"),
    ("{doc}`03-multi-head`에서", "멀티헤드 셀프 어텐션에서"),
    ("{doc}`3장 </03-multi-head>`", "3장"),
    ("{mod}`attention_ref`와 {func}`~attention_ref.softmax`", "`attention_ref`와 `softmax`"),
    ("코드 `{term}`는 그대로", "코드 `{term}`는 그대로"),  # a code span may show a role's syntax
])
def test_roles_become_what_the_site_shows(myst, plain):
    out = markdown_of(notebook(myst))
    assert out == [plain]


def test_references_link_to_the_hosted_site_when_it_is_known():
    out = markdown_of(notebook("{ref}`mh-cost`과 {doc}`01-attention`"), LINKED)
    assert out == ["[헤드 수와 비용](https://kim.github.io/book/03-multi-head.html#mh-cost)과 "
                   "[어텐션이란](https://kim.github.io/book/01-attention.html)"]


def test_glued_values_are_formatted_as_on_the_page():
    nb = notebook(glue_cell("alpha", "0.8534"), glue_cell("n", "4"),
                  "가중치는 {glue:text}`alpha:.3f`, 즉 {glue:text}`alpha:.0%`이고 {glue:text}`n`개")
    clean = clean_notebook(nb, RESOLVER, "page", install=None)
    assert [c.source for c in clean.cells if c.cell_type == "markdown"] == ["가중치는 0.853, 즉 85%이고 4개"]
    # the glue records are invisible data: dropped from the outputs
    assert all(c.outputs == [] for c in clean.cells if c.cell_type == "code")


def test_labelled_equations_get_their_number_and_targets_go():
    out = markdown_of(notebook("(sec-x)=\n## 제목\n\n$$\nx = 1\n$$ (eq-head)\n\n% a comment\n끝"))
    assert out == ["## 제목\n\n$$\nx = 1\n\\tag{7}\n$$\n\n끝"]


def test_dropdowns_become_details_and_literalinclude_the_code():
    myst = ("**1.** 문제\n\n````{dropdown} 정답\n:open:\n\n```{literalinclude} code/demo.py\n:language: python\n"
            ":pyobject: f\n```\n식 {eq}`eq-softmax`를 보세요.\n````\n\n다음")
    out = markdown_of(notebook(myst))
    assert out == ["**1.** 문제\n\n<details>\n<summary>정답</summary>\n\n```python\ndef f(x):\n    return x\n```\n"
                   "식 (2)를 보세요.\n\n</details>\n\n다음"]


def test_plain_code_blocks_are_left_alone():
    myst = "```python\nx = {term}`a`\n```"
    assert markdown_of(notebook(myst)) == [myst]


def test_toctree_becomes_a_list_of_pages():
    myst = "```{toctree}\n:caption: 차례\n:glob:\n\n0*\n```\n\n```{toctree}\nglossary\n```"
    assert markdown_of(notebook(myst)) == ["**차례**\n\n- 어텐션이란\n- 멀티헤드 셀프 어텐션\n\n- 용어집"]


def test_toctree_glob_matches_as_sphinx_does():
    """``*`` stays inside a folder (Sphinx's toctree glob): ``0*`` is not ``0x/notes``."""
    nested = Resolver(**{**RESOLVER.__dict__, "titles": {**RESOLVER.titles, "0x/notes": "노트"}})
    myst = "```{toctree}\n:glob:\n\n0*\n```"
    assert markdown_of(notebook(myst), nested) == ["- 어텐션이란\n- 멀티헤드 셀프 어텐션"]


def test_figures_get_their_caption_and_hidden_cells_stay_folded():
    cell = nbformat.v4.new_code_cell("plt.show()")
    cell.metadata = {"tags": ["hide-input"], "mystnb": {"figure": {"caption": "{term}`어텐션` 그림", "name": "fig"}}}
    check = nbformat.v4.new_code_cell("assert True")
    check.metadata = {"tags": ["remove-cell"]}
    clean = clean_notebook(notebook(cell, check), RESOLVER, "page", install=None)
    assert [c.cell_type for c in clean.cells] == ["code", "markdown", "code"]
    assert clean.cells[1].source == "*그림: 어텐션 그림*"
    assert clean.cells[0].metadata["jupyter"] == {"source_hidden": True}
    assert clean.cells[2].metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}


def test_the_install_cell_comes_first_and_fetches_the_wheel():
    nb = notebook("# 제목", nbformat.v4.new_code_cell("import attention_ref"))
    clean = clean_notebook(nb, RESOLVER, "page", install=("https://kim.github.io/book/", "wheels/a-0.1-py3-none-any.whl"))
    assert [c.cell_type for c in clean.cells] == ["markdown", "code", "code"]
    install = clean.cells[1]
    assert install.metadata["tags"] == ["install"]
    assert 'find_spec("attention_ref") is None' in install.source
    assert "'https://kim.github.io/book/'" in install.source
    assert '%pip install -q "attention-ref[book] @ {book_site}wheels/a-0.1-py3-none-any.whl"' in install.source
    nbformat.validate(clean)
    assert clean.metadata["kernelspec"]["name"] == "python3"


def test_the_source_notebook_is_not_changed():
    nb = notebook("{term}`어텐션`")
    clean_notebook(nb, RESOLVER, "page", install=None)
    assert nb.cells[0].source == "{term}`어텐션`"


@pytest.mark.parametrize(("myst", "message"), [
    ("{numref}`fig-x`", "the role {numref}"),
    ("```{note}\n주의\n```", "the directive {note}"),
    ("식 {eq}`eq-missing`", "no equation labelled 'eq-missing'"),
    ("{cite}`nobody2020`", "no bibliography entry"),
    ("{ref}`nowhere`", "no section labelled"),
    ("{glue:text}`missing:.2f`", "nothing glued as 'missing'"),
    ("````{dropdown} 정답\n열린 채로", "unclosed"),
])
def test_what_has_no_clean_form_is_an_error(myst, message):
    with pytest.raises(CleanError, match=message.replace("{", r"\{").replace("(", r"\(")):
        clean_notebook(notebook(myst), RESOLVER, "page", install=None)


class _Person:
    def __init__(self, last):
        self.last_names, self.first_names = [last], []


class _Entry:
    def __init__(self, *lasts, year="2017"):
        self.persons = {"author": [_Person(x) for x in lasts]}
        self.fields = {"year": year}


@pytest.mark.parametrize(("entry", "text"), [
    (_Entry("Vaswani", "Shazeer", "Parmar"), "Vaswani 외 (2017)"),
    (_Entry("Ba", "Kiros"), "Ba, Kiros (2017)"),
    (_Entry("Bahdanau"), "Bahdanau (2017)"),
])
def test_citations_read_author_and_year(entry, text):
    assert citation_text(entry) == text


def test_site_settings_refuses_a_malformed_repository():
    with pytest.raises(ValueError, match="owner/name"):
        site_settings({"GITHUB_REPOSITORY": "not a repository"})


def test_interactive_views_keep_their_code_but_not_their_output():
    cell = nbformat.v4.new_code_cell("view(...)")
    cell.metadata = {"tags": ["hide-input", "interactive"]}
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": '<div class="attn-view"></div>'})]
    clean = clean_notebook(notebook(cell), RESOLVER, "page", install=None)
    assert clean.cells[0].source == "view(...)" and clean.cells[0].outputs == []


def test_the_module_imports_without_sphinx():
    """run_notebooks.py reads this module in a reader's environment (nbformat and nbclient, no Sphinx)."""
    code = ("import sys; sys.modules['sphinx'] = None; sys.path.insert(0, sys.argv[1]); "
            "import clean_notebook; print(clean_notebook.INTERACTIVE_TAG)")
    run = subprocess.run([sys.executable, "-c", code, str(EXT)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
