"""No stale numbers: a change to attention_ref re-executes the pages even though their text is unchanged.

The build caches executed pages (jupyter-cache) keyed on their code. ``docs/conf.py`` puts the cache in a
directory named after a hash of the package's source, so a changed package means an empty cache. The
second test removes that hash (a constant instead) and shows the page then keeps its old, wrong number:
the first test is what catches that.
"""

from __future__ import annotations

import re

PROBE = """\
# Probe

```{code-cell} ipython3
from attention_ref import softmax
print("probe:", softmax([0.0, 0.0]).tolist())
```
"""

# Appended to the tiny book's copy of attention_ref/softmax.py: the function now returns other numbers.
CHANGE = """

_original_softmax = softmax


def softmax(x, axis=-1):
    return _original_softmax(x, axis) / 2
"""

# What the conf would do without the fingerprint: one cache directory whatever the package holds.
NO_FINGERPRINT = 'nb_execution_cache_path = str(Path(nb_execution_cache_path).parent / "constant")'


def probe_output(html: str) -> str:
    found = re.findall(r"probe: \[[^\]]*\]", html)
    assert len(found) == 1, found
    return found[0]


def change_softmax(book) -> None:
    with open(book.root / "attention_ref" / "softmax.py", "a", encoding="utf-8") as f:
        f.write(CHANGE)


def test_changing_the_package_changes_the_page(tiny_book):
    book = tiny_book()
    book.page("index", PROBE)
    book.build()
    assert probe_output(book.html("index")) == "probe: [0.5, 0.5]"
    caches_before = sorted(p.name for p in (book.root / "cache").iterdir())

    change_softmax(book)
    book.build()  # same output folder and doctrees: an incremental rebuild, as on a developer's machine
    assert probe_output(book.html("index")) == "probe: [0.25, 0.25]"
    book.build(out="fresh")  # a clean build into a new folder reads the same (new) cache
    assert probe_output(book.html("index", out="fresh")) == "probe: [0.25, 0.25]"
    caches_after = sorted(p.name for p in (book.root / "cache").iterdir())
    assert len(caches_before) == 1 and len(caches_after) == 2  # a new fingerprint, a new cache


def test_without_the_fingerprint_the_page_would_be_stale(tiny_book):
    book = tiny_book(conf_extra=NO_FINGERPRINT)
    book.page("index", PROBE)
    book.build()
    assert probe_output(book.html("index")) == "probe: [0.5, 0.5]"

    change_softmax(book)
    # The package now returns 0.25, yet both builds show 0.5: the incremental one does not even re-read
    # the unchanged page, and the clean one (new output folder) takes the page's outputs from the cache.
    # This is the failure the fingerprint prevents and test_changing_the_package_changes_the_page catches.
    book.build()
    assert probe_output(book.html("index")) == "probe: [0.5, 0.5]"
    book.build(out="fresh")
    assert probe_output(book.html("index", out="fresh")) == "probe: [0.5, 0.5]"
