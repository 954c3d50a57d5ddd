/*
 * Korean for the interface strings no catalog reaches (added by docs/_ext/korean_interface.py,
 * after sphinx-copybutton's script): the copy button's tooltips (sphinx-copybutton has no Korean
 * messages) and two labels for screen readers that sphinx-book-theme and myst-nb hard-code.
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
    // myst-nb's collapsed cells
    document.querySelectorAll('summary[aria-label="Toggle hidden content"]').forEach((summary) => {
      summary.setAttribute("aria-label", "숨긴 내용 열고 닫기");
    });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", relabel);
  else relabel();
})();
