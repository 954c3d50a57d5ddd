"""attention_ref.book.views: the interactive views' data, cross-checked against direct NumPy formulas.

Each view's numbers must be the package's numbers, rounded as the page prints them. The references here
are written independently of the package (``np.exp`` over the visible keys, divided by their sum), in
float64; the views must equal them to the printed digits, and some checks go through the package's own
``scaled_dot_product_attention`` and ``MultiHeadAttention`` as the pages do.
"""

from __future__ import annotations

import json
import re
import sys
import types

import numpy as np
import pytest

from attention_ref import MultiHeadAttention, Transformer, causal_mask, scaled_dot_product_attention
from attention_ref.book.toy import SENTENCE, toy_multi_head_attention
from attention_ref.book.views import (
    MAX_MASK_KEYS,
    attention_view,
    head_panel,
    heads_view,
    mask_states,
    scale_grid,
    view_html,
)


def reference_softmax(logits, visible=None):
    """exp over the visible entries of the last axis, divided by their sum; 0 where hidden or none visible."""
    logits = np.asarray(logits, dtype=np.float64)
    visible = np.ones(logits.shape, bool) if visible is None else np.broadcast_to(visible, logits.shape)
    shift = np.where(visible, logits, -np.inf).max(axis=-1, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    e = np.where(visible, np.exp(logits - shift), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def shown(x, digits=3):
    """What the page prints for the package's value x: f"{x:.{digits}f}", with no "-0.000"."""
    text = f"{x:.{digits}f}"
    return text[1:] if re.fullmatch(r"-0\.?0*", text) else text


def assert_shown(view_numbers, reference, digits=3):
    """The view's (rounded) numbers print exactly as the reference's values do."""
    got = np.vectorize(lambda x: shown(x, digits))(np.asarray(view_numbers, dtype=np.float64))
    want = np.vectorize(lambda x: shown(x, digits))(np.asarray(reference, dtype=np.float64))
    np.testing.assert_array_equal(got, want)


# --- the chapter 1 example -------------------------------------------------------------------------------

E1 = np.array([[2, 0, 1, 0], [0, 2, 0, 1], [0, 0, 2, 0], [0, 0, 1, 2]], dtype=float)  # kono eiga ga kirai
W_K = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=float)
W_V = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]], dtype=float)
K1, V1 = E1 @ W_K.T, E1 @ W_V.T  # (4, 3) each
Q_HATE = W_K @ np.array([0, 0, 1, 2.0])  # (3,)
SCALES = np.union1d(np.linspace(0, 2, 41), [1 / np.sqrt(3)])
SOURCE = ["kono", "eiga", "ga", "kirai"]


@pytest.fixture(scope="module")
def hate_view():
    return scale_grid(K1 @ Q_HATE, V1, SCALES, key=1, offsets=np.arange(-4.0, 5.0),
                      marks={"1/√3": 1 / np.sqrt(3), "1": 1.0}, keys=SOURCE)


def test_scale_grid_is_the_softmax_of_the_scaled_scores(hate_view):
    scores = K1 @ Q_HATE  # (4,)
    for o, delta in enumerate(hate_view["offsets"]):
        shifted = scores + delta * (np.arange(4) == 1)  # eiga's score + delta
        logits = SCALES[:, None] * shifted  # (S, 4)
        w = reference_softmax(logits)
        assert_shown(hate_view["logits"][o], logits)
        assert_shown(hate_view["weights"][o], w)
        assert_shown(hate_view["scaled"][o], w[:, :, None] * V1)
        assert_shown(hate_view["output"][o], w @ V1)


def test_scale_grid_matches_scaled_dot_product_attention(hate_view):
    """Offset 0 is the chapter's attention of the query "hate" at every nonzero scale of the grid."""
    o0 = hate_view["offsets"].index(0.0)
    for s, c in enumerate(SCALES[1:], start=1):
        out, w = scaled_dot_product_attention(Q_HATE[None, :], K1, V1, scale=float(c))
        assert_shown(hate_view["weights"][o0][s], w[0])
        assert_shown(hate_view["output"][o0][s], out[0])


def test_scale_grid_ends_flat_and_sharp(hate_view):
    o0 = hate_view["offsets"].index(0.0)
    assert hate_view["scales"][0] == 0.0
    assert hate_view["weights"][o0][0] == [0.25] * 4  # scale 0: equal weights ...
    assert hate_view["output"][o0][0] == hate_view["average"] == [float(f"{x:.3f}") for x in V1.mean(axis=0)]
    assert hate_view["limit"][o0] == V1[3].tolist()  # ... and an unbounded scale keeps kirai's value
    tie = hate_view["offsets"].index(2.0)  # eiga's score 2 + 2 = kirai's 4
    assert hate_view["limit"][tie] == ((V1[1] + V1[3]) / 2).tolist()
    assert all(w[1] == w[3] for w in hate_view["weights"][tie])  # a tie shares the weight at every scale
    assert hate_view["weights"][o0][-1][3] > hate_view["weights"][o0][1][3]  # sharper as the scale grows


def test_scale_grid_labels_and_marks(hate_view):
    i_sqrt, i_one = hate_view["marks"][0][1], hate_view["marks"][1][1]
    assert hate_view["scales"][i_sqrt] == 1 / np.sqrt(3) and hate_view["scales"][i_one] == 1.0
    assert hate_view["scale_text"][i_sqrt] == "0.577 (1/√3)"
    assert hate_view["scale_text"][i_one] == "1.000"  # a mark named by its own number adds nothing
    assert hate_view["initial"] == i_one
    assert hate_view["offset_text"] == ["-4", "-3", "-2", "-1", "0", "+1", "+2", "+3", "+4"]
    assert hate_view["keys"] == SOURCE and hate_view["key"] == 1
    assert hate_view["value_range"] == [0.0, 3.0]


def test_scale_grid_numbers_are_rounded_as_printed(hate_view):
    for x in np.ravel(hate_view["scaled"]):
        assert float(f"{x:.3f}") == x and str(x) != "-0.0"
    assert len(SCALES) == 42  # 0, 0.05, ..., 2 and 1/sqrt(3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scale_grid_random(seed):
    rng = np.random.default_rng(seed)
    scores, values = rng.normal(size=5) * 3, rng.normal(size=(5, 2))
    scales, offsets = np.array([0.0, 0.3, 1.0, 4.0]), np.array([-1.5, 0.0, 2.5])
    view = scale_grid(scores, values, scales, key=4, offsets=offsets, digits=4)
    for o, delta in enumerate(offsets):
        w = reference_softmax(scales[:, None] * (scores + delta * (np.arange(5) == 4)))
        assert_shown(view["weights"][o], w, digits=4)
        assert_shown(view["output"][o], w @ values, digits=4)
    assert view["value_range"][0] == values.min() < 0 < view["value_range"][1] == values.max()
    assert view["keys"] == ["1", "2", "3", "4", "5"] and view["marks"] == []


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"scores": [[0.0, 1.0]]}, ValueError, "scores must be a 1-D array"),
        ({"scores": [0.0, np.nan]}, ValueError, "scores contains NaN"),
        ({"scores": ["a", "b"]}, TypeError, "scores must be a real numeric array"),
        ({"values": np.eye(3)}, ValueError, "values needs one row per key"),
        ({"values": [1.0, 2.0]}, ValueError, r"values must be a 2-D array"),
        ({"scales": [0.0, 1.0, 0.5]}, ValueError, "scales must be strictly increasing"),
        ({"scales": [-1.0, 1.0]}, ValueError, "scales must be >= 0"),
        ({"offsets": [1.0, 2.0]}, ValueError, "offsets must include 0"),
        ({"key": 2}, ValueError, "key must be an index"),
        ({"key": 1.0}, TypeError, "key must be an integer"),
        ({"initial": 0.7}, ValueError, "initial = 0.7 is not one of the scales"),
        ({"initial": "1"}, TypeError, "initial must be a real number"),
        ({"marks": {"half": 0.25}}, ValueError, r"marks\['half'\] = 0.25 is not one of the scales"),
        ({"marks": [1.0]}, TypeError, "marks must be a dict"),
        ({"keys": ["a"]}, ValueError, "keys has 1 labels but needs 2"),
        ({"keys": "ab"}, TypeError, "keys must be a sequence of 2 strings"),
        ({"digits": -1}, ValueError, "digits must be an integer >= 0"),
        ({"digits": 9}, ValueError, "digits must be at most 6"),
    ],
)
def test_scale_grid_rejects_bad_input(kwargs, error, match):
    args = {"scores": [0.0, 1.0], "values": np.eye(2), "scales": [0.0, 0.5, 1.0]} | kwargs
    scores, values, scales = args.pop("scores"), args.pop("values"), args.pop("scales")
    with pytest.raises(error, match=match):
        scale_grid(scores, values, scales, **args)


# --- masks -----------------------------------------------------------------------------------------------


def pattern(visible) -> int:
    """The view's state number of a row mask: bit j set when key j is visible."""
    return sum(1 << j for j, shown_ in enumerate(visible) if shown_)


@pytest.fixture(scope="module")
def seed_view():
    E = np.eye(3)
    column = np.broadcast_to(np.array([True, True, False]), (3, 3))
    return mask_states(E, E, E, scale=1.0, queries=SENTENCE, keys=SENTENCE, initial=column,
                       presets={"열 마스크": column, "인과 마스크": causal_mask(3)})


def test_mask_states_are_the_masked_softmax(seed_view):
    E = np.eye(3)
    for i in range(3):
        for p in range(8):
            visible = [(p >> j) & 1 == 1 for j in range(3)]
            w = reference_softmax(E[i] @ E.T, visible)  # (3,)
            assert_shown(seed_view["weights"][i][p], w)
            assert_shown(seed_view["output"][i][p], w @ E)
            assert [seed_view["weights"][i][p][j] == 0 for j in range(3)] >= [not v for v in visible]
            assert seed_view["sums"][i][p] == (1.0 if any(visible) else 0.0)


def test_mask_states_fully_hidden_row_is_zero(seed_view):
    """The package's convention, as scaled_dot_product_attention gives it: weights 0 and output 0."""
    hidden = np.ones((3, 3), bool)
    hidden[0] = False
    out, w = scaled_dot_product_attention(np.eye(3), np.eye(3), np.eye(3), mask=hidden, scale=1.0)
    assert (w[0] == 0).all() and (out[0] == 0).all()
    assert seed_view["weights"][0][0] == w[0].tolist() and seed_view["output"][0][0] == out[0].tolist()


def test_mask_states_hidden_keys_get_exactly_zero(seed_view):
    for i in range(3):
        for p in range(8):
            for j in range(3):
                if not (p >> j) & 1:
                    assert seed_view["weights"][i][p][j] == 0.0


def test_mask_states_labels_initial_presets(seed_view):
    assert seed_view["queries"] == seed_view["keys"] == list(SENTENCE)
    assert seed_view["initial"] == [[1, 1, 0]] * 3
    assert [name for name, _ in seed_view["presets"]] == ["열 마스크", "인과 마스크"]
    assert seed_view["presets"][1][1] == causal_mask(3).astype(int).tolist()
    causal_rows = [seed_view["weights"][i][pattern(causal_mask(3)[i])] for i in range(3)]
    _, w = scaled_dot_product_attention(np.eye(3), np.eye(3), np.eye(3), causal=True, scale=1.0)
    assert_shown(causal_rows, w)


def test_mask_states_multi_head_layer():
    """A 6x6 mask on one head of MultiHeadAttention, as chapter 4 builds it: the view's causal states are the layer's."""
    mha = MultiHeadAttention(d_model=8, n_heads=2, seed=0)
    x = np.vstack([np.random.default_rng(0).normal(size=(4, 8)), np.zeros((2, 8))])  # 4 words + 2 pads
    q, k, v = (np.split(x @ getattr(mha, f"w_{n}") + getattr(mha, f"b_{n}"), 2, axis=-1)[0] for n in "qkv")
    mask = causal_mask(6) & (np.arange(6) < 4)  # (6, 6)
    view = mask_states(q, k, v, initial=mask)  # default scale 1/sqrt(d_head)
    _, w = mha(x, mask=mask)  # (heads, 6, 6)
    assert_shown([view["weights"][i][pattern(mask[i])] for i in range(6)], w[0])
    assert len(view["weights"][0]) == 64 and len(view["output"][0][0]) == 4


@pytest.mark.parametrize("seed", [0, 1])
def test_mask_states_random_shapes(seed):
    rng = np.random.default_rng(seed)
    q, k, v = rng.normal(size=(2, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
    view = mask_states(q, k, v, scale=0.7, digits=5)
    for i in range(2):
        for p in range(16):
            visible = [(p >> j) & 1 == 1 for j in range(4)]
            w = reference_softmax(0.7 * q[i] @ k.T, visible)
            assert_shown(view["weights"][i][p], w, digits=5)
            assert_shown(view["output"][i][p], w @ v, digits=5)
    assert view["initial"] == [[1] * 4] * 2 and view["queries"] == ["1", "2"]


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"q": np.ones(3)}, ValueError, r"q must be a 2-D array \(Lq, d_k\)"),
        ({"k": np.ones((2, 2))}, ValueError, "k has shape"),
        ({"v": np.ones((2, 2))}, ValueError, "v needs one row per key"),
        ({"k": np.ones((9, 3)), "v": np.ones((9, 3))}, ValueError, "at most 8"),
        ({"initial": np.ones((2, 3))}, TypeError, "initial must be a boolean array"),
        ({"initial": np.ones((2, 2), bool)}, ValueError, r"initial has shape \(2, 2\)"),
        ({"presets": {"x": np.ones(4, bool)}}, ValueError, r"presets\['x'\] has shape"),
        ({"presets": [np.ones(3, bool)]}, TypeError, "presets must be a dict"),
        ({"queries": ["a", "b", "c"]}, ValueError, "queries has 3 labels but needs 2"),
        ({"scale": 0.0}, ValueError, "scale must be finite and non-zero"),
        ({"q": [[1.0, np.inf, 0.0]] * 2}, ValueError, "q contains NaN or infinity"),
    ],
)
def test_mask_states_rejects_bad_input(kwargs, error, match):
    args = {"q": np.ones((2, 3)), "k": np.ones((3, 3)), "v": np.ones((3, 2))} | kwargs
    q, k, v = args.pop("q"), args.pop("k"), args.pop("v")
    with pytest.raises(error, match=match):
        mask_states(q, k, v, **args)


def test_max_mask_keys_is_accepted():
    E = np.eye(MAX_MASK_KEYS)
    view = mask_states(E[:1], E, E)
    assert len(view["weights"][0]) == 2**MAX_MASK_KEYS


# --- heads -----------------------------------------------------------------------------------------------


def test_head_panel_of_the_toy_heads_is_identical():
    toy = np.moveaxis(toy_multi_head_attention(), -1, 0)  # (heads, Lq, Lk)
    panel = head_panel(toy, SENTENCE, SENTENCE, title="toy")
    assert panel["identical"] is True and panel["max_difference"] == 0.0
    assert [h["label"] for h in panel["heads"]] == ["헤드 1", "헤드 2", "헤드 3"]
    assert all(h["weights"] == np.eye(3).tolist() and h["top"] == [0, 1, 2] for h in panel["heads"])


def test_head_panel_of_a_trained_shape_layer():
    """The records of a small Transformer: per-head weights, their mean and the strongest key per query."""
    model = Transformer(d_model=8, n_heads=2, n_encoder_layers=1, n_decoder_layers=1, seed=0)
    rng = np.random.default_rng(0)
    tape = {}
    model(rng.normal(size=(1, 4, 8)), rng.normal(size=(1, 3, 8)), tape=tape)
    cross = Transformer.attention_records(tape)["decoder.layers.0.cross_attn"]["weights"][0]  # (2, 3, 4)
    panel = head_panel(cross, ["x", "y", "z"], list("abcd"), title="cross", group="s", average="평균",
                       initial="y", query_title="출력", key_title="원문")
    assert [h["label"] for h in panel["heads"]] == ["헤드 1", "헤드 2", "평균"]
    for h, m in zip(panel["heads"], [cross[0], cross[1], cross.mean(axis=0)], strict=True):
        assert_shown(h["weights"], m, digits=2)
        assert h["top"] == m.argmax(axis=-1).tolist()
    assert panel["max_difference"] == float(f"{np.abs(cross[0] - cross[1]).max():.2f}")
    assert panel["identical"] is False and panel["initial"] == 1
    assert (panel["group"], panel["query_title"], panel["key_title"]) == ("s", "출력", "원문")


def test_head_panel_identical_heads_of_copied_projections():
    """Chapter 3's clone: the first head's projections copied into every head give equal heads."""
    mha = MultiHeadAttention(12, 3, bias=False, seed=0)
    for name in ("w_q", "w_k", "w_v"):
        setattr(mha, name, np.tile(getattr(mha, name)[:, :4], (1, 3)))
    _, w = mha(np.random.default_rng(0).normal(size=(3, 12)))
    panel = head_panel(w, SENTENCE, SENTENCE, title="clone")
    assert panel["identical"] is True and panel["max_difference"] == 0.0


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"weights": np.ones((2, 2))}, ValueError, "weights must be a 3-D array"),
        ({"weights": np.full((1, 2, 2), 1.5)}, ValueError, "weights must lie between 0 and 1"),
        ({"weights": np.full((1, 2, 2), np.nan)}, ValueError, "weights contains NaN"),
        ({"queries": ["x"]}, ValueError, "queries has 1 labels but needs 2"),
        ({"keys": [1, 2]}, TypeError, "keys must hold strings"),
        ({"head_labels": ["a", "b"]}, ValueError, "head_labels has 2 labels but needs 1"),
        ({"initial": "w"}, ValueError, "initial = 'w' is not one of the queries"),
        ({"initial": 2}, ValueError, "initial must be a query's index"),
        ({"initial": 0.5}, TypeError, "initial must be a query's index or word"),
        ({"title": ""}, ValueError, "title must not be empty"),
        ({"average": 1}, TypeError, "average must be a str"),
    ],
)
def test_head_panel_rejects_bad_input(kwargs, error, match):
    args = {"weights": np.full((1, 2, 2), 0.5), "queries": ["x", "y"], "keys": ["a", "b"], "title": "t"} | kwargs
    weights, queries, keys = args.pop("weights"), args.pop("queries"), args.pop("keys")
    with pytest.raises(error, match=match):
        head_panel(weights, queries, keys, **args)


def test_heads_view_checks_its_panels():
    a = head_panel(np.full((2, 1, 2), 0.5), ["x"], ["a", "b"], title="a", group="g1")
    b = head_panel(np.full((3, 1, 2), 0.5), ["x"], ["a", "b"], title="b", group="g2")
    view = heads_view([a, b], initial_panel=1, initial_head=1)
    assert (view["initial_panel"], view["initial_head"]) == (1, 1)
    with pytest.raises(ValueError, match="next to each other"):
        heads_view([a, b, a])
    with pytest.raises(ValueError, match="initial_head must be below 2"):
        heads_view([a, b], initial_head=2)
    with pytest.raises(ValueError, match="initial_panel must be below the number of panels, 2"):
        heads_view([a, b], initial_panel=2)
    with pytest.raises(ValueError, match="at least one panel"):
        heads_view([])
    with pytest.raises(TypeError, match=r"panels\[0\] must be what head_panel returns"):
        heads_view([{"heads": []}])
    with pytest.raises(TypeError, match="panels must be a list"):
        heads_view(a)


# --- HTML ------------------------------------------------------------------------------------------------


def embedded(text: str) -> dict:
    m = re.fullmatch(r'<div class="attn-view" data-view="(\w+)" role="group" aria-label="([^"]*)">'
                     r'<script type="application/json">(.*)</script><p class="attn-view-note">[^<]+</p></div>', text, re.S)
    assert m, text[:200]
    return {"view": m.group(1), "label": m.group(2), "data": json.loads(m.group(3)), "json": m.group(3)}


def test_view_html_round_trips_the_data(hate_view):
    page = embedded(view_html(hate_view, label='쿼리 "hate"의 배율'))
    assert page["view"] == "scale" and page["data"] == hate_view
    assert page["label"] == "쿼리 &quot;hate&quot;의 배율"


def test_view_html_cannot_be_ended_by_the_data():
    data = {"view": "heads", "panels": ["</script><script>alert(1)</script>", "<!--", "<eos>"]}
    text = view_html(data, label="<b>")
    page = embedded(text)
    assert page["data"] == data and "<" not in page["json"]
    assert text.count("</script>") == 1 and 'aria-label="&lt;b&gt;"' in text


@pytest.mark.parametrize(
    "data,label,error,match",
    [
        ([1, 2], "x", TypeError, "data must be a dict"),
        ({"view": "chart"}, "x", ValueError, r"data\['view'\] must be one of"),
        ({"view": "mask", "w": np.ones(2)}, "x", TypeError, "data must hold only"),
        ({"view": "mask", "w": float("nan")}, "x", ValueError, "NaN or infinity"),
        ({"view": "mask"}, " ", ValueError, "label must not be empty"),
        ({"view": "mask"}, None, TypeError, "label must be a str"),
    ],
)
def test_view_html_rejects_bad_input(data, label, error, match):
    with pytest.raises(error, match=match):
        view_html(data, label=label)


def test_attention_view_checks_before_it_needs_ipython(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)  # importing IPython would fail
    with pytest.raises(ValueError, match="must be one of"):
        attention_view({"view": "chart"}, label="x")


def test_attention_view_is_an_ipython_html_object(monkeypatch):
    display = types.ModuleType("IPython.display")
    display.HTML = lambda text: types.SimpleNamespace(data=text)
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    shown_ = attention_view({"view": "mask"}, label="마스크")
    assert shown_.data == view_html({"view": "mask"}, label="마스크")
