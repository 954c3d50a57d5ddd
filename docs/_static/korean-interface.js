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

  // A box that scrolls sideways (a wide table or display formula on a phone) must be reachable with
  // the keyboard (WCAG 2.1.1). pydata's script gives a table's wrapper tabindex 0 while it scrolls;
  // a focusable <div> also needs a role and a name, so such a wrapper is a region "표 N" (N counts the
  // page's tables: names stay unique). A display formula (docs/_ext/math_svg.py) gets tabindex 0 while
  // it scrolls; its MathML is what a screen reader reads there.
  const scrollsX = (e) => e.scrollWidth > e.clientWidth + 1;
  const markScrolling = () => {
    document.querySelectorAll(".pst-scrollable-table-container").forEach((box, i) => {
      if (scrollsX(box) || box.scrollHeight > box.clientHeight + 1) {
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", `표 ${i + 1}`);
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
    document.querySelectorAll('mjx-container[display="true"]').forEach((box) => {
      if (scrollsX(box)) box.tabIndex = 0;
      else box.removeAttribute("tabindex");
    });
  };
  let pending = null;
  const markLater = () => {
    clearTimeout(pending);
    pending = setTimeout(markScrolling, 200);
  };
  if (document.readyState === "complete") markScrolling();
  else window.addEventListener("load", markScrolling);
  window.addEventListener("resize", markLater);
})();
