"""Helpers the book's pages share: timing, memory, the machine's name, tables, and printed checks.

Every page is a notebook executed at build time. What several pages need besides the package lives
here, once: :func:`best_time` and :func:`peak_bytes` measure a call, :func:`cpu_name` names the machine
that measured it, :func:`md_table` shows a Markdown table, and :func:`check` prints a comparison the
way ``print(label, value)`` would and fails the build when the comparison does not hold, so that no
page can show a ``False`` that nobody noticed.

:func:`md_table` needs IPython (the docs environment has it); the rest needs only NumPy and the standard library.
"""

from __future__ import annotations

import platform
import re
import time
import tracemalloc

import numpy as np

from .._validation import check_int, check_real

__all__ = ["best_time", "check", "cpu_name", "glue", "markdown_table", "md_table", "peak_bytes"]


def _check_callable(f, name: str) -> None:
    if not callable(f):
        msg = f"{name} must be callable, got {type(f).__name__}"
        raise TypeError(msg)


def best_time(f, *args, repeat: int = 7, budget: float = 0.05) -> float:
    """The fastest of several runs of ``f(*args)``, in seconds.

    ``f`` runs at least ``repeat`` times, and more until the runs add up to ``budget`` seconds, so that
    a fast call is measured often enough to see past the noise. The minimum is the run least disturbed
    by the rest of the machine.

    Parameters
    ----------
    f : callable
        What to time; its result is discarded.
    *args
        Positional arguments for ``f``.
    repeat : int, optional
        The least number of runs (at least 1).
    budget : float, optional
        The least total time of the runs, in seconds (0 or more).

    Returns
    -------
    float
        The shortest run, from ``time.perf_counter()``.

    Examples
    --------
    >>> from attention_ref.book.pages import best_time
    >>> calls = []
    >>> t = best_time(calls.append, "x", repeat=3, budget=0.0)
    >>> len(calls), t >= 0.0
    (3, True)
    >>> best_time(sum, [1, 2], repeat=0)
    Traceback (most recent call last):
        ...
    ValueError: repeat must be an integer >= 1, got 0
    """
    _check_callable(f, "f")
    repeat = check_int(repeat, "repeat", minimum=1)
    if not check_real(budget, "budget") >= 0:
        msg = f"budget must be 0 or more seconds, got {budget}"
        raise ValueError(msg)
    times: list[float] = []
    while len(times) < repeat or sum(times) < budget:
        start = time.perf_counter()
        f(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def peak_bytes(f, *args) -> int:
    """The most memory ``f(*args)`` held at once beyond what was allocated before the call, in bytes.

    Measured with ``tracemalloc``, which sees NumPy's array buffers as well as Python objects. If
    tracing was already on (``python -X tracemalloc``), it stays on, and only its peak is reset.

    Parameters
    ----------
    f : callable
        What to measure; its result is discarded.
    *args
        Positional arguments for ``f``.

    Returns
    -------
    int
        Peak traced memory during the call minus the traced memory just before it.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.book.pages import peak_bytes
    >>> peak_bytes(np.ones, 1_000_000) >= 8_000_000   # one float64 array of a million values
    True
    >>> peak_bytes(len, "abc") < 1_000
    True
    """
    _check_callable(f, "f")
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        f(*args)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        if not was_tracing:
            tracemalloc.stop()


def cpu_name() -> str:
    """The processor's name: Linux's ``/proc/cpuinfo`` "model name", else what ``platform`` knows.

    Returns
    -------
    str
        For example ``"AMD EPYC 7B13"``; ``platform.processor()`` or ``platform.machine()`` (``"x86_64"``)
        where there is no ``/proc/cpuinfo`` or it has no model name (some ARM machines).

    Examples
    --------
    >>> from attention_ref.book.pages import cpu_name
    >>> name = cpu_name()
    >>> isinstance(name, str) and name != ""
    True
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# Spans of a cell whose text reaches the reader as it is: code spans (a run of backticks up to the next
# run of the same length) and dollar math ($...$, $$...$$). Outside them, "<" could open an HTML tag and
# "&" an entity, which the browser would swallow; inside them both are already shown literally.
_VERBATIM = re.compile(
    r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)"  # a code span
    r"|\$\$.+?\$\$"  # display math
    r"|(?<![\\$])\$(?![\s$]).*?(?<![\s\\$])\$"  # inline math: $x$, not "$5 or $6"
)
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _escape_html(text: str) -> str:
    return re.sub("[&<>]", lambda m: _HTML[m.group()], text)


def _cell(value, name: str) -> str:
    text = str(value)
    if "\n" in text or "\r" in text:
        msg = f"{name} must not contain a line break (a table cell is one line), got {text!r}"
        raise ValueError(msg)
    parts, end = [], 0
    for m in _VERBATIM.finditer(text):
        parts += [_escape_html(text[end : m.start()]), m.group()]
        end = m.end()
    parts.append(_escape_html(text[end:]))
    return "".join(parts).replace("|", "\\|")  # an unescaped "|" would end the cell, even in code


def markdown_table(header, rows) -> str:
    """The text of a Markdown (pipe) table, with cell text escaped where HTML would swallow it.

    Cells are converted with ``str`` and keep their Markdown (code in backticks, ``**bold**``,
    ``$math$``). Outside code and math, ``<``, ``>`` and ``&`` become HTML entities, so that a token
    such as ``<eos>`` shows instead of vanishing as an unknown HTML tag; ``|`` is escaped everywhere,
    since it would end the cell.

    Parameters
    ----------
    header : list or tuple of str
        The column titles (at least one).
    rows : iterable of lists or tuples
        One row of values per table row, as many values as ``header`` has titles.

    Returns
    -------
    str
        The header line, the separator line ``|---|...`` and one line per row.

    See Also
    --------
    md_table : the same table, ready for a notebook to display.

    Examples
    --------
    >>> from attention_ref.book.pages import markdown_table
    >>> print(markdown_table(["token", "count"], [["<eos>", 2], ["`<bos>`", "**1**"]]))
    | token | count |
    |---|---|
    | &lt;eos&gt; | 2 |
    | `<bos>` | **1** |
    >>> markdown_table(["a", "b"], [[1]])
    Traceback (most recent call last):
        ...
    ValueError: rows[0] has 1 cell but header has 2 columns
    """
    if isinstance(header, str) or not isinstance(header, (list, tuple)):
        msg = f"header must be a list or tuple of column titles, got {type(header).__name__}"
        raise TypeError(msg)
    if not header:
        msg = "header must have at least one column"
        raise ValueError(msg)
    for j, title in enumerate(header):
        if not isinstance(title, str):
            msg = f"header[{j}] must be a str, got {type(title).__name__}"
            raise TypeError(msg)
    if isinstance(rows, str) or not hasattr(rows, "__iter__"):
        msg = f"rows must be an iterable of rows (lists of values), got {type(rows).__name__}"
        raise TypeError(msg)
    lines = ["| " + " | ".join(_cell(t, f"header[{j}]") for j, t in enumerate(header)) + " |",
             "|" + "---|" * len(header)]
    for i, row in enumerate(rows):
        if isinstance(row, str) or not isinstance(row, (list, tuple, np.ndarray)):
            msg = f"rows[{i}] must be a list or tuple of values, got {type(row).__name__}"
            raise TypeError(msg)
        if len(row) != len(header):
            cells = "cell" if len(row) == 1 else "cells"
            msg = f"rows[{i}] has {len(row)} {cells} but header has {len(header)} columns"
            raise ValueError(msg)
        lines.append("| " + " | ".join(_cell(v, f"rows[{i}][{j}]") for j, v in enumerate(row)) + " |")
    return "\n".join(lines)


def md_table(header, rows):
    """A Markdown table for a notebook to show: :func:`markdown_table` as an IPython ``Markdown`` object.

    A cell that ends with ``md_table(...)`` shows the table; elsewhere in a cell, pass it to
    ``IPython.display.display``. A page renders it as a table when the cell has
    ``mystnb: markdown_format: myst`` (or ``gfm``) in its metadata.

    Parameters
    ----------
    header, rows
        As for :func:`markdown_table`.

    Returns
    -------
    IPython.display.Markdown
        Its ``data`` is the table's text.

    Examples
    --------
    Needs IPython (the docs environment has it, the test environment does not):

    >>> from attention_ref.book.pages import md_table
    >>> print(md_table(["token"], [["<eos>"]]).data)  # doctest: +SKIP
    | token |
    |---|
    | &lt;eos&gt; |
    """
    text = markdown_table(header, rows)  # the arguments are checked before IPython is needed
    from IPython.display import Markdown

    return Markdown(text)


def glue(name: str, value, display: bool = True) -> None:
    """Keep ``value`` under ``name`` for the page's text (myst-nb's ``glue``), or just show it elsewhere.

    In the book's build, the prose takes numbers from the cells with ``{glue:text}`name```: this is
    ``myst_nb.glue`` then. A downloaded notebook, run in a Jupyter that has no myst-nb, has its text
    already filled in; there ``glue`` only displays ``value`` (when ``display`` is true), so that the
    same cells run unchanged.

    Parameters
    ----------
    name : str
        The key the page's text refers to.
    value
        What to keep: a number, a string or anything IPython can display.
    display : bool, optional
        Whether the cell also shows ``value``.

    Examples
    --------
    >>> from attention_ref.book.pages import glue
    >>> glue("n_heads", 4, display=False)  # shows nothing, with or without myst-nb
    """
    if not isinstance(name, str) or not name:
        msg = f"name must be a non-empty str, got {name!r}"
        raise TypeError(msg)
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # a notebook outside the build
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def check(label: str, value, *, expected: bool = True, end: str = "\n") -> None:
    """Print ``label`` and ``value`` as ``print(label, value)`` would, and fail unless ``value`` is ``expected``.

    A page that shows a comparison with it (``check("같은가:", np.allclose(a, b))`` prints
    ``같은가: True``) cannot build while the comparison fails: the cell raises, and the build stops.

    Parameters
    ----------
    label : str
        What is compared, printed before the value (not empty).
    value : bool or numpy.bool_
        The comparison's result, e.g. from ``np.allclose``, ``np.array_equal`` or ``(a == b).all()``. An
        array is refused: its truth would be ambiguous.
    expected : bool, optional
        The result the page's text relies on. ``False`` for a page that shows that something does *not*
        hold (a weight matrix that is not symmetric).
    end : str, optional
        Printed after the value, as for ``print``; ``"  "`` puts the next check on the same line.

    Raises
    ------
    AssertionError
        If ``value`` is not ``expected`` (after printing it).

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.book.pages import check
    >>> check("같은가:", np.allclose([1.0, 2.0], [1.0, 2.0 + 1e-12]))
    같은가: True
    >>> check("대칭:", True, end="  "); check("0 인가:", (np.ones(2) == 0).all(), expected=False)
    대칭: True  0 인가: False

    A comparison that does not hold is printed, then fails:

    >>> check("같은가:", np.allclose(1.0, 2.0))
    Traceback (most recent call last):
        ...
    AssertionError: 같은가: expected True, got False
    """
    if not isinstance(label, str):
        msg = f"label must be a str, got {type(label).__name__}"
        raise TypeError(msg)
    if not label:
        msg = "label must not be empty: it says what is compared"
        raise ValueError(msg)
    if not isinstance(value, (bool, np.bool_)):
        msg = f"value must be a bool (from np.allclose, np.array_equal, (a == b).all()), got {type(value).__name__}"
        raise TypeError(msg)
    if not isinstance(expected, bool):
        msg = f"expected must be True or False, got {type(expected).__name__}"
        raise TypeError(msg)
    if not isinstance(end, str):
        msg = f"end must be a str, got {type(end).__name__}"
        raise TypeError(msg)
    value = bool(value)
    print(label, value, end=end)
    if value is not expected:
        msg = f"{label.rstrip(' :')}: expected {expected}, got {value}"
        raise AssertionError(msg)
