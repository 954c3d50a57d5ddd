"""A tiny book built with the real ``docs/conf.py`` execution settings, to test the build itself.

These tests run Sphinx and a Jupyter kernel, so they live apart from the fast suite: ``nox -s buildcheck``
(or ``pytest tests/docs --confcutdir=tests/docs``) runs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REAL_CONF = REPO / "docs" / "conf.py"

# Extensions of the real conf that change what a page's outputs look like or how they are made: the
# tiny book loads them too when the real conf does (so removing one from docs/conf.py makes its test fail).
OUTPUT_EXTENSIONS = {"stream_merge", "parallel_execute"}

# The tiny book's conf.py runs the real one as if it sat in the tiny book's docs/ folder (so the
# package fingerprint is taken over the tiny book's copy of attention_ref), then keeps only the
# execution settings (nb_*, myst_*) and output extensions, not the theme, search, bibliography...
CONF = """\
import sys
from pathlib import Path

_real = Path({real!r})
sys.path.insert(0, str(_real.parent / "_ext"))  # the real conf imports its own extensions' helpers
_ns = {{"__file__": __file__, "__name__": "conf"}}
exec(compile(_real.read_text(encoding="utf-8"), str(_real), "exec"), _ns)
globals().update({{k: v for k, v in _ns.items() if k.startswith(("nb_", "myst_"))}})
sys.path.insert(0, str(_real.parent / "_ext"))
extensions = ["myst_nb", *(e for e in _ns["extensions"] if e in {output_extensions!r})]
exclude_patterns = ["_build", "out*"]
{extra}
"""

FRONT_MATTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


class TinyBook:
    """A temporary book: a copy of ``attention_ref`` next to a ``docs/`` folder with a few pages."""

    def __init__(self, root: Path, conf_extra: str = ""):
        self.root = root
        shutil.copytree(
            REPO / "attention_ref", root / "attention_ref", ignore=shutil.ignore_patterns("__pycache__")
        )
        (root / "docs").mkdir()
        conf = CONF.format(real=str(REAL_CONF), output_extensions=OUTPUT_EXTENSIONS, extra=conf_extra)
        (root / "docs" / "conf.py").write_text(conf, encoding="utf-8")

    def page(self, name: str, body: str) -> None:
        (self.root / "docs" / f"{name}.md").write_text(FRONT_MATTER + body, encoding="utf-8")

    def build(self, out: str = "out", cache: str = "cache") -> Path:
        """Build the HTML into ``root/out/html`` (notebooks in ``root/out/jupyter_execute``)."""
        env = {
            **os.environ,
            "PYTHONPATH": str(self.root),  # the kernel imports the tiny book's attention_ref
            "ATTN_NB_CACHE": str(self.root / cache),
        }
        cmd = [sys.executable, "-m", "sphinx", "-q", "-n", "-W", "-b", "html",
               str(self.root / "docs"), str(self.root / out / "html")]
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert run.returncode == 0, f"sphinx-build failed:\n{run.stdout}\n{run.stderr}"
        return self.root / out

    def html(self, page: str, out: str = "out") -> str:
        return (self.root / out / "html" / f"{page}.html").read_text(encoding="utf-8")


@pytest.fixture
def tiny_book(tmp_path):
    """Factory: ``tiny_book(conf_extra="")`` makes a fresh :class:`TinyBook` in its own folder."""
    count = 0

    def make(conf_extra: str = "") -> TinyBook:
        nonlocal count
        count += 1
        root = tmp_path / f"book{count}"
        root.mkdir()
        return TinyBook(root, conf_extra)

    return make
