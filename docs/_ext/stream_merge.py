"""Merge a cell's printed output exactly, so that a page shows the same text on every build.

The kernel sends what a cell prints in chunks, cut wherever its output buffer happened to be flushed: one
``print("concat:", a.shape)`` may arrive as ``"concat:"`` and ``" (3, 12)\\n"``, or as one chunk. With
``nb_merge_streams = True`` myst-nb 1.4 joins the chunks but strips each one and adds a newline
(MyST-NB pull request 604), so the page shows ``concat:`` and ``(3, 12)`` on two lines on some builds and
on one line on others. It also rewrites the first chunk in place, so the executed notebook offered for
download holds the text twice.

This extension concatenates the chunks of each stream exactly, on copies, and then lets myst-nb's own
function do the rest (carriage returns, backspaces, stdout before stderr) on the single merged chunk.
"""

from __future__ import annotations

import copy

from myst_nb.core import render

_myst_nb_coalesce = render.coalesce_streams


def coalesce_streams(outputs):
    """Outputs with all chunks of each stream (stdout, stderr) joined, in the place of the first chunk."""
    merged, streams = [], {}
    for output in outputs or []:
        if output["output_type"] == "stream":
            if output["name"] in streams:
                streams[output["name"]]["text"] += output["text"]
                continue
            output = copy.deepcopy(output)  # leave the executed notebook as the kernel produced it
            streams[output["name"]] = output
        merged.append(output)
    return _myst_nb_coalesce(merged)


def setup(app):
    render.coalesce_streams = coalesce_streams
    return {"parallel_read_safe": True, "parallel_write_safe": True}
