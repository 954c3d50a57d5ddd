/* The book's interactive attention views: look numbers up and draw them, nothing else.
 *
 * A page cell puts <div class="attn-view" data-view="scale|mask|heads"> on the page, holding its data
 * as JSON that attention_ref.book.views computed while the book was built. This script computes no
 * softmax, no exponential and no attention: a slider picks a position of a precomputed grid, a mask
 * cell picks a row's precomputed state, a query word picks a row of precomputed weights. Every number
 * shown is in the JSON, already rounded to the places shown (toFixed only writes it out).
 * docs/_ext/views.py loads this file (deferred) on the pages that have a view, and on no other.
 */
(function () {
  "use strict";

  let uid = 0;
  const newId = (what) => `attn-${what}-${++uid}`;

  /* h("p", {class: "x", text: "..."}, [children]): an element; "on..." keys are event listeners. */
  function h(tag, props, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of [].concat(children || [])) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }

  const num = (x, digits) => x.toFixed(digits); // x holds exactly these places already
  const hidden = (text) => h("span", { class: "attn-sr", text });
  /* one of nine colour steps for a weight in [0, 1] (the view's sequential scale) */
  const step = (w) => "attn-c" + Math.max(0, Math.min(8, Math.round(w * 8)));

  function select(label, options, value, onchange) {
    const id = newId("select");
    const s = h("select", { id, class: "attn-select", onchange: () => onchange(Number(s.value)) },
      options.map((text, i) => h("option", { value: i, text, selected: i === value })));
    return h("span", { class: "attn-field" }, [h("label", { for: id, text: label }), s]);
  }

  /* A bar drawn in a 100 x 10 box stretched to its cell: x0..x1 in percent of the width. */
  function bar(extraClass) {
    const box = svg("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none", class: "attn-bar " + (extraClass || ""),
      "aria-hidden": "true", focusable: "false" });
    return box;
  }

  /* Arrow keys move the focus along `items`, a roving tab stop: only the current item is in the Tab order. */
  function rove(items, current, keys) {
    const stop = (j) => items.forEach((b, n) => b.setAttribute("tabindex", n === j ? "0" : "-1"));
    stop(current);
    items.forEach((item, i) => {
      item.addEventListener("focus", () => stop(i));
      item.addEventListener("keydown", (event) => {
        const delta = keys[event.key];
        if (delta === undefined) return;
        event.preventDefault();
        const j = typeof delta === "function" ? delta(i) : Math.max(0, Math.min(items.length - 1, i + delta));
        items[j].focus();
      });
    });
  }

  /* A box that scrolls sideways when its content is wider than the page (a phone): focusable then. */
  function scroller(child, label) {
    const box = h("div", { class: "attn-scroll" }, child);
    const fit = () => {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", label);
      } else {
        for (const a of ["tabindex", "role", "aria-label"]) box.removeAttribute(a);
      }
    };
    // a ResizeObserver also reports the box's first size, once it is laid out (a measurement before
    // that would lay out the page's off-screen sections, which custom.css lets the browser skip)
    if (window.ResizeObserver) new ResizeObserver(fit).observe(box);
    else requestAnimationFrame(fit);
    return box;
  }

  /* --- chapter 1: a grid of scales (and of offsets added to one key's score) ------------------------ */

  function scaleView(root, d) {
    const dg = d.digits, Lk = d.keys.length, dv = d.values[0].length;
    const [lo, hi] = d.value_range;
    const x = (value) => (100 * (value - lo)) / (hi - lo || 1); // a value's place on a bar, in percent
    const live = h("p", { class: "attn-live", "aria-live": "polite" });
    let si = d.initial, oi = d.offsets.indexOf(0);

    function slider(label, n, value, text, marks, oninput) {
      const id = newId("range");
      const input = h("input", { type: "range", id, min: 0, max: n - 1, step: 1, value, class: "attn-range" });
      const out = h("output", { for: id, class: "attn-value" });
      const set = () => {
        const i = Number(input.value);
        out.textContent = text[i];
        input.setAttribute("aria-valuetext", text[i]);
        oninput(i);
      };
      input.addEventListener("input", set);
      const ticks = marks.length
        ? h("div", { class: "attn-ticks", "aria-hidden": "true" }, marks.map(([name, i]) =>
          h("span", { style: `left: calc(${i / (n - 1)} * (100% - 1.2rem) + 0.6rem)`, text: name })))
        : null;
      return { el: h("div", { class: "attn-slider" }, [h("label", { for: id, text: label }), out, input, ticks]), set };
    }

    const scale = slider("점수에 곱하는 배율", d.scales.length, si, d.scale_text, d.marks, (i) => { si = i; draw(); });
    const controls = [scale.el];
    let offset = null;
    if (d.offsets.length > 1) {
      offset = slider(`${d.keys[d.key]}의 점수에 더하는 값`, d.offsets.length, oi, d.offset_text, [], (i) => { oi = i; draw(); });
      controls.push(offset.el);
    }

    // the table: one row per key, then the output
    const cells = [];
    const head = h("thead", {}, h("tr", {}, [
      h("th", { scope: "col", text: "키" }),
      h("th", { scope: "col", text: "배율 × 점수" }),
      h("th", { scope: "col", text: "가중치 α" }),
      h("th", { scope: "col" }, ["α·V ", h("span", { class: "attn-unit", text: `(성분 1–${dv})` })]),
    ]));
    const body = h("tbody");
    for (let i = 0; i < Lk; i++) {
      const logit = h("td", { class: "attn-num" });
      const wBar = bar(), wFill = svg("rect", { y: 1, height: 8, class: "attn-fill" });
      wBar.append(wFill);
      const wNum = h("span", { class: "attn-num" });
      const comps = [];
      const vec = h("div", { class: "attn-vec" });
      for (let c = 0; c < dv; c++) {
        const b = bar();
        const v0 = Math.min(x(0), x(d.values[i][c])), v1 = Math.max(x(0), x(d.values[i][c]));
        b.append(svg("rect", { x: v0, y: 1, width: v1 - v0, height: 8, class: "attn-outline", "vector-effect": "non-scaling-stroke" }));
        const fill = svg("rect", { y: 1, height: 8, class: "attn-fill" });
        b.append(fill);
        const n = h("span", { class: "attn-num" });
        comps.push({ fill, n });
        vec.append(h("span", { class: "attn-comp" }, [b, n]));
      }
      cells.push({ logit, wFill, wNum, comps });
      body.append(h("tr", {}, [h("th", { scope: "row", text: d.keys[i] }), logit,
        h("td", {}, h("div", { class: "attn-weight" }, [wBar, wNum])), h("td", {}, vec)]));
    }
    const outComps = [];
    const outVec = h("div", { class: "attn-vec" });
    for (let c = 0; c < dv; c++) {
      const b = bar("attn-bar-out");
      const fill = svg("rect", { y: 1, height: 8, class: "attn-fill" });
      const avg = svg("line", { y1: 0, y2: 10, class: "attn-mark-average", "vector-effect": "non-scaling-stroke" });
      const lim = svg("line", { y1: 0, y2: 10, class: "attn-mark-limit", "vector-effect": "non-scaling-stroke" });
      b.append(fill, avg, lim);
      const n = h("span", { class: "attn-num" });
      outComps.push({ fill, avg, lim, n });
      outVec.append(h("span", { class: "attn-comp" }, [b, n]));
    }
    const sum = h("td", { class: "attn-num attn-muted" });
    const foot = h("tfoot", {}, h("tr", {}, [h("th", { scope: "row", text: "출력 o" }), h("td"), sum, h("td", {}, outVec)]));
    const table = h("table", { class: "attn-table attn-scale-table" }, [
      h("caption", { class: "attn-sr", text: "키마다 배율을 곱한 점수, 가중치, 가중치를 곱한 값 벡터, 그리고 출력" }),
      head, body, foot]);
    const legendAvg = h("span", { class: "attn-num" }), legendLim = h("span", { class: "attn-num" });
    const legend = h("p", { class: "attn-legend" }, [
      h("span", { class: "attn-key-average", "aria-hidden": "true" }), " 배율 0: 값의 평균 ", legendAvg, " ",
      h("span", { class: "attn-key-limit", "aria-hidden": "true" }), " 배율을 한없이 키울 때 ", legendLim,
      h("br"), h("span", { class: "attn-muted", text: "α·V 막대의 테두리는 값 V, 채운 부분은 가중치를 곱한 α·V입니다." }),
    ]);
    const vecText = (v) => "(" + v.map((t) => num(t, dg)).join(", ") + ")";
    const setRect = (r, a, b) => { r.setAttribute("x", Math.min(a, b)); r.setAttribute("width", Math.abs(b - a)); };

    function draw() {
      const w = d.weights[oi][si], z = d.logits[oi][si], s = d.scaled[oi][si], o = d.output[oi][si];
      for (let i = 0; i < Lk; i++) {
        const c = cells[i];
        c.logit.textContent = num(z[i], dg);
        setRect(c.wFill, 0, 100 * w[i]);
        c.wNum.textContent = num(w[i], dg);
        for (let j = 0; j < dv; j++) {
          setRect(c.comps[j].fill, x(0), x(s[i][j]));
          c.comps[j].n.textContent = num(s[i][j], dg);
        }
      }
      for (let j = 0; j < dv; j++) {
        const oc = outComps[j];
        setRect(oc.fill, x(0), x(o[j]));
        oc.n.textContent = num(o[j], dg);
        for (const [line, v] of [[oc.avg, d.average[j]], [oc.lim, d.limit[oi][j]]]) {
          line.setAttribute("x1", x(v)); line.setAttribute("x2", x(v));
        }
      }
      legendAvg.textContent = vecText(d.average);
      legendLim.textContent = vecText(d.limit[oi]);
      const where = `배율 ${d.scale_text[si]}` + (offset ? `, ${d.keys[d.key]} 점수 ${d.offset_text[oi]}` : "");
      live.textContent = `${where}: ` + d.keys.map((k, i) => `${k} ${num(w[i], dg)}`).join(", ") + ` · 출력 ${vecText(o)}`;
    }

    root.append(h("div", { class: "attn-controls" }, controls), scroller(table, "가중치와 출력 표"), legend, live);
    scale.set();
    if (offset) offset.set();
    draw();
  }

  /* --- chapter 4: masks, one precomputed state per row mask ----------------------------------------- */

  function maskView(root, d) {
    const dg = d.digits, Lq = d.queries.length, Lk = d.keys.length, dv = d.output[0][0].length;
    const mask = d.initial.map((row) => row.map(Boolean));
    const live = h("p", { class: "attn-live", "aria-live": "polite" });
    const state = (i) => mask[i].reduce((p, on, j) => (on ? p | (1 << j) : p), 0); // the row's state number
    const grid = [], sums = [], outs = [], notes = [];

    const presets = d.presets.length
      ? h("div", { class: "attn-controls attn-presets", role: "group", "aria-label": "마스크 고르기" },
        d.presets.map(([name, m]) => h("button", { type: "button", class: "attn-button", text: name, onclick: () => {
          for (let i = 0; i < Lq; i++) for (let j = 0; j < Lk; j++) mask[i][j] = Boolean(m[i][j]);
          for (let i = 0; i < Lq; i++) drawRow(i);
          live.textContent = `${name}: ` + d.queries.map((q, i) => rowText(i)).join(" / ");
        } })))
      : null;

    const head = h("thead", {}, h("tr", {}, [
      h("th", { scope: "col", class: "attn-corner", text: "쿼리 \\ 키" }),
      ...d.keys.map((k) => h("th", { scope: "col", text: k })),
    ]));
    const body = h("tbody");
    const buttons = [];
    for (let i = 0; i < Lq; i++) {
      const row = [];
      const tr = h("tr", {}, h("th", { scope: "row", text: d.queries[i] }));
      for (let j = 0; j < Lk; j++) {
        const n = h("span", { class: "attn-num" });
        const tag = h("span", { class: "attn-tag", "aria-hidden": "true" });
        const b = h("button", { type: "button", class: "attn-cell", "aria-pressed": "true", onclick: () => {
          mask[i][j] = !mask[i][j];
          drawRow(i);
          live.textContent = `${d.queries[i]} 행에서 ${d.keys[j]}${mask[i][j] ? " 보임" : " 가림"}: ` + rowText(i);
        } }, [hidden(`쿼리 ${d.queries[i]}, 키 ${d.keys[j]}, 가중치 `), n, tag]);
        buttons.push(b);
        row.push({ b, n, tag });
        tr.append(h("td", {}, b));
      }
      grid.push(row);
      body.append(tr);
    }
    rove(buttons, 0, {
      ArrowRight: 1, ArrowLeft: -1, ArrowDown: Lk, ArrowUp: -Lk, Home: (i) => i - (i % Lk), End: (i) => i - (i % Lk) + Lk - 1,
    });
    const table = h("table", { class: "attn-table attn-mask-table" }, [
      h("caption", { class: "attn-sr", text: "마스크와 가중치: 칸을 누르면 그 키를 가리거나 보여 줍니다 (눌림 = 보임)" }), head, body]);

    const outHead = h("thead", {}, h("tr", {}, [h("th", { scope: "col", text: "쿼리" }),
      h("th", { scope: "col", text: "가중치의 합" }),
      ...Array.from({ length: dv }, (_, c) => h("th", { scope: "col", text: `출력 ${c + 1}` }))]));
    const outBody = h("tbody");
    for (let i = 0; i < Lq; i++) {
      const s = h("td", { class: "attn-num" });
      const tds = Array.from({ length: dv }, () => h("td", { class: "attn-num" }));
      const note = h("span", { class: "attn-note-inline" });
      sums.push(s); outs.push(tds); notes.push(note);
      outBody.append(h("tr", {}, [h("th", { scope: "row" }, [d.queries[i], note]), s, ...tds]));
    }
    const outTable = h("table", { class: "attn-table attn-out-table" }, [
      h("caption", { class: "attn-sr", text: "행마다 가중치의 합과 어텐션의 출력" }), outHead, outBody]);

    function rowText(i) {
      const p = state(i);
      if (p === 0) return `${d.queries[i]} 행은 모든 키가 가려짐, 가중치 모두 0, 출력 0`;
      const w = d.weights[i][p];
      return `${d.queries[i]} 행 ` + d.keys.map((k, j) => `${k} ${mask[i][j] ? num(w[j], dg) : "0"}`).join(", ");
    }

    function drawRow(i) {
      const p = state(i), w = d.weights[i][p], o = d.output[i][p];
      for (let j = 0; j < Lk; j++) {
        const c = grid[i][j], on = mask[i][j];
        c.b.setAttribute("aria-pressed", on ? "true" : "false");
        c.b.className = "attn-cell " + (on ? step(w[j]) : "attn-hidden");
        c.n.textContent = on ? num(w[j], dg) : "0"; // a hidden key's weight is exactly 0
        c.tag.textContent = on ? "" : "가림";
      }
      sums[i].textContent = p === 0 ? "0" : num(d.sums[i][p], dg);
      o.forEach((v, c) => { outs[i][c].textContent = num(v, dg); });
      notes[i].textContent = p === 0 ? " 모든 키가 가려짐: 출력 0" : "";
      grid[i][0].b.closest("tr").classList.toggle("attn-row-empty", p === 0);
    }

    const hint = h("p", { class: "attn-hint", text: "칸을 누르면 그 키를 가리거나 다시 보여 줍니다. 방향키로 칸을 옮기고 스페이스로 바꿀 수도 있습니다." });
    root.append(...[presets, hint, scroller(table, "마스크와 가중치 표"), scroller(outTable, "출력 표"), live].filter(Boolean));
    for (let i = 0; i < Lq; i++) drawRow(i);
  }

  /* --- chapters 3 and 7: the heads of a layer, query word by query word ----------------------------- */

  function headsView(root, d) {
    const panels = d.panels;
    const groups = [];
    panels.forEach((p, i) => {
      const g = groups.length && groups[groups.length - 1].name === p.group ? groups[groups.length - 1] : null;
      if (g) g.panels.push(i); else groups.push({ name: p.group, panels: [i] });
    });
    let pi = d.initial_panel, head = d.initial_head, query = panels[pi].initial;
    const groupOf = (i) => groups.findIndex((g) => g.panels.includes(i));

    const controls = h("div", { class: "attn-controls" });
    const words = h("div", { class: "attn-words" });
    const cards = h("div", { class: "attn-cards" });
    const note = h("p", { class: "attn-note" });
    const live = h("p", { class: "attn-live", "aria-live": "polite" });
    let wordButtons = [], cardCells = [];

    function build() {
      const p = panels[pi], gi = groupOf(pi), g = groups[gi];
      controls.replaceChildren();
      if (groups.length > 1) {
        controls.append(select(d.group_title, groups.map((x) => x.name), gi, (v) => {
          const kind = g.panels.indexOf(pi);
          pi = groups[v].panels[Math.min(kind, groups[v].panels.length - 1)];
          query = panels[pi].initial; build(); focusControl(0);
        }));
      }
      if (g.panels.length > 1) {
        controls.append(select(d.panel_title, g.panels.map((i) => panels[i].title), g.panels.indexOf(pi), (v) => {
          pi = g.panels[v]; query = panels[pi].initial; build(); focusControl(groups.length > 1 ? 1 : 0);
        }));
      }
      const nHeads = p.heads.length;
      if (head >= nHeads) head = -1;
      controls.append(select("헤드", [...p.heads.map((x) => x.label), "모두 나란히"], head < 0 ? nHeads : head, (v) => {
        head = v === nHeads ? -1 : v; build(); focusControl(controls.querySelectorAll("select").length - 1);
      }));

      const labelId = newId("queries");
      wordButtons = p.queries.map((word, i) => h("button", {
        type: "button", class: "attn-word", "aria-pressed": i === query ? "true" : "false", text: word,
        onclick: () => pick(i), onfocus: () => pick(i), onmouseenter: () => pick(i),
      }));
      rove(wordButtons, query, { ArrowRight: 1, ArrowLeft: -1, Home: () => 0, End: () => wordButtons.length - 1 });
      words.replaceChildren(h("span", { class: "attn-axis", id: labelId, text: p.query_title }),
        h("div", { class: "attn-wordlist", role: "group", "aria-labelledby": labelId }, wordButtons));

      const shown = head < 0 ? p.heads.map((_, i) => i) : [head];
      cardCells = [];
      cards.replaceChildren(h("p", { class: "attn-axis", text: p.key_title }));
      const row = h("div", { class: "attn-cardrow" });
      for (const hi of shown) {
        const keyCells = p.keys.map((k) => {
          const n = h("span", { class: "attn-num" });
          const cell = h("span", { class: "attn-keyword" }, [h("span", { class: "attn-kw", text: k }), n]);
          return { cell, n };
        });
        cardCells.push({ hi, keyCells });
        row.append(h("div", { class: "attn-card" }, [h("p", { class: "attn-card-title", text: p.heads[hi].label }),
          h("div", { class: "attn-keywords" }, keyCells.map((c) => c.cell))]));
      }
      cards.append(row);
      note.textContent = p.heads.filter((x) => !x.average).length > 1
        ? `헤드 사이 가중치 차이의 최댓값: ${num(p.max_difference, p.digits)}` + (p.identical ? " (모든 헤드가 똑같습니다)" : "")
        : "";
      draw();
    }

    function focusControl(n) {
      const s = controls.querySelectorAll("select")[n];
      if (s) s.focus();
    }

    function pick(i) {
      if (i === query) return;
      query = i;
      draw();
    }

    function draw() {
      const p = panels[pi];
      wordButtons.forEach((b, i) => {
        b.setAttribute("aria-pressed", i === query ? "true" : "false");
        b.setAttribute("tabindex", i === query ? "0" : "-1"); // the Tab stop follows the word shown
      });
      for (const { hi, keyCells } of cardCells) {
        const w = p.heads[hi].weights[query], top = p.heads[hi].top[query];
        keyCells.forEach(({ cell, n }, j) => {
          cell.className = "attn-keyword " + step(w[j]) + (j === top ? " attn-top" : "");
          n.textContent = num(w[j], p.digits);
        });
      }
      const text = `${p.queries[query]} → ` + cardCells.map(({ hi }) => {
        const x = p.heads[hi], t = x.top[query];
        return `${x.label}: ${p.keys[t]} ${num(x.weights[query][t], p.digits)}`;
      }).join(" · ");
      live.textContent = text;
    }

    root.append(controls, words, cards, note, live);
    build();
  }

  const VIEWS = { scale: scaleView, mask: maskView, heads: headsView };

  function start() {
    for (const root of document.querySelectorAll(".attn-view[data-view]")) {
      const draw = VIEWS[root.dataset.view];
      const script = root.querySelector('script[type="application/json"]');
      if (!draw || !script || root.classList.contains("attn-ready")) continue;
      const note = root.querySelector(".attn-view-note");
      if (note) note.remove();
      draw(root, JSON.parse(script.textContent));
      root.classList.add("attn-ready");
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
