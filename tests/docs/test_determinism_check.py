"""The determinism check end to end: two clean builds of a tiny book, one page of which is not seeded.

``nox -s buildcheck`` runs the same comparison (docs/_tools/check_determinism.py) on the real book; this
test shows that it reports an unseeded cell, by page, line and cell number, and nothing else.
"""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import REPO

TOOL = REPO / "docs" / "_tools" / "check_determinism.py"

INDEX = """\
# Tiny book

```{toctree}
:glob:
p*
```

```{code-cell} ipython3
import numpy as np
print(np.random.default_rng(0).normal(size=3).round(6))
```
"""

PAGE = """\
# Page with one unseeded cell

```{code-cell} ipython3
import time
import numpy as np
rng = np.random.default_rng(20240725)
print(rng.normal(size=(2, 3)).round(4), {"b": 2, "a": 1})
```

```{code-cell} ipython3
print(np.random.rand())
```

```{code-cell} ipython3
:tags: [timing]
print(f"{time.perf_counter_ns()} ns")
```
"""
LINE_OF_UNSEEDED_CELL = PAGE.splitlines().index("print(np.random.rand())") + 1 + 10  # + front matter


def compare(book, *args):
    run = subprocess.run(
        [sys.executable, str(TOOL), str(book.root / "a" / "jupyter_execute"),
         str(book.root / "b" / "jupyter_execute"), *args],
        capture_output=True, text=True, check=False,
    )
    return run.returncode, run.stdout


def test_two_clean_builds_differ_exactly_in_the_unseeded_cell(tiny_book):
    book = tiny_book()
    book.page("index", INDEX)
    book.page("page", PAGE)
    book.build(out="a", cache="cache-a")  # two clean builds, each with its own empty cache:
    book.build(out="b", cache="cache-b")  # every cell really runs twice

    status, report = compare(book)
    lines = [line.strip() for line in report.splitlines()]
    assert status == 1, report
    assert lines[0].startswith("1 non-deterministic output(s)"), report
    assert lines[1].startswith(f"page (line {LINE_OF_UNSEEDED_CELL}, code cell 2): output differs"), report
    assert "index" not in report.split("\n", 1)[1]

    # the timing cell differs too, and is reported once its tag no longer exempts it
    status, report = compare(book, "--timing-tag", "no-such-tag")
    assert status == 1
    assert "page (line" in report and "code cell 3)" in report and "code cell 1)" not in report


CHUNKS = """\
# Printed in two chunks

```{code-cell} ipython3
print("concat:", end="", flush=True)  # the kernel sends "concat:" now and the rest later
print(" (3, 12)")
```
"""


def test_printed_chunks_are_shown_as_printed(tiny_book):
    # myst-nb's nb_merge_streams alone shows "concat:" and "(3, 12)" on two lines when the kernel happens
    # to cut the text there; docs/_ext/stream_merge.py (loaded by docs/conf.py) joins chunks exactly
    book = tiny_book()
    book.page("index", CHUNKS)
    book.build()
    stream = r'<div class="output stream[^"]*"><div class="highlight"><pre><span></span>(.*?)</pre>'
    shown = re.findall(stream, book.html("index"), flags=re.S)
    assert shown == ["concat: (3, 12)\n"]
