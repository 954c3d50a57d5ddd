"""Figures for attention: heatmaps with Korean labels (needs matplotlib; ``pip install attention-ref[plot]``).

Hangul needs a font that has it: matplotlib's default DejaVu Sans draws every syllable as a box. We
register NanumGothic from the ``koreanize-matplotlib`` package's files (without importing that package,
whose import warns on current Python/setuptools), so no system font is assumed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

__all__ = ["KOREAN_FONT", "heatmap", "mask_pattern", "use_korean_font"]

KOREAN_FONT = "NanumGothic"


def use_korean_font() -> str:
    """Register the bundled NanumGothic font with matplotlib and make it the default.

    Also uses a real minus sign fallback (NanumGothic has no U+2212) and a white figure background, so
    figures stay readable on a dark page. Returns the font's family name.
    """
    import matplotlib as mpl
    from matplotlib import font_manager

    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        msg = "the Korean font comes from the koreanize-matplotlib package: pip install attention-ref[plot]"
        raise ModuleNotFoundError(msg)
    fonts = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    for path in sorted(fonts.glob("NanumGothic*.ttf")):
        font_manager.fontManager.addfont(str(path))
    mpl.rcParams.update(
        {
            "font.family": KOREAN_FONT,
            "axes.unicode_minus": False,
            "figure.facecolor": "white",
            "savefig.facecolor": "white",
            "figure.dpi": 110,
        }
    )
    return KOREAN_FONT


def heatmap(
    matrix,
    row_labels=None,
    col_labels=None,
    *,
    ax=None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    cmap: str = "Blues",
    annotate: bool = True,
    fmt: str = "{:.2f}",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: bool = False,
):
    """Draw a matrix (attention weights or scores) as a heatmap; darker = larger.

    Parameters
    ----------
    matrix : (rows, cols) array_like
        Rows are queries, columns are keys, by this book's convention.
    row_labels, col_labels : sequence of str, optional
        Tick labels (words); Hangul renders once :func:`use_korean_font` ran (it runs here).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made if omitted.
    title, xlabel, ylabel : str, optional
    cmap : str, optional
    annotate : bool, optional
        Write each value in its cell with ``fmt``.
    fmt : str, optional
    vmin, vmax : float, optional
        Colour limits (default: the data's range; 0 and 1 fit attention weights).
    colorbar : bool, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    use_korean_font()
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        msg = f"matrix must be 2-D (rows, cols), got shape {m.shape}"
        raise ValueError(msg)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.6 * m.shape[1] + 2.0, 0.5 * m.shape[0] + 1.6))
    lo = np.nanmin(m) if vmin is None else vmin
    hi = np.nanmax(m) if vmax is None else vmax
    im = ax.imshow(m, cmap=cmap, vmin=lo, vmax=hi, aspect="auto")
    ax.set_xticks(range(m.shape[1]))
    ax.set_yticks(range(m.shape[0]))
    if col_labels is not None:
        ax.set_xticklabels(list(col_labels))
    if row_labels is not None:
        ax.set_yticklabels(list(row_labels))
    ax.tick_params(top=True, bottom=False, labeltop=True, labelbottom=False)
    if annotate:
        mid = lo + 0.55 * (hi - lo) if hi > lo else np.inf
        for (i, j), val in np.ndenumerate(m):
            ax.text(j, i, fmt.format(val), ha="center", va="center", fontsize=9,
                    color="white" if val > mid else "black")
    if title:
        ax.set_title(title, pad=12)
    if xlabel:
        ax.set_xlabel(xlabel)
        ax.xaxis.set_label_position("top")
    if ylabel:
        ax.set_ylabel(ylabel)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax


def mask_pattern(
    mask,
    row_labels=None,
    col_labels=None,
    *,
    ax=None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    allowed_color: str = "#2f6ea5",
    hidden_color: str = "#eeeeee",
    annotate: bool = True,
):
    """Draw a boolean attention mask: dark cells may attend, pale cells are hidden.

    Parameters
    ----------
    mask : (rows, cols) array_like of bool or 0/1
        ``True`` (or 1) where query ``i`` (row) may attend to key ``j`` (column), the convention of
        :func:`attention_ref.causal_mask`. Broadcast masks such as ``(1, Lk)`` must be expanded by
        the caller (``np.broadcast_to``) so that the picture shows every cell.
    row_labels, col_labels : sequence of str, optional
        Tick labels (words); Hangul renders once :func:`use_korean_font` ran (it runs here).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made if omitted.
    title, xlabel, ylabel : str, optional
    allowed_color, hidden_color : str, optional
        Colours of the visible and the hidden cells.
    annotate : bool, optional
        Write 1 in visible cells and 0 in hidden ones.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ValueError
        If ``mask`` is not 2-D.
    TypeError
        If ``mask`` holds anything other than booleans or the integers 0 and 1.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from attention_ref import causal_mask
    >>> from attention_ref.book.plotting import mask_pattern
    >>> ax = mask_pattern(causal_mask(3), title="causal")
    >>> ax.get_title()
    'causal'
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    use_korean_font()
    m = np.asarray(mask)
    if m.ndim != 2:
        msg = f"mask must be 2-D (rows, cols), got shape {m.shape}"
        raise ValueError(msg)
    if m.dtype != bool:
        if not np.issubdtype(m.dtype, np.integer) or not np.isin(m, (0, 1)).all():
            msg = f"mask must hold booleans or 0/1 integers, got dtype {m.dtype}"
            raise TypeError(msg)
        m = m.astype(bool)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.6 * m.shape[1] + 2.0, 0.5 * m.shape[0] + 1.6))
    cmap = ListedColormap([hidden_color, allowed_color])
    ax.imshow(m.astype(int), cmap=cmap, vmin=0, vmax=1, aspect="auto")  # (rows, cols)
    ax.set_xticks(range(m.shape[1]))
    ax.set_yticks(range(m.shape[0]))
    if col_labels is not None:
        ax.set_xticklabels(list(col_labels))
    if row_labels is not None:
        ax.set_yticklabels(list(row_labels))
    ax.tick_params(top=True, bottom=False, labeltop=True, labelbottom=False)
    ax.set_xticks(np.arange(m.shape[1] + 1) - 0.5, minor=True)  # thin white grid between cells
    ax.set_yticks(np.arange(m.shape[0] + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    if annotate:
        for (i, j), val in np.ndenumerate(m):
            ax.text(j, i, "1" if val else "0", ha="center", va="center", fontsize=9,
                    color="white" if val else "#777777")
    if title:
        ax.set_title(title, pad=12)
    if xlabel:
        ax.set_xlabel(xlabel)
        ax.xaxis.set_label_position("top")
    if ylabel:
        ax.set_ylabel(ylabel)
    return ax
