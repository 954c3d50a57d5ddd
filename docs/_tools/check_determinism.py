"""Compare the executed notebooks of two builds of the book: every output must be identical.

myst-nb writes each executed page as a notebook under ``<outdir>/../jupyter_execute``. Two clean builds of
the same sources must give the same outputs in every code cell (text, HTML, figures, errors), except in
cells tagged ``timing`` (the tag a page puts on a cell whose output is a time measurement)::

    python docs/_tools/check_determinism.py docs/_build/jupyter_execute /tmp/other/jupyter_execute

Exit status 0 when the builds agree, 1 with one line per difference (page, line in the page's source,
code cell number) otherwise, 2 if a folder is missing.
``nox -s determinism`` runs a fresh build and this comparison.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

TIMING_TAG = "timing"  # cells with this tag may print different numbers on every build

__all__ = ["TIMING_TAG", "Difference", "compare_builds", "compare_notebooks", "output_texts"]


@dataclass(frozen=True)
class Difference:
    """One disagreement between two builds: which page, which code cell, what differs."""

    page: str  # the page's name in the book (docname), e.g. "02-self-attention"
    cell: int | None  # 1-based number of the code cell in the page; None for the whole page
    line: int | None  # 1-based line in the page's source just after the cell's opening fence, if known
    detail: str

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        where += [f"code cell {self.cell}"] if self.cell is not None else []
        return f"{self.page}{' (' + ', '.join(where) + ')' if where else ''}: {self.detail}"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_texts(cell: dict) -> list[str]:
    """The outputs of a code cell as comparable strings, one per output and MIME type.

    Streams give their text, all chunks of one stream joined in the place of the first, as the page
    shows them (``nb_merge_streams``; the kernel cuts printed text into chunks at random places). Rich
    outputs give one entry per MIME type (``image/png`` is its base64 text, so figures are compared byte
    for byte), errors their name and value. Execution counts, metadata and whether a rich output was
    displayed or was the cell's result are left out: the reader does not see them.
    """
    texts: list[str] = []
    streams: dict[str, int] = {}  # stream name -> index of its entry in texts
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            name = out.get("name", "stream")
            if name in streams:
                texts[streams[name]] += _text(out.get("text", ""))
            else:
                streams[name] = len(texts)
                texts.append(f"[{name}]\n{_text(out.get('text', ''))}")
        elif kind in ("execute_result", "display_data"):
            for mime, value in sorted(out.get("data", {}).items()):
                body = json.dumps(value, sort_keys=True) if isinstance(value, dict) else _text(value)
                texts.append(f"[{mime}]\n{body}")
        elif kind == "error":
            texts.append(f"[error]\n{out.get('ename', '')}: {out.get('evalue', '')}")
    return texts


def _summary(a: list[str], b: list[str]) -> str:
    """A short unified diff of two output lists (images shortened to a hash of their bytes)."""
    def lines(texts):
        rows = []
        for t in texts:
            head, _, body = t.partition("\n")
            if head.startswith("[image/"):
                body = "sha256 " + hashlib.sha256(body.encode()).hexdigest()[:12]
            rows.extend([head, *body.splitlines()])
        return rows

    diff = list(difflib.unified_diff(lines(a), lines(b), "first", "second", n=0, lineterm=""))[2:]
    shown = [d for d in diff if not d.startswith("@@")][:6]
    return "; ".join(s[:120] for s in shown) + (" ..." if len(diff) > len(shown) + 1 else "")


def _code_cells(nb: dict) -> list[tuple[int | None, dict]]:
    """The code cells of a notebook with their lines in the page (``metadata.source_map`` from myst-nb)."""
    source_map = nb.get("metadata", {}).get("source_map") or []
    cells = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code":
            # source_map: 0-based index of the line after each cell's ```{code-cell} fence
            line = source_map[i] + 1 if i < len(source_map) else None
            cells.append((line, cell))
    return cells


def compare_notebooks(
    a: dict, b: dict, page: str, timing_tag: str = TIMING_TAG, *, outputs_only: bool = False
) -> list[Difference]:
    """Differences between the outputs of two executions of the same page (two notebook dicts).

    Code cells are paired in order. A cell tagged ``timing_tag`` (in either notebook) is not compared;
    every other difference is reported, including a changed source (the builds are of different
    sources) and a different number of code cells. With ``outputs_only``, a cell whose source changed
    is compared by its outputs alone: a refactoring (new import paths, a helper instead of a ``print``)
    must leave what the reader sees unchanged.
    """
    cells_a, cells_b = _code_cells(a), _code_cells(b)
    if len(cells_a) != len(cells_b):
        detail = f"{len(cells_a)} code cells in the first build, {len(cells_b)} in the second"
        return [Difference(page, None, None, detail + " (different sources?)")]
    diffs = []
    for number, ((line, ca), (_, cb)) in enumerate(zip(cells_a, cells_b, strict=True), start=1):
        tags = set(ca.get("metadata", {}).get("tags", [])) | set(cb.get("metadata", {}).get("tags", []))
        if timing_tag in tags:
            continue
        if not outputs_only and _text(ca.get("source", "")) != _text(cb.get("source", "")):
            diffs.append(Difference(page, number, line, "the cell's source differs (different sources?)"))
            continue
        ta, tb = output_texts(ca), output_texts(cb)
        if ta != tb:
            diffs.append(Difference(page, number, line, "output differs: " + _summary(ta, tb)))
    return diffs


def compare_builds(
    dir_a: Path, dir_b: Path, timing_tag: str = TIMING_TAG, *, outputs_only: bool = False, skip=()
) -> tuple[list[Difference], list[str]]:
    """Compare every executed notebook of two ``jupyter_execute`` folders.

    Returns the differences and notes. A page executed only by the second build is a difference (the
    first build is stale); a page only in the first is a note (a page deleted since the first build).
    Pages named in ``skip`` are not compared (a note says so); ``outputs_only`` as in
    :func:`compare_notebooks`.
    """
    dir_a, dir_b = Path(dir_a), Path(dir_b)
    for d in (dir_a, dir_b):
        if not d.is_dir():
            msg = f"{d} is not a directory: build the book first (nox -s docs)"
            raise FileNotFoundError(msg)
    pages_a = {p.relative_to(dir_a).with_suffix("").as_posix() for p in dir_a.rglob("*.ipynb")}
    pages_b = {p.relative_to(dir_b).with_suffix("").as_posix() for p in dir_b.rglob("*.ipynb")}
    diffs = [Difference(p, None, None, "executed only by the second build")
             for p in sorted(pages_b - pages_a)]
    notes = [f"{p}: only in the first build (deleted page?), not compared"
             for p in sorted(pages_a - pages_b)]
    notes += [f"{p}: skipped, not compared" for p in sorted(set(skip) & (pages_a | pages_b))]
    pages_a, pages_b = pages_a - set(skip), pages_b - set(skip)
    for page in sorted(pages_a & pages_b):
        nb_a = json.loads((dir_a / f"{page}.ipynb").read_text(encoding="utf-8"))
        nb_b = json.loads((dir_b / f"{page}.ipynb").read_text(encoding="utf-8"))
        diffs += compare_notebooks(nb_a, nb_b, page, timing_tag, outputs_only=outputs_only)
    if not pages_a & pages_b:
        diffs.append(Difference(str(dir_b), None, None, "no executed page in common: nothing compared"))
    return diffs, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path, help="jupyter_execute folder of one build")
    parser.add_argument("second", type=Path, help="jupyter_execute folder of another, clean build")
    parser.add_argument("--timing-tag", default=TIMING_TAG, help="cells with this tag are not compared")
    parser.add_argument("--outputs-only", action="store_true",
                        help="compare the outputs of cells whose source changed too (builds of two versions)")
    parser.add_argument("--skip", action="append", default=[], metavar="PAGE", help="a page not to compare")
    args = parser.parse_args(argv)
    try:
        diffs, notes = compare_builds(args.first, args.second, args.timing_tag,
                                      outputs_only=args.outputs_only, skip=args.skip)
    except FileNotFoundError as exc:
        print(f"error: {exc}")
        return 2
    for note in notes:
        print(f"note: {note}")
    n_pages = len(list(args.second.rglob("*.ipynb"))) - len(set(args.skip))
    if diffs:
        print(f"{len(diffs)} non-deterministic output(s) between {args.first} and {args.second}:")
        for d in diffs:
            print(f"  {d}")
        print("Seed every generator, do not print times or object ids, "
              f"or tag a cell that measures time {args.timing_tag!r}.")
        return 1
    print(f"determinism: {n_pages} executed pages, all outputs identical "
          f"(cells tagged {args.timing_tag!r} not compared)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
