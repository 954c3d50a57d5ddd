"""docs/_ext/parallel_execute.py: the pages missing from the cache run side by side, once each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REAL_CONF = Path(__file__).resolve().parents[2] / "docs" / "conf.py"
CONFTEST = Path(__file__).resolve().parent / "conftest.py"

PAGE = """
# {name}

```{{code-cell}} ipython3
import json, time
start = time.time()
time.sleep(2)
print("{name}", {value} * 2)
with open("{name}.json", "a") as f:  # one line per execution
    f.write(json.dumps([start, time.time()]) + "\\n")
```
"""


def test_the_real_conf_uses_it():
    assert '"parallel_execute"' in REAL_CONF.read_text(encoding="utf-8")
    assert '"parallel_execute"' in CONFTEST.read_text(encoding="utf-8")  # the tiny books load it too


def test_missing_pages_run_at_the_same_time_and_are_read_from_the_cache(tiny_book, monkeypatch):
    monkeypatch.setenv("ATTN_NB_JOBS", "2")  # two kernels at once on any machine
    book = tiny_book()
    for name, value in (("a", 21), ("b", 50)):
        book.page(name, PAGE.format(name=name, value=value))
    book.page("index", "# 목차\n\n```{toctree}\na\nb\n```\n")
    out = book.build()
    runs = [(book.root / "docs" / f"{name}.json").read_text().splitlines() for name in ("a", "b")]
    assert [len(r) for r in runs] == [1, 1], f"each page must run once: {runs}"
    (a0, a1), (b0, b1) = (json.loads(r[0]) for r in runs)
    assert a0 < b1 and b0 < a1, f"the pages ran one after the other: {runs}"
    assert "a 42" in book.html("a") and "b 100" in book.html("b")
    # the notebook myst-nb writes has the outputs, as after a one-by-one execution
    for name, text in (("a", "a 42"), ("b", "b 100")):
        nb = json.loads((out / "jupyter_execute" / f"{name}.ipynb").read_text(encoding="utf-8"))
        (code,) = (cell for cell in nb["cells"] if cell["cell_type"] == "code")
        assert "".join(o["text"] if isinstance(o["text"], str) else "".join(o["text"]) for o in code["outputs"]) \
            == text + "\n", code
    # a second build from the same cache executes nothing
    for name in ("a", "b"):
        (book.root / "docs" / f"{name}.json").unlink()
    book.build(out="out2")
    assert not any((book.root / "docs" / f"{n}.json").exists() for n in ("a", "b"))
    assert out.is_dir()


def test_a_failing_page_still_fails_the_build(tiny_book, monkeypatch):
    monkeypatch.setenv("ATTN_NB_JOBS", "2")
    book = tiny_book()
    book.page("a", PAGE.format(name="a", value=1))
    book.page("b", "# b\n\n```{code-cell} ipython3\nraise ValueError('쪽 b 실패')\n```\n")
    book.page("index", "# 목차\n\n```{toctree}\na\nb\n```\n")
    env = {**os.environ, "PYTHONPATH": str(book.root), "ATTN_NB_CACHE": str(book.root / "cache")}
    run = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-W", "-b", "html", str(book.root / "docs"),
                          str(book.root / "out")], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode != 0
    # myst-nb's own report, as when it executes the page itself (ATTN_NB_JOBS=1)
    assert "b.md: WARNING: Executing notebook failed: CellExecutionError" in run.stderr, run.stderr[-2000:]
