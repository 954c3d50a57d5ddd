"""The data of the book's interactive views: every number a view shows, computed here at build time.

Four pages put a view a reader can touch beside a figure. A code cell of the page computes the view's
data with one of the functions below, from the arrays its figure draws, and embeds it with
:func:`attention_view` as ``<div class="attn-view" data-view="..."><script type="application/json">``.
The page's script (``docs/_static/attention-views.js``) only looks numbers up and draws them: no
softmax, no exponential, no attention runs in the browser. A slider's positions are a precomputed grid,
and a mask's states are precomputed per row (row ``i``'s weights depend on row ``i``'s mask only, so a
row with ``Lk`` keys has ``2**Lk`` states). Every number is rounded here to the decimal places the view
prints (``float(f"{x:.3f}")``), so the page shows exactly what ``f"{x:.3f}"`` of the package's value
is.

- :func:`scale_grid`: one query's weights, scaled values and output over a grid of score scales, and of
  offsets added to one key's score (chapter 1);
- :func:`mask_states`: every row's weights and output for each mask of that row (chapter 4);
- :func:`head_panel` and :func:`heads_view`: the heads of an attention layer, query word by query word
  (chapters 3 and 7);
- :func:`view_html` and :func:`attention_view`: the HTML that embeds a view's data.

Axis letters: ``Lq``, ``Lk`` = number of queries, of keys; ``d_v`` = size of a value vector; ``S`` =
scales of the grid; ``O`` = offsets of the grid; ``P = 2**Lk`` = masks of one row; ``H`` = heads.

:func:`attention_view` needs IPython (the docs environment has it); the rest needs only NumPy.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping

import numpy as np

from .._validation import as_array, check_finite, check_int, check_words
from ..attention import scaled_dot_product_attention
from ..softmax import softmax

__all__ = [
    "MAX_MASK_KEYS",
    "VIEWS",
    "attention_view",
    "head_panel",
    "heads_view",
    "mask_states",
    "scale_grid",
    "view_html",
]

VIEWS = ("scale", "mask", "heads")
"""The kinds of view the page script draws (the ``data-view`` attribute)."""

MAX_MASK_KEYS = 8
"""The most keys a mask view takes: ``2**8 = 256`` states per row."""

NOTE = "이 보기는 자바스크립트로 그립니다. 같은 내용은 위의 그림에 있습니다."
"""What the view's box says where no script runs (the page script removes it)."""


# --- checks ------------------------------------------------------------------------------------------


def _array(x, name: str, ndim: int, what: str) -> np.ndarray:
    """``x`` as a finite float array with exactly ``ndim`` axes, none of them empty."""
    arr = as_array(x, name)
    if arr.ndim != ndim or 0 in arr.shape:
        msg = f"{name} must be {what}, got shape {arr.shape}"
        raise ValueError(msg)
    check_finite(arr, name)
    return arr.astype(np.float64)


def _increasing(x, name: str, *, minimum: float | None = None) -> np.ndarray:
    arr = _array(x, name, 1, "a 1-D array of at least one number")
    if (np.diff(arr) <= 0).any():
        msg = f"{name} must be strictly increasing, got {arr.tolist()}"
        raise ValueError(msg)
    if minimum is not None and arr[0] < minimum:
        msg = f"{name} must be >= {minimum}, got {arr[0]:g} among them"
        raise ValueError(msg)
    return arr


def _labels(words, name: str, n: int, default: str | None = None) -> list[str]:
    """``n`` strings: ``words``, or ``default.format(i + 1)`` for ``i < n`` when ``words`` is None."""
    if words is None and default is not None:
        return [default.format(i + 1) for i in range(n)]
    return check_words(words, name, n)


def _text(value, name: str) -> str:
    if not isinstance(value, str):
        msg = f"{name} must be a str, got {type(value).__name__}"
        raise TypeError(msg)
    if not value.strip():
        msg = f"{name} must not be empty"
        raise ValueError(msg)
    return value


def _bool_mask(mask, name: str, shape: tuple[int, int]) -> np.ndarray:
    """A boolean mask (True = may attend) broadcast to ``shape`` ``(Lq, Lk)``, as a new array."""
    arr = np.asarray(mask)
    if arr.dtype != bool:
        msg = f"{name} must be a boolean array (True = may attend), got dtype {arr.dtype}"
        raise TypeError(msg)
    try:
        return np.broadcast_to(arr, shape).copy()
    except ValueError:
        msg = f"{name} has shape {arr.shape}, which does not broadcast to the view's (Lq, Lk) = {shape}"
        raise ValueError(msg) from None


def _rounded(a, digits: int) -> list | float:
    """``a`` as nested lists of floats holding exactly ``f"{x:.{digits}f}"`` (and 0.0, never -0.0)."""
    arr = np.asarray(a, dtype=np.float64)
    flat = [float(f"{x:.{digits}f}") + 0.0 for x in arr.ravel().tolist()]
    return np.array(flat).reshape(arr.shape).tolist()


def _digits(digits) -> int:
    digits = check_int(digits, "digits", minimum=0)
    if digits > 6:
        msg = f"digits must be at most 6 (decimal places shown), got {digits}"
        raise ValueError(msg)
    return digits


def _offset_text(x: float) -> str:
    return "0" if x == 0 else f"{x:+g}"


# --- chapter 1: one query, a grid of scales ------------------------------------------------------------


def scale_grid(
    scores,
    values,
    scales,
    *,
    key: int = 0,
    offsets=(0.0,),
    initial: float = 1.0,
    marks=None,
    keys=None,
    digits: int = 3,
) -> dict:
    r"""One query's attention over a grid of score scales, and of offsets added to one key's score.

    For every offset :math:`\delta` and scale :math:`c` of the grid, the logits are
    :math:`c\,(s + \delta e_{key})`, the weights their :func:`~attention_ref.softmax`, the scaled values
    :math:`\alpha_i V_i` and the output their sum: what a slider position shows.

    Parameters
    ----------
    scores : (Lk,) array_like
        The query's raw scores :math:`s_i = q \cdot K_i`, before any scale.
    values : (Lk, d_v) array_like
        The value vectors, one row per key.
    scales : (S,) array_like
        The positions of the scale slider: strictly increasing numbers >= 0 (0 gives equal weights).
    key : int, optional
        The key whose score the offsets change (an index into ``scores``).
    offsets : (O,) array_like, optional
        Added to ``scores[key]`` before the scale: strictly increasing, 0 among them (the offset shown
        first). A single offset (the default) leaves the view without its second slider.
    initial : float, optional
        The scale shown first; one of ``scales``.
    marks : dict of str to float, optional
        Scales to name under the slider, e.g. ``{"1/√3": 1 / np.sqrt(3)}``; each one of ``scales``.
    keys : sequence of str, optional
        The keys' words (default "1", "2", ...).
    digits : int, optional
        Decimal places of the numbers shown (0 to 6).

    Returns
    -------
    dict
        JSON-ready, numbers rounded to ``digits`` places: ``"view": "scale"``, ``"keys"``, ``"key"``,
        ``"scales"`` (as given) and ``"scale_text"`` (as shown, with the names of the marks that are not
        just their number), ``"offsets"`` and
        ``"offset_text"``, ``"initial"`` (an index into ``scales``), ``"marks"`` (``[name, index]``
        pairs), ``"values"`` ``(Lk, d_v)`` with ``"value_range"`` (the bars' span, 0 included),
        ``"logits"`` and ``"weights"`` ``(O, S, Lk)``, ``"scaled"`` ``(O, S, Lk, d_v)``, ``"output"``
        ``(O, S, d_v)``, ``"average"`` ``(d_v,)`` (the output at scale 0: the values' mean) and
        ``"limit"`` ``(O, d_v)`` (the output as the scale grows without bound: the mean of the values
        of the keys whose score is the largest).

    Raises
    ------
    ValueError
        If the shapes do not fit, a number is not finite, ``scales`` or ``offsets`` are not increasing,
        a scale is negative, 0 is not an offset, or ``initial`` or a mark is not a scale of the grid.
    TypeError
        If an array is not numeric, ``key`` or ``digits`` is not an integer, or a label is not a str.

    Notes
    -----
    .. math::
        \alpha(c, \delta) = \operatorname{softmax}\big(c\,(s + \delta\, e_{key})\big), \qquad
        o(c, \delta) = \sum_i \alpha_i(c, \delta)\, V_i

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.book.views import scale_grid
    >>> view = scale_grid([0.0, 2.0], np.eye(2), [0.0, 0.5, 1.0], key=0, offsets=[0.0, 2.0], keys=["a", "b"])
    >>> view["weights"][0]             # offset 0: scale 0, 0.5, 1
    [[0.5, 0.5], [0.269, 0.731], [0.119, 0.881]]
    >>> view["weights"][1][2]          # a's score raised by 2: a tie with b
    [0.5, 0.5]
    >>> view["scale_text"], view["offset_text"]
    (['0.000', '0.500', '1.000'], ['0', '+2'])
    >>> scale_grid([0.0, 2.0], np.eye(2), [0.0, 0.5], initial=1.0)
    Traceback (most recent call last):
        ...
    ValueError: initial = 1 is not one of the scales [0.0, 0.5]
    """
    digits = _digits(digits)
    s = _array(scores, "scores", 1, "a 1-D array (Lk,) of at least one score")
    v = _array(values, "values", 2, "a 2-D array (Lk, d_v)")
    if v.shape[0] != s.shape[0]:
        msg = f"values has shape {v.shape} but scores has {s.shape[0]} entries: values needs one row per key"
        raise ValueError(msg)
    grid = _increasing(scales, "scales", minimum=0.0)
    shifts = _increasing(offsets, "offsets")
    key = check_int(key, "key")
    if not 0 <= key < s.shape[0]:
        msg = f"key must be an index into the {s.shape[0]} scores, got {key}"
        raise ValueError(msg)
    if 0.0 not in shifts:
        msg = f"offsets must include 0 (the offset shown first), got {shifts.tolist()}"
        raise ValueError(msg)
    names = _labels(keys, "keys", s.shape[0], default="{}")

    def index_of(value, name: str) -> int:
        hits = np.flatnonzero(np.isclose(grid, value, rtol=1e-12, atol=1e-15))
        if hits.size != 1:
            msg = f"{name} = {value:g} is not one of the scales {grid.tolist()}"
            raise ValueError(msg)
        return int(hits[0])

    start = index_of(_number(initial, "initial"), "initial")
    if marks is None:
        marks = {}
    if not isinstance(marks, Mapping):
        msg = f"marks must be a dict from a name to a scale, got {type(marks).__name__}"
        raise TypeError(msg)
    named = [[_text(name, "a name in marks"), index_of(_number(c, f"marks[{name!r}]"), f"marks[{name!r}]")]
             for name, c in marks.items()]
    mark_of = {i: name for name, i in named}

    shifted = np.repeat(s[None, :], shifts.size, axis=0)  # (O, Lk)
    shifted[:, key] += shifts
    logits = grid[None, :, None] * shifted[:, None, :]  # (O, S, Lk)
    weights = softmax(logits, axis=-1)  # (O, S, Lk)
    scaled = weights[..., None] * v  # (O, S, Lk, 1) * (Lk, d_v) -> (O, S, Lk, d_v)
    output = scaled.sum(axis=-2)  # (O, S, d_v)
    top = shifted == shifted.max(axis=-1, keepdims=True)  # (O, Lk): the keys a huge scale keeps
    limit = (top[..., None] * v).sum(axis=-2) / top.sum(axis=-1, keepdims=True)  # (O, d_v)
    text = [f"{c:.{digits}f}" + (f" ({mark_of[i]})" if i in mark_of and not _names_itself(mark_of[i], c) else "")
            for i, c in enumerate(grid.tolist())]
    return {
        "view": "scale",
        "digits": digits,
        "keys": names,
        "key": key,
        "scales": grid.tolist(),
        "scale_text": text,
        "offsets": shifts.tolist(),
        "offset_text": [_offset_text(x) for x in shifts.tolist()],
        "initial": start,
        "marks": named,
        "scores": _rounded(s, digits),
        "values": _rounded(v, digits),
        "value_range": [min(0.0, float(v.min())), max(0.0, float(v.max()))],
        "logits": _rounded(logits, digits),
        "weights": _rounded(weights, digits),
        "scaled": _rounded(scaled, digits),
        "output": _rounded(output, digits),
        "average": _rounded(v.mean(axis=0), digits),
        "limit": _rounded(limit, digits),
    }


def _names_itself(name: str, value: float) -> bool:
    """Whether a mark's name is just its number ("1" for 1.0): the slider's text then needs no name."""
    try:
        return float(name) == value
    except ValueError:
        return False


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        msg = f"{name} must be a real number, got {value!r} of type {type(value).__name__}"
        raise TypeError(msg)
    return float(value)


# --- chapter 4: masks ----------------------------------------------------------------------------------


def mask_states(
    q,
    k,
    v,
    *,
    scale=None,
    queries=None,
    keys=None,
    initial=None,
    presets=None,
    digits: int = 3,
) -> dict:
    r"""Every row's attention weights and output, for each of the ``2**Lk`` masks of that row.

    A query's weights depend on its own row of the mask only, so a view of an ``(Lq, Lk)`` mask needs
    ``2**Lk`` states per row, not ``2**(Lq Lk)``. State ``p`` of a row is the mask whose key ``j`` is
    visible when bit ``j`` of ``p`` is 1 (``p = sum(2**j for j in visible)``); state 0 hides every key.
    All states are computed in one call of :func:`~attention_ref.scaled_dot_product_attention`, so a
    row whose keys are all hidden shows the package's convention: weights 0 and output 0.

    Parameters
    ----------
    q : (Lq, d_k) array_like
        Queries.
    k : (Lk, d_k) array_like
        Keys (at most :data:`MAX_MASK_KEYS`).
    v : (Lk, d_v) array_like
        Values, one row per key.
    scale : float, optional
        Multiplies the scores; default :math:`1/\sqrt{d_k}`.
    queries, keys : sequence of str, optional
        The words of the rows and of the columns (default "1", "2", ...).
    initial : (Lq, Lk) array_like of bool, optional
        The mask shown first (True = may attend); default: every key visible.
    presets : dict of str to (Lq, Lk) array_like of bool, optional
        Masks the view offers as buttons, by name (in order).
    digits : int, optional
        Decimal places of the numbers shown (0 to 6).

    Returns
    -------
    dict
        JSON-ready, numbers rounded to ``digits`` places: ``"view": "mask"``, ``"queries"``, ``"keys"``,
        ``"initial"`` ``(Lq, Lk)`` of 0/1, ``"presets"`` (``[name, mask]`` pairs), ``"weights"``
        ``(Lq, P, Lk)``, ``"output"`` ``(Lq, P, d_v)`` and ``"sums"`` ``(Lq, P)`` (each state's total
        weight: 1, or 0 when every key is hidden).

    Raises
    ------
    ValueError
        If the shapes do not fit, there are more than :data:`MAX_MASK_KEYS` keys, an input is not
        finite, or a mask does not broadcast to ``(Lq, Lk)``.
    TypeError
        If an input is not numeric, a mask is not boolean, or a label is not a str.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.book.views import mask_states
    >>> E = np.eye(2)                            # two one-hot words
    >>> view = mask_states(E, E, E, scale=1.0, keys=["a", "b"])
    >>> view["weights"][0]                       # row 0, states 0 (none), 1 (a), 2 (b), 3 (both)
    [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.731, 0.269]]
    >>> view["output"][0][0], view["sums"][0]    # no key visible: output 0, total weight 0
    ([0.0, 0.0], [0.0, 1.0, 1.0, 1.0])
    >>> mask_states(E, E, E, initial=np.ones((2, 2)))
    Traceback (most recent call last):
        ...
    TypeError: initial must be a boolean array (True = may attend), got dtype float64
    """
    digits = _digits(digits)
    q = _array(q, "q", 2, "a 2-D array (Lq, d_k)")
    k = _array(k, "k", 2, "a 2-D array (Lk, d_k)")
    v = _array(v, "v", 2, "a 2-D array (Lk, d_v)")
    (Lq, d_k), Lk = q.shape, k.shape[0]
    if k.shape[1] != d_k:
        msg = f"k has shape {k.shape} but q has shape {q.shape}: k's last axis must equal d_k = {d_k}"
        raise ValueError(msg)
    if v.shape[0] != Lk:
        msg = f"v has shape {v.shape} but k has {Lk} rows: v needs one row per key"
        raise ValueError(msg)
    if Lk > MAX_MASK_KEYS:
        msg = f"k has {Lk} keys; a mask view takes at most {MAX_MASK_KEYS} (2**Lk states per row)"
        raise ValueError(msg)
    shape = (Lq, Lk)
    start = np.ones(shape, bool) if initial is None else _bool_mask(initial, "initial", shape)
    if presets is None:
        presets = {}
    if not isinstance(presets, Mapping):
        msg = f"presets must be a dict from a name to a mask, got {type(presets).__name__}"
        raise TypeError(msg)
    named = [[_text(name, "a name in presets"), _bool_mask(m, f"presets[{name!r}]", shape).astype(int).tolist()]
             for name, m in presets.items()]
    P = 1 << Lk
    patterns = ((np.arange(P)[:, None] >> np.arange(Lk)) & 1).astype(bool)  # (P, Lk): bit j = key j visible
    q_all = np.broadcast_to(q, (P, Lq, d_k))  # every row under every pattern, in one call
    out, w = scaled_dot_product_attention(q_all, k, v, mask=patterns[:, None, :], scale=scale)
    # out: (P, Lq, d_v), w: (P, Lq, Lk); the view reads them row first
    return {
        "view": "mask",
        "digits": digits,
        "queries": _labels(queries, "queries", Lq, default="{}"),
        "keys": _labels(keys, "keys", Lk, default="{}"),
        "initial": start.astype(int).tolist(),
        "presets": named,
        "weights": _rounded(np.swapaxes(w, 0, 1), digits),  # (Lq, P, Lk)
        "output": _rounded(np.swapaxes(out, 0, 1), digits),  # (Lq, P, d_v)
        "sums": _rounded(w.sum(axis=-1).T, digits),  # (Lq, P)
    }


# --- chapters 3 and 7: the heads of a layer ------------------------------------------------------------


def head_panel(
    weights,
    queries,
    keys,
    *,
    title: str,
    group: str | None = None,
    head_labels=None,
    average: str | None = None,
    initial=0,
    query_title: str = "쿼리",
    key_title: str = "키",
    digits: int = 2,
) -> dict:
    """One attention layer's heads for one sentence: what the reader sees while picking query words.

    Parameters
    ----------
    weights : (H, Lq, Lk) array_like
        Each head's weights (or the toy's scores), every value between 0 and 1 (the colour scale).
    queries, keys : sequence of str
        The words of the rows (queries) and of the columns (keys).
    title : str
        The panel's name in the view's menu ("크로스 어텐션").
    group : str, optional
        Panels of the same group share the view's first menu (a sentence, in chapter 7).
    head_labels : sequence of str, optional
        Default "헤드 1", "헤드 2", ...
    average : str, optional
        If given, the heads' mean is added as one more head under this label ("두 헤드의 평균").
    initial : int or str, optional
        The query shown first: its index or its word.
    query_title, key_title : str, optional
        What the rows and the columns are ("만든 영어 단어", "일본어 원문").
    digits : int, optional
        Decimal places of the numbers shown (0 to 6).

    Returns
    -------
    dict
        JSON-ready: the labels; ``"heads"``, a list of ``{"label", "weights" (Lq, Lk), "top" (Lq,),
        "average"}`` (``top``: the key with the largest weight, per query; the mean last, with
        ``"average": True``, if ``average`` is given);
        ``"max_difference"``, the largest ``|w_a - w_b|`` over pairs of heads (0 for one head), and
        ``"identical"``, whether all heads are equal up to the rounding of their products (within
        ``1e-12``; the mean not counted).

    Raises
    ------
    ValueError
        If ``weights`` is not 3-D, holds values outside [0, 1] or NaN, or the labels do not fit it.
    TypeError
        If ``weights`` is not numeric or a label is not a str.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.book.views import head_panel
    >>> w = np.array([[[0.9, 0.1], [0.5, 0.5]], [[0.2, 0.8], [0.5, 0.5]]])   # (H=2, Lq=2, Lk=2)
    >>> panel = head_panel(w, ["x", "y"], ["a", "b"], title="demo", average="평균")
    >>> [(h["label"], h["weights"][0], h["top"]) for h in panel["heads"]]
    [('헤드 1', [0.9, 0.1], [0, 0]), ('헤드 2', [0.2, 0.8], [1, 0]), ('평균', [0.55, 0.45], [0, 0])]
    >>> panel["max_difference"], panel["identical"]
    (0.7, False)
    """
    digits = _digits(digits)
    w = _array(weights, "weights", 3, "a 3-D array (H, Lq, Lk) of weights")
    if w.min() < 0 or w.max() > 1:
        msg = f"weights must lie between 0 and 1 (the colour scale's range), got values from {w.min():g} to {w.max():g}"
        raise ValueError(msg)
    H, Lq, Lk = w.shape
    qs, ks = _labels(queries, "queries", Lq), _labels(keys, "keys", Lk)
    labels = _labels(head_labels, "head_labels", H, default="헤드 {}")
    if isinstance(initial, str):
        if initial not in qs:
            msg = f"initial = {initial!r} is not one of the queries {qs}"
            raise ValueError(msg)
        start = qs.index(initial)
    else:
        start = check_int(initial, "initial", minimum=0, what="a query's index or word")
        if start >= Lq:
            msg = f"initial must be a query's index (below {Lq}) or word, got {start}"
            raise ValueError(msg)
    heads = [(label, w[h]) for h, label in enumerate(labels)]
    if average is not None:
        heads.append((_text(average, "average"), w.mean(axis=0)))  # (Lq, Lk)
    diff = np.abs(w[:, None] - w[None, :]).max() if H > 1 else 0.0  # (H, H, Lq, Lk) -> the largest
    return {
        "title": _text(title, "title"),
        "group": None if group is None else _text(group, "group"),
        "query_title": _text(query_title, "query_title"),
        "key_title": _text(key_title, "key_title"),
        "queries": qs,
        "keys": ks,
        "digits": digits,
        "initial": start,
        "heads": [{"label": label, "weights": _rounded(m, digits), "top": m.argmax(axis=-1).tolist(),
                   "average": h == H} for h, (label, m) in enumerate(heads)],
        "max_difference": _rounded(diff, digits),
        "identical": bool(np.allclose(w, w[0], rtol=0.0, atol=1e-12)),
    }


def heads_view(
    panels,
    *,
    initial_panel: int = 0,
    initial_head: int | None = None,
    group_title: str = "예문",
    panel_title: str = "어텐션",
) -> dict:
    """A view of one or more :func:`head_panel` panels: menus for the group, the panel and the head.

    Parameters
    ----------
    panels : sequence of dict
        What :func:`head_panel` returned, in menu order (panels of one group together).
    initial_panel : int, optional
        The panel shown first.
    initial_head : int, optional
        The head shown first; None (the default) shows every head side by side.
    group_title, panel_title : str, optional
        The names of the menus of groups and of panels (each shown only when it has a choice).

    Returns
    -------
    dict
        ``{"view": "heads", "panels": [...], "initial_panel": i, "initial_head": h, "group_title": ...,
        "panel_title": ...}`` (``h = -1``: all heads).

    Raises
    ------
    ValueError
        If there is no panel, the groups are not contiguous, or an initial index is out of range.
    TypeError
        If a panel is not what :func:`head_panel` returns.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.book.views import head_panel, heads_view
    >>> panel = head_panel(np.full((2, 1, 2), 0.5), ["x"], ["a", "b"], title="demo")
    >>> view = heads_view([panel])
    >>> view["view"], view["initial_head"], len(view["panels"])
    ('heads', -1, 1)
    """
    if isinstance(panels, Mapping) or not isinstance(panels, (list, tuple)):
        msg = f"panels must be a list of head_panel(...) results, got {type(panels).__name__}"
        raise TypeError(msg)
    if not panels:
        msg = "panels must hold at least one panel"
        raise ValueError(msg)
    for i, p in enumerate(panels):
        if not isinstance(p, Mapping) or not {"heads", "queries", "keys", "title"} <= set(p):
            msg = f"panels[{i}] must be what head_panel returns, got {type(p).__name__}"
            raise TypeError(msg)
    groups = [p["group"] for p in panels]
    seen = [g for i, g in enumerate(groups) if i == 0 or g != groups[i - 1]]
    if len(seen) != len(set(seen)):
        msg = f"panels of one group must be next to each other, got the groups {groups}"
        raise ValueError(msg)
    first = check_int(initial_panel, "initial_panel", minimum=0)
    if first >= len(panels):
        msg = f"initial_panel must be below the number of panels, {len(panels)}, got {first}"
        raise ValueError(msg)
    head = -1
    if initial_head is not None:
        head = check_int(initial_head, "initial_head", minimum=0)
        fewest = min(len(p["heads"]) for p in panels)
        if head >= fewest:
            msg = f"initial_head must be below {fewest} (the fewest heads of a panel), got {head}"
            raise ValueError(msg)
    return {
        "view": "heads",
        "panels": [dict(p) for p in panels],
        "initial_panel": first,
        "initial_head": head,
        "group_title": _text(group_title, "group_title"),
        "panel_title": _text(panel_title, "panel_title"),
    }


# --- the HTML ------------------------------------------------------------------------------------------


def view_html(data, *, label: str) -> str:
    """The HTML that embeds a view's data in a page: a ``<div class="attn-view">`` with the data as JSON.

    Parameters
    ----------
    data : dict
        What :func:`scale_grid`, :func:`mask_states` or :func:`heads_view` returned.
    label : str
        What the view is, for a screen reader (the group's ``aria-label``).

    Returns
    -------
    str
        ``<div class="attn-view" data-view="..." role="group" aria-label="...">`` holding a
        ``<script type="application/json">`` (every ``<`` written ``\\u003c``, so no ``</script>`` or
        ``<!--`` in the data can end it) and a short note for a browser without JavaScript.

    Raises
    ------
    TypeError
        If ``data`` is not a dict or holds something JSON cannot write, or ``label`` is not a str.
    ValueError
        If ``data`` names no known view, holds NaN or infinity, or ``label`` is empty.

    Examples
    --------
    >>> from attention_ref.book.views import view_html
    >>> print(view_html({"view": "heads", "panels": ["<eos>"]}, label="보기"))
    <div class="attn-view" data-view="heads" role="group" aria-label="보기"><script
    type="application/json">{"view":"heads","panels":["\\u003ceos>"]}</script><p class="attn-view-note">이 보기는
    자바스크립트로 그립니다. 같은 내용은 위의 그림에 있습니다.</p></div>
    """
    if not isinstance(data, Mapping):
        msg = f"data must be a dict from one of the view functions, got {type(data).__name__}"
        raise TypeError(msg)
    view = data.get("view")
    if view not in VIEWS:
        msg = f"data['view'] must be one of {VIEWS}, got {view!r}"
        raise ValueError(msg)
    label = _text(label, "label")
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except TypeError as exc:
        msg = f"data must hold only dicts, lists, str, numbers, bools and None (JSON): {exc}"
        raise TypeError(msg) from None
    except ValueError:
        msg = "data holds NaN or infinity, which JSON cannot write"
        raise ValueError(msg) from None
    text = text.replace("<", "\\u003c")  # the script ends at "</script>" whatever the JSON says
    return (
        f'<div class="attn-view" data-view="{view}" role="group" aria-label="{html.escape(label)}">'
        f'<script type="application/json">{text}</script>'
        f'<p class="attn-view-note">{NOTE}</p></div>'
    )


def attention_view(data, *, label: str):
    """A view for a notebook to show: :func:`view_html` as an IPython ``HTML`` object.

    A cell that ends with ``attention_view(...)`` puts the view on the page; the page script
    (``docs/_static/attention-views.js``, loaded by ``docs/_ext/views.py`` on such pages) draws it.

    Parameters
    ----------
    data, label
        As for :func:`view_html`.

    Returns
    -------
    IPython.display.HTML
        Its ``data`` is the HTML.

    Examples
    --------
    Needs IPython (the docs environment has it, the test environment does not):

    >>> from attention_ref.book.views import attention_view
    >>> attention_view({"view": "mask"}, label="마스크").data[:40]  # doctest: +SKIP
    '<div class="attn-view" data-view="mask" '
    """
    text = view_html(data, label=label)  # the arguments are checked before IPython is needed
    from IPython.display import HTML

    return HTML(text)
