"""Unit tests of the build comparison (docs/_tools/check_determinism.py) on hand-made notebooks.

The end-to-end check (two real builds, one unseeded cell) is tests/docs/test_determinism_check.py.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import check_determinism as cd  # docs/_tools, on the path by pyproject.toml's pytest pythonpath
import pytest


def code(source, *outputs, tags=(), count=1):
    cell = {"cell_type": "code", "source": source, "metadata": {}, "outputs": list(outputs),
            "execution_count": count}
    if tags:
        cell["metadata"]["tags"] = list(tags)
    return cell


def stream(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


def result(**data):
    return {"output_type": "execute_result", "data": data, "metadata": {}, "execution_count": 1}


def notebook(*cells, source_map=None):
    cells = [{"cell_type": "markdown", "source": "# Page", "metadata": {}}, *cells]
    return {"cells": cells, "metadata": {"source_map": source_map or list(range(0, 5 * len(cells), 5))},
            "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture
def nb():
    return notebook(
        code("print(rng.normal())", stream("0.1234\n")),
        code("t0 = time.time(); f(); print(time.time() - t0)", stream("0.00213\n"), tags=["timing"]),
        code("plot()", result(**{"text/plain": "<Figure size 640x480 with 1 Axes>", "image/png": "iVBO"})),
        source_map=[10, 12, 17, 22],
    )


def test_identical_notebooks_agree(nb):
    assert cd.compare_notebooks(nb, copy.deepcopy(nb), "p") == []


def test_a_difference_only_in_a_timing_cell_is_ignored(nb):
    other = copy.deepcopy(nb)
    other["cells"][2]["outputs"][0]["text"] = "0.00391\n"
    assert cd.compare_notebooks(nb, other, "p") == []
    # the tag exempts the cell when either build carries it
    del other["cells"][2]["metadata"]["tags"]
    assert cd.compare_notebooks(nb, other, "p") == []
    assert cd.compare_notebooks(nb, other, "p", timing_tag="benchmark") != []


def test_an_untagged_text_difference_is_reported_with_page_line_and_cell(nb):
    other = copy.deepcopy(nb)
    other["cells"][1]["outputs"][0]["text"] = "0.9876\n"
    (diff,) = cd.compare_notebooks(nb, other, "03-self-attention")
    assert (diff.page, diff.cell, diff.line) == ("03-self-attention", 1, 13)
    assert str(diff).startswith("03-self-attention (line 13, code cell 1): output differs: -0.1234; +0.9876")


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c["outputs"][0]["data"].update({"image/png": "iVBP"}),  # a different figure
        lambda c: c["outputs"][0]["data"].update({"text/plain": "<Figure size 640x480 with 2 Axes>"}),
        lambda c: c["outputs"][0]["data"].update({"text/html": "<b>new</b>"}),  # an extra MIME type
        lambda c: c["outputs"].append(stream("extra\n")),
        lambda c: c["outputs"].clear(),
        lambda c: c["outputs"].__setitem__(0, {"output_type": "error", "ename": "E", "evalue": "x"}),
    ],
    ids=["image", "text-plain", "extra-mime", "extra-output", "no-output", "error"],
)
def test_every_kind_of_output_difference_is_reported(nb, change):
    other = copy.deepcopy(nb)
    change(other["cells"][3])
    (diff,) = cd.compare_notebooks(nb, other, "p")
    assert diff.cell == 3 and diff.detail.startswith("output differs")


def test_printed_text_is_compared_as_shown_whatever_the_chunks(nb):
    chunked = copy.deepcopy(nb)  # the kernel may deliver one print in several chunks
    chunked["cells"][1]["outputs"] = [stream("0.1"), stream("23"), stream("4\n")]
    assert cd.compare_notebooks(nb, chunked, "p") == []
    # myst-nb 1.4's own merge (without docs/_ext/stream_merge.py) puts a newline at each chunk edge
    broken = copy.deepcopy(nb)
    broken["cells"][1]["outputs"] = [stream("0.1\n23\n4\n"), stream("23"), stream("4\n")]
    (diff,) = cd.compare_notebooks(nb, broken, "p")
    assert diff.cell == 1


def test_execution_counts_and_metadata_are_not_outputs(nb):
    other = copy.deepcopy(nb)
    for cell in other["cells"][1:]:
        cell["execution_count"] = 42
        cell["metadata"]["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    other["cells"][3]["outputs"][0]["metadata"] = {"image/png": {"width": 300}}
    assert cd.compare_notebooks(nb, other, "p") == []


def test_different_sources_are_reported_not_compared(nb):
    other = copy.deepcopy(nb)
    other["cells"][1]["source"] = "print(rng.normal() + 1)"
    (diff,) = cd.compare_notebooks(nb, other, "p")
    assert diff.cell == 1 and "source differs" in diff.detail
    other["cells"].append(code("print(1)", stream("1\n")))
    (diff,) = cd.compare_notebooks(nb, other, "p")
    assert diff.cell is None and "3 code cells in the first build, 4 in the second" in diff.detail


def write_build(folder: Path, pages: dict) -> Path:
    for name, nb in pages.items():
        path = folder / f"{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(nb), encoding="utf-8")
    return folder


def test_compare_builds_walks_every_page(tmp_path, nb):
    changed = copy.deepcopy(nb)
    changed["cells"][1]["outputs"][0]["text"] = "0.5\n"
    a = write_build(tmp_path / "a", {"01-intro": nb, "sub/02-masks": nb, "old-page": nb})
    b = write_build(tmp_path / "b", {"01-intro": nb, "sub/02-masks": changed, "new-page": nb})
    diffs, notes = cd.compare_builds(a, b)
    assert [(d.page, d.cell) for d in diffs] == [("new-page", None), ("sub/02-masks", 1)]
    assert notes == ["old-page: only in the first build (deleted page?), not compared"]


def test_main_exit_status_and_report(tmp_path, nb, capsys):
    changed = copy.deepcopy(nb)
    changed["cells"][1]["outputs"][0]["text"] = "0.5\n"
    a = write_build(tmp_path / "a", {"p": nb})
    b = write_build(tmp_path / "b", {"p": nb})
    c = write_build(tmp_path / "c", {"p": changed})
    assert cd.main([str(a), str(b)]) == 0
    assert "1 executed pages, all outputs identical" in capsys.readouterr().out
    assert cd.main([str(a), str(c)]) == 1
    assert "p (line 13, code cell 1): output differs" in capsys.readouterr().out
    assert cd.main([str(a), str(tmp_path / "missing")]) == 2
    assert "missing is not a directory" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cd.main([str(empty), str(empty)]) == 1  # nothing compared is not a pass
