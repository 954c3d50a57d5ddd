"""The interactive views in Chromium: what they show is what attention_ref computes for that setting.

Each test moves a view as a reader would (a slider with the keyboard or ``fill``, mask cells clicked
or toggled with the arrow keys and Space, query words hovered and focused) and compares every number
on screen with the package's value for that setting, computed here in the test (formatted as the page
prints it, to 3 or 2 places), and checks that the ``aria-live`` summary follows. Chapter 7's model
takes minutes to train, so its view is checked against the page's own table of the same weights and
against the package's conventions (the heads' mean, causal zeros) instead.

Also: the script and style load on the pages with a view and on no other page; a page's views weigh at
most 30 KB gzipped; nothing is requested from another host; with JavaScript off the figures stay and
the view says so; no axe-core violation after the views were used, in light and dark mode, at 1280 and
390 px; and screenshots of every view for a person to look at (``views-*.png``).
"""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest
from axe_playwright_python.base import AXE_FILE_PATH

from attention_ref import (
    MultiHeadAttention,
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
    softmax,
    split_heads,
)

PAGES = {"01-attention": 1, "03-multi-head": 1, "04-masked": 2, "07-training": 1}  # page -> its views
SCREENS = {"desktop": (1280, 900), "phone": (390, 844)}
BUDGET = 30 * 1024  # gzipped bytes of the views' script, style and data on one page


def shown(x, digits=3) -> str:
    """How the page prints the package's value ``x``."""
    text = f"{x:.{digits}f}"
    return text[1:] if re.fullmatch(r"-0\.0*", text) else text


def texts(values, digits=3) -> list:
    return [texts(v, digits) for v in values] if np.ndim(values) else shown(float(values), digits)


# --- chapter 1: the query "hate" ---------------------------------------------------------------------------

SOURCE = ["kono", "eiga", "ga", "kirai"]
E1 = np.array([[2, 0, 1, 0], [0, 2, 0, 1], [0, 0, 2, 0], [0, 0, 1, 2]], dtype=float)
K1 = E1 @ np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=float).T  # (4, 3)
V1 = E1 @ np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]], dtype=float).T  # (4, 3)
Q_HATE = np.array([0, 0, 2.0])  # W_Q h_hate
SCALES = np.union1d(np.linspace(0, 2, 41), [1 / np.sqrt(3)])  # the page's grid
OFFSETS = np.arange(-4.0, 5.0)

SCALE_STATE = """root => ({
  rows: [...root.querySelectorAll('tbody tr')].map(tr => ({
    key: tr.querySelector('th').textContent,
    logit: tr.children[1].textContent,
    weight: tr.querySelector('.attn-weight .attn-num').textContent,
    scaled: [...tr.querySelectorAll('.attn-comp .attn-num')].map(e => e.textContent),
  })),
  output: [...root.querySelectorAll('tfoot .attn-comp .attn-num')].map(e => e.textContent),
  live: root.querySelector('[aria-live="polite"]').textContent,
  scale: root.querySelectorAll('input[type=range]')[0].getAttribute('aria-valuetext'),
})"""


def expected_hate(scale: float, offset: float = 0.0) -> dict:
    """The package's numbers for the query "hate" at this scale, eiga's score moved by ``offset``."""
    if scale > 0 and offset == 0:  # the chapter's own call
        out, w = scaled_dot_product_attention(Q_HATE[None, :], K1, V1, scale=scale)
        w, out = w[0], out[0]
    else:  # scale 0, or a moved score: the softmax of the scaled scores
        w = softmax(scale * (K1 @ Q_HATE + offset * (np.arange(4) == 1)))
        out = w @ V1
    logits = scale * (K1 @ Q_HATE + offset * (np.arange(4) == 1))
    return {"weight": texts(w), "logit": texts(logits), "scaled": texts(w[:, None] * V1), "output": texts(out)}


def check_hate(root, scale, offset=0.0):
    state = root.evaluate(SCALE_STATE)
    want = expected_hate(scale, offset)
    assert [r["key"] for r in state["rows"]] == SOURCE
    assert [r["weight"] for r in state["rows"]] == want["weight"]
    assert [r["logit"] for r in state["rows"]] == want["logit"]
    assert [r["scaled"] for r in state["rows"]] == want["scaled"]
    assert state["output"] == want["output"]
    assert state["scale"].startswith(f"{scale:.3f}")
    for key, w in zip(SOURCE, want["weight"], strict=True):
        assert f"{key} {w}" in state["live"], state["live"]
    assert f"배율 {scale:.3f}" in state["live"]
    return state


def test_scale_view_follows_the_slider(visit):
    v = visit("01-attention.html")
    root = v.page.locator('.attn-view[data-view="scale"]')
    scale, offset = root.locator("input[type=range]").nth(0), root.locator("input[type=range]").nth(1)
    check_hate(root, 1.0)  # the first position is the figure's scale 1
    scale.focus()
    v.page.keyboard.press("ArrowRight")
    check_hate(root, SCALES[list(SCALES).index(1.0) + 1])  # 1.05
    scale.fill(str(int(np.flatnonzero(np.isclose(SCALES, 1 / np.sqrt(3)))[0])))
    state = check_hate(root, 1 / np.sqrt(3))  # the Transformer's 1/sqrt(d_k)
    assert "(1/√3)" in state["scale"] and "(1/√3)" in state["live"]
    v.page.keyboard.press("Home")
    state = check_hate(root, 0.0)  # flat: the values' mean
    assert {r["weight"] for r in state["rows"]} == {"0.250"}
    v.page.keyboard.press("End")
    check_hate(root, 2.0)  # sharp: kirai takes nearly all
    scale.fill(str(list(SCALES).index(1.0)))
    offset.fill(str(list(OFFSETS).index(2.0)))  # eiga's score 2 + 2 ties kirai's 4
    state = check_hate(root, 1.0, 2.0)
    assert state["rows"][1]["weight"] == state["rows"][3]["weight"]
    assert "eiga 점수 +2" in state["live"]
    offset.focus()
    v.page.keyboard.press("ArrowRight")
    check_hate(root, 1.0, 3.0)
    assert not v.problems(), "\n".join(v.problems())


# --- chapter 4: masks --------------------------------------------------------------------------------------

MASK_STATE = """root => ({
  cells: [...root.querySelectorAll('.attn-mask-table tbody tr')].map(tr =>
    [...tr.querySelectorAll('button.attn-cell')].map(b => b.querySelector('.attn-num').textContent)),
  pressed: [...root.querySelectorAll('.attn-mask-table tbody tr')].map(tr =>
    [...tr.querySelectorAll('button.attn-cell')].map(b => b.getAttribute('aria-pressed') === 'true')),
  sums: [...root.querySelectorAll('.attn-out-table tbody tr')].map(tr => tr.querySelector('td').textContent),
  output: [...root.querySelectorAll('.attn-out-table tbody tr')].map(tr =>
    [...tr.querySelectorAll('td')].slice(1).map(td => td.textContent)),
  notes: [...root.querySelectorAll('.attn-out-table tbody tr th')].map(th => th.textContent),
  live: root.querySelector('[aria-live="polite"]').textContent,
})"""


def expected_mask(q, k, v, mask, scale=None) -> dict:
    out, w = scaled_dot_product_attention(q, k, v, mask=mask, scale=scale)
    cells = [[shown(w[i, j]) if mask[i, j] else "0" for j in range(mask.shape[1])] for i in range(mask.shape[0])]
    sums = [shown(w[i].sum()) if mask[i].any() else "0" for i in range(mask.shape[0])]
    return {"cells": cells, "pressed": mask.tolist(), "sums": sums, "output": texts(out)}


def check_mask(root, q, k, v, mask, scale=None):
    state = root.evaluate(MASK_STATE)
    want = expected_mask(q, k, v, mask, scale)
    for name in ("cells", "pressed", "sums", "output"):
        assert state[name] == want[name], name
    return state


def test_mask_view_3x3_renormalises_and_zeroes(visit):
    v = visit("04-masked.html")
    root = v.page.locator('.attn-view[data-view="mask"]').nth(0)
    E = np.eye(3)
    mask = np.broadcast_to(np.array([True, True, False]), (3, 3)).copy()  # the notebook's column mask
    check_mask(root, E, E, E, mask, scale=1.0)
    cell = lambda i, j: root.locator(".attn-mask-table tbody tr").nth(i).locator("button.attn-cell").nth(j)  # noqa: E731
    cell(0, 1).click()  # 나는 no longer sees 사과를
    mask[0, 1] = False
    check_mask(root, E, E, E, mask, scale=1.0)
    cell(0, 0).click()  # ... nor itself: every key of the row hidden
    mask[0, 0] = False
    state = check_mask(root, E, E, E, mask, scale=1.0)
    assert state["output"][0] == ["0.000"] * 3 and state["sums"][0] == "0"  # the package's convention
    assert "모든 키가 가려짐" in state["notes"][0] and "모든 키가 가려짐" in state["live"]
    cell(0, 0).focus()  # the keyboard: arrows move, Space toggles
    for key in ("ArrowDown", "ArrowDown", "ArrowRight", "ArrowRight", "Space"):
        v.page.keyboard.press(key)
    mask[2, 2] = True  # 먹었다 sees itself again
    state = check_mask(root, E, E, E, mask, scale=1.0)
    assert state["live"].startswith("먹었다 행에서 먹었다 보임")
    root.get_by_role("button", name="인과 마스크").click()
    check_mask(root, E, E, E, causal_mask(3), scale=1.0)
    root.get_by_role("button", name="모두 가림").click()
    state = check_mask(root, E, E, E, np.zeros((3, 3), bool), scale=1.0)
    assert all(row == ["0.000"] * 3 for row in state["output"])
    assert not v.problems(), "\n".join(v.problems())


def chapter4_head1():
    """Chapter 4's six positions: its four words and two pads, through head 1 of its MultiHeadAttention."""
    vocab = ["나는", "어제", "사과를", "책을", "먹었다", "샀다"]
    table = dict(zip(vocab, np.random.default_rng(0).normal(size=(len(vocab), 8)), strict=True))
    x = np.stack([table[w] for w in ["나는", "어제", "사과를", "먹었다"]])  # (4, 8)
    x6 = np.vstack([x, np.zeros((2, 8))])  # (6, 8)
    mha = MultiHeadAttention(d_model=8, n_heads=2, seed=0)
    q, k, v = (split_heads(x6 @ getattr(mha, f"w_{n}") + getattr(mha, f"b_{n}"), 2)[0] for n in "qkv")
    return mha, x6, q, k, v


def test_mask_view_6x6_is_head_1(visit):
    v = visit("04-masked.html")
    root = v.page.locator('.attn-view[data-view="mask"]').nth(1)
    mha, x6, q, k, val = chapter4_head1()
    mask = causal_mask(6) & padding_mask([4], 6)[0, 0]
    check_mask(root, q, k, val, mask)
    _, w = mha(x6, mask=mask)  # the layer itself agrees
    assert root.evaluate(MASK_STATE)["cells"][3][:4] == texts(w[0, 3, :4])
    root.locator(".attn-mask-table tbody tr").nth(5).locator("button.attn-cell").nth(4).click()  # a pad query sees a pad key
    mask[5, 4] = True
    check_mask(root, q, k, val, mask)
    root.get_by_role("button", name="모두 보임").click()
    check_mask(root, q, k, val, np.ones((6, 6), bool))
    assert not v.problems(), "\n".join(v.problems())


# --- chapter 3: the heads side by side ---------------------------------------------------------------------

HEADS_STATE = """root => ({
  words: [...root.querySelectorAll('.attn-word')].map(b => [b.textContent, b.getAttribute('aria-pressed')]),
  cards: [...root.querySelectorAll('.attn-card')].map(c => ({
    title: c.querySelector('.attn-card-title').textContent,
    keys: [...c.querySelectorAll('.attn-kw')].map(e => e.textContent),
    numbers: [...c.querySelectorAll('.attn-keyword .attn-num')].map(e => e.textContent),
    top: [...c.querySelectorAll('.attn-keyword')].findIndex(e => e.classList.contains('attn-top')),
  })),
  note: root.querySelector('.attn-note').textContent,
  live: root.querySelector('[aria-live="polite"]').textContent,
  selects: [...root.querySelectorAll('select')].map(s => s.options[s.selectedIndex].text),
})"""


def chapter3_weights():
    X = np.random.default_rng(0).normal(size=(3, 12))
    mha = MultiHeadAttention(12, 3, bias=False, seed=0)
    _, weights = mha(X)  # (3, 3, 3)
    clone = MultiHeadAttention(12, 3, bias=False, seed=0)
    for name in ("w_q", "w_k", "w_v"):
        setattr(clone, name, np.tile(getattr(mha, name)[:, :4], (1, 3)))
    _, w_clone = clone(X)
    return weights, w_clone


def test_heads_view_shows_the_heads_side_by_side(visit):
    v = visit("03-multi-head.html")
    root = v.page.locator('.attn-view[data-view="heads"]')
    weights, w_clone = chapter3_weights()
    root.locator(".attn-word").nth(1).hover()  # 사과를
    state = root.evaluate(HEADS_STATE)
    assert [c["title"] for c in state["cards"]] == ["헤드 1", "헤드 2", "헤드 3"]
    assert [c["numbers"] for c in state["cards"]] == texts(weights[:, 1], 2)
    assert [c["top"] for c in state["cards"]] == weights[:, 1].argmax(axis=-1).tolist()
    assert state["words"][1] == ["사과를", "true"]
    diff = max(np.abs(weights[a] - weights[b]).max() for a in range(3) for b in range(3))
    assert state["note"] == f"헤드 사이 가중치 차이의 최댓값: {diff:.2f}"
    assert state["live"].startswith("사과를 → 헤드 1: ")
    root.locator(".attn-word").nth(1).focus()
    v.page.keyboard.press("ArrowRight")  # 먹었다, by the keyboard
    state = root.evaluate(HEADS_STATE)
    assert state["words"][2] == ["먹었다", "true"]
    assert [c["numbers"] for c in state["cards"]] == texts(weights[:, 2], 2)
    assert state["live"].startswith("먹었다 → ")
    v.page.mouse.move(0, 0)  # hovering is choosing: keep the pointer off the words from here on
    panel = root.locator("select").nth(0)
    panel.select_option(index=1)  # the copied projections: three equal heads
    state = root.evaluate(HEADS_STATE)
    assert [c["numbers"] for c in state["cards"]] == texts(w_clone[:, 0], 2)
    assert len({tuple(c["numbers"]) for c in state["cards"]}) == 1
    assert state["note"].endswith("0.00 (모든 헤드가 똑같습니다)")
    panel.select_option(index=0)  # the notebook's toy: the same scores copied three times
    state = root.evaluate(HEADS_STATE)
    assert all(c["numbers"] == ["1.00", "0.00", "0.00"] for c in state["cards"])
    assert "(모든 헤드가 똑같습니다)" in state["note"]
    panel.select_option(index=2)
    root.locator("select").nth(1).select_option(label="헤드 2")  # one head only
    state = root.evaluate(HEADS_STATE)
    assert [c["title"] for c in state["cards"]] == ["헤드 2"]
    assert not v.problems(), "\n".join(v.problems())


# --- chapter 7: the trained model --------------------------------------------------------------------------

TOP_TABLE = """() => {
  // the page's table "헤드 1이 가장 많이 본 단어": output word -> [head 1, head 2] as "kirai (0.93)"
  const table = [...document.querySelectorAll('table')].find(t => t.textContent.includes('헤드 1이 가장 많이 본 단어'));
  let sentence = null;
  const rows = [];
  for (const tr of table.querySelectorAll('tbody tr')) {
    const td = [...tr.children].map(e => e.textContent.trim());
    if (td[0]) sentence = td[0];
    rows.push({sentence, word: td[1], heads: td.slice(2)});
  }
  return rows;
}"""


def test_heads_view_of_the_trained_model(visit):
    v = visit("07-training.html")
    root = v.page.locator('.attn-view[data-view="heads"]')
    table = v.page.evaluate(TOP_TABLE)
    state = root.evaluate(HEADS_STATE)
    assert state["selects"][:2] == ["kono eiga ga kirai → I hate this movie", "크로스 어텐션"]
    assert state["words"][1] == ["hate", "true"]  # shown first: the chapter's "hate" row
    assert state["live"].startswith("hate → 헤드 1: kirai")
    for sentence in range(2):
        root.locator("select").nth(0).select_option(index=sentence)
        root.locator("select").nth(1).select_option(label="크로스 어텐션")
        rows = [r for r in table if r["sentence"] == table[0]["sentence"]] if sentence == 0 else \
            [r for r in table if r["sentence"] != table[0]["sentence"]]
        words = root.locator(".attn-word")
        assert [r["word"] for r in rows] == words.all_text_contents()
        for i, row in enumerate(rows):
            words.nth(i).hover()
            state = root.evaluate(HEADS_STATE)
            cards = state["cards"]  # head 1, head 2, their mean
            for c, (h, text) in enumerate(zip(cards[:2], row["heads"], strict=True)):
                assert f"{h['keys'][h['top']]} ({h['numbers'][h['top']]})" == text, (row, c)
            mean = (np.array(cards[0]["numbers"], float) + np.array(cards[1]["numbers"], float)) / 2
            assert np.allclose(np.array(cards[2]["numbers"], float), mean, atol=0.01 + 1e-9)
            assert abs(sum(float(n) for n in cards[0]["numbers"]) - 1) <= 0.005 * len(cards[0]["numbers"])
            assert state["live"].startswith(f"{row['word']} → ")
    root.locator("select").nth(1).select_option(label="디코더 셀프 어텐션")
    words = root.locator(".attn-word")
    for i in range(words.count()):  # the causal mask: no weight on a later position, ever
        words.nth(i).focus()
        for card in root.evaluate(HEADS_STATE)["cards"]:
            assert set(card["numbers"][i + 1 :]) <= {"0.00"}
    root.locator("select").nth(1).select_option(label="인코더 셀프 어텐션")
    assert root.locator(".attn-word").all_text_contents() == root.evaluate(HEADS_STATE)["cards"][0]["keys"]
    assert not v.problems(), "\n".join(v.problems())


# --- the pages -------------------------------------------------------------------------------------------


def test_views_load_only_where_there_is_one(site):
    pages = {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8") for p in site.rglob("*.html")
             if not p.relative_to(site).parts[0].startswith("_")}
    with_view = {name for name, text in pages.items() if '<div class="attn-view"' in text}
    assert with_view == {f"{name}.html" for name in PAGES}
    for name, text in pages.items():
        js = re.search(r'<script[^>]*src="[^"]*attention-views\.js[^"]*"[^>]*>', text)
        # the style sheet is written into the page's <head> (docs/_ext/page_assets.py): no second request
        css = "/* _static/attention-views.css */" in text[: text.index("</head>")]
        assert not re.search(r'<link[^>]*href="[^"]*attention-views\.css', text), name
        assert bool(js) == css == (name in with_view), name
        if js:
            assert "defer" in js.group(), js.group()
    for name, n in PAGES.items():
        assert pages[f"{name}.html"].count('<div class="attn-view"') == n


def test_views_are_light(site):
    static = sum(len(gzip.compress((site / "_static" / f).read_bytes(), 9))
                 for f in ("attention-views.js", "attention-views.css"))
    for name in PAGES:
        text = (site / f"{name}.html").read_text(encoding="utf-8")
        data = "".join(re.findall(r'<div class="attn-view".*?<script type="application/json">(.*?)</script>', text, re.S))
        total = static + len(gzip.compress(data.encode(), 9))
        assert total <= BUDGET, f"{name}: {total} bytes gzipped"


def test_views_without_javascript(browser, base_url):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        for name in PAGES:
            page.goto(f"{base_url}{name}.html")
            notes = page.locator(".attn-view .attn-view-note")
            assert notes.count() == PAGES[name]
            assert "자바스크립트" in notes.first.text_content()  # (innerText is "" in a section not yet shown)
            assert page.locator(".attn-view button, .attn-view input").count() == 0
            assert page.locator("article img").count() > 0  # the static figures are there
    finally:
        context.close()


def use_views(page, name):
    """Put each view into a telling state: a slider moved, a row fully hidden, a word hovered."""
    if name == "01-attention":
        page.locator('.attn-view[data-view="scale"] input[type=range]').nth(0).fill("12")
    elif name == "04-masked":
        first = page.locator('.attn-view[data-view="mask"]').nth(0)
        first.get_by_role("button", name="인과 마스크").click()
        first.locator(".attn-mask-table tbody tr").nth(0).locator("button.attn-cell").nth(0).click()  # a fully hidden row
    elif name == "03-multi-head":
        page.locator('.attn-view[data-view="heads"] .attn-word').nth(2).hover()
    elif name == "07-training":
        page.locator('.attn-view[data-view="heads"] .attn-word').nth(1).focus()


# axe-core on the views only (the rest of each page is tests/browser/test_axe.py's): every rule of the tags,
# the experimental ones too, as test_axe.py runs them
RUN_AXE = """async (tags) => {
  const rules = axe.getRules(tags).map(r => r.ruleId);
  const results = await axe.run({include: [...document.querySelectorAll('.attn-view')]},
                                {runOnly: {type: "rule", values: rules}, resultTypes: ["violations"]});
  return results.violations.map(v => ({id: v.id, impact: v.impact, count: v.nodes.length,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(" ")), html: v.nodes.length ? v.nodes[0].html.slice(0, 200) : ""}));
}"""
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_views_accessible_and_within_the_screen(visit, screenshots, name, mode, screen):
    """After use: no axe violation, no view wider than the screen, focus visible; screenshots of each view."""
    width, height = SCREENS[screen]
    v = visit(f"{name}.html", width=width, height=height, dark=mode == "dark")
    use_views(v.page, name)
    views = v.page.locator(".attn-view")
    for i in range(views.count()):
        box = views.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (name, i, box)
        views.nth(i).scroll_into_view_if_needed()
        views.nth(i).screenshot(path=screenshots / f"views-{name}-{i + 1}-{mode}-{screen}.png")
    assert v.page.evaluate("document.documentElement.scrollWidth") <= width
    focused = v.page.locator(".attn-view button, .attn-view input, .attn-view select").first
    focused.focus()
    v.page.keyboard.press("Shift+Tab")
    v.page.keyboard.press("Tab")  # a keyboard focus: :focus-visible applies
    outline = v.page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", outline
    assert not v.problems(), "\n".join(v.problems())
    # last: axe's own look at the style sheets asks the server for a stray basic.css, a request of the
    # checker, not of the page
    v.page.add_script_tag(path=str(AXE_FILE_PATH))
    found = v.page.evaluate(RUN_AXE, AXE_TAGS)
    assert not found, "\n".join(f"{f['id']} ({f['impact']}, {f['count']}): {f['targets']} {f['html']}" for f in found)
