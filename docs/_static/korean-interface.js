/*
 * Korean for the interface strings no catalog reaches (added by docs/_ext/korean_interface.py,
 * after sphinx-copybutton's script): the copy button's tooltips (sphinx-copybutton has no Korean
 * messages) and the label for screen readers that sphinx-book-theme hard-codes. (myst-nb's collapsed
 * cells lose their English aria-label at build time, docs/_ext/a11y.py: their name is the text they show.)
 * Also: boxes that scroll sideways on a narrow screen become keyboard-reachable (see the end).
 */
"use strict";
(() => {
  const ko = {
    copy: "복사",
    copy_to_clipboard: "클립보드에 복사",
    copy_success: "복사했습니다",
    copy_failure: "복사하지 못했습니다",
  };
  // copybutton.js declares `messages` and `locale` at the top level of its script
  if (typeof messages !== "undefined" && typeof locale !== "undefined") {
    messages.ko = ko;
    locale = "ko";
  }
  const relabel = () => {
    document.querySelectorAll(".copybtn").forEach((button) => {
      button.dataset.tooltip = ko.copy;
      const title = button.querySelector("svg title");
      if (title) title.textContent = ko.copy_to_clipboard;
    });
    document.querySelectorAll('nav[aria-label="Page"]').forEach((nav) => {
      nav.setAttribute("aria-label", "이 페이지의 내용");
    });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", relabel);
  else relabel();

  // A box that scrolls (code, an output, a wide table or display formula on a phone) must be
  // reachable with the keyboard (WCAG 2.1.1). pydata's script did this for code, outputs and tables
  // by measuring every box of the page once it had loaded: a layout of the whole chapter in one task,
  // the longest of its load (docs/_ext/page_assets.py takes that check out; custom.css lets the
  // browser skip laying out the sections off screen). Here a box is measured when it comes near the
  // screen (it is laid out then anyway), and every box at once when the reader first presses Tab:
  // only then does the keyboard need the boxes far away, before the focus moves.
  // pydata's rule: a box that scrolls gets tabindex 0, one that does not gets -1. A focusable <div>
  // also needs a role and a name, so a scrolling table's wrapper is a region "표 N" (N counts the
  // page's tables: names stay unique). A display formula (docs/_ext/math_svg.py) gets tabindex 0
  // while it scrolls sideways; its MathML is what a screen reader reads there.
  // <html data-scroll-marks>: "near" (the boxes near the screen are marked), "all" (every box).
  const BOXES = ["pre", ".nboutput > .output_area", ".cell_output > .output", ".jp-RenderedHTMLCommon",
    ".pst-scrollable-table-container", 'mjx-container[display="true"]'].join(", ");
  const scrollsX = (e) => e.scrollWidth > e.clientWidth + 1;
  const scrollsY = (e) => e.scrollHeight > e.clientHeight + 1;
  const mark = (box, tableNumber) => {
    if (box.matches('mjx-container[display="true"]')) {
      if (scrollsX(box)) box.tabIndex = 0;
      else box.removeAttribute("tabindex");
      return;
    }
    const scrolls = scrollsX(box) || scrollsY(box);
    box.tabIndex = scrolls ? 0 : -1;
    if (!tableNumber) return;
    if (scrolls) {
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", `표 ${tableNumber}`);
    } else if (box.getAttribute("role") === "region") {
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  };
  const root = document.documentElement;
  let unmarked = new Map(); // box -> its table number (0: not a table)
  const marked = new Map(); // likewise, the boxes marked since the last start
  // A marked box is marked again whenever its size changes: the column can still be settling when a
  // box is first measured (after a resize, a sidebar shown or hidden), and a box 10 px narrower may
  // scroll where it did not.
  const resized = "ResizeObserver" in window
    ? new ResizeObserver((entries) => {
      for (const entry of entries) if (marked.has(entry.target)) mark(entry.target, marked.get(entry.target));
    })
    : null;
  const markOne = (box) => {
    if (!unmarked.has(box)) return;
    mark(box, unmarked.get(box));
    marked.set(box, unmarked.get(box));
    unmarked.delete(box);
    if (near) near.unobserve(box);
    if (resized) resized.observe(box);
  };
  const markAgain = () => marked.forEach((number, box) => mark(box, number));
  const markEvery = () => {
    // the keyboard needs them all now: those marked before (near the screen, perhaps while the column
    // was still settling) are measured again with the rest
    markAgain();
    for (const box of Array.from(unmarked.keys())) markOne(box);
    root.dataset.scrollMarks = "all";
  };
  const near = "IntersectionObserver" in window
    ? new IntersectionObserver((entries) => {
      for (const entry of entries) if (entry.isIntersecting) markOne(entry.target);
    }, { rootMargin: "100% 0px" })
    : null;
  const start = () => {
    if (near) near.disconnect();
    if (resized) resized.disconnect();
    marked.clear();
    const tables = Array.from(document.querySelectorAll(".pst-scrollable-table-container"));
    unmarked = new Map(Array.from(document.querySelectorAll(BOXES), (box) => [box, tables.indexOf(box) + 1]));
    if (!near) return markEvery();
    unmarked.forEach((_, box) => near.observe(box));
    root.dataset.scrollMarks = "near";
  };
  // Past a breakpoint the theme slides a sidebar in or out (its margin, over 0.2 s): the column's width
  // changes after the boxes were measured, and those in sections the browser skips (off screen) get no
  // ResizeObserver report. Once such a move ends, the marked boxes are measured again.
  document.addEventListener("transitionend", (event) => {
    if (/^(margin|padding|width|left|right|flex)/.test(event.propertyName)) markAgain();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Tab" && root.dataset.scrollMarks !== "all") markEvery();
  }, true);
  let pending = null;
  const startLater = () => {
    clearTimeout(pending);
    pending = setTimeout(start, 200);
  };
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start);
  window.addEventListener("resize", startLater);
  // boxes a script adds later (pydata's script watched the article for them too)
  const main = document.getElementById("main-content");
  if (main && "MutationObserver" in window) {
    new MutationObserver((records) => {
      if (records.some((r) => Array.from(r.addedNodes).some((n) => n.nodeType === 1
        && (n.matches(BOXES) || n.querySelector(BOXES))))) startLater();
    }).observe(main, { subtree: true, childList: true });
  }
})();
