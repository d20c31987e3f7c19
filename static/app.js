// Swapdesk's own script: small progressive enhancements only. Every page
// works without it. Loaded with `defer`; no inline scripts (CSP).
(function () {
  "use strict";

  // Confirm destructive actions: <form data-confirm="Delete this?">.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form && form.getAttribute && form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  }, true);

  // Live character counters: <textarea data-count="id-of-output" maxlength=N>.
  function updateCount(el) {
    var out = document.getElementById(el.getAttribute("data-count"));
    if (!out) return;
    var max = parseInt(el.getAttribute("maxlength") || "0", 10);
    var n = Array.from(el.value).length;
    out.textContent = max ? n + " / " + max : String(n);
    out.classList.toggle("field-error", max > 0 && n > max);
  }
  document.addEventListener("input", function (ev) {
    if (ev.target.hasAttribute && ev.target.hasAttribute("data-count")) updateCount(ev.target);
  });
  function init(root) {
    root.querySelectorAll("[data-count]").forEach(updateCount);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (ev) { init(ev.target); });
})();
