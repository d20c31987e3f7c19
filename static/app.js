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
  // The server puts the member's running jobs in the title: "(2) Jobs ·
  // Swapdesk". As cards of their own jobs finish on this page, count down
  // (cards never go from final back to running; other members' cards, which
  // admins see, do not count).
  var titleParts = /^\((\d+)\) ([\s\S]*)$/.exec(document.title);
  var runningAtLoad = titleParts ? parseInt(titleParts[1], 10) : 0;
  var baseTitle = titleParts ? titleParts[2] : document.title;
  var ownCardsAtLoad = null;
  function ownRunningCards() {
    return document.querySelectorAll('.job-card[data-own="true"][data-final="false"]').length;
  }
  function updateTitle() {
    var now = ownRunningCards();
    if (ownCardsAtLoad === null) ownCardsAtLoad = now;
    var n = Math.max(0, runningAtLoad - Math.max(0, ownCardsAtLoad - now));
    document.title = n > 0 ? "(" + n + ") " + baseTitle : baseTitle;
  }

  // Disable a form's submit button once submitted (the server also
  // deduplicates by the form's one-time token).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!ev.defaultPrevented && form.hasAttribute && form.hasAttribute("data-once")) {
      setTimeout(function () {
        form.querySelectorAll('button[type="submit"]').forEach(function (b) { b.disabled = true; });
      }, 0);
    }
  });

  // Field messages from a submit (the 422 page marks them data-from-submit)
  // stay until the member changes that field: the estimates htmx sends as
  // the page loads and as the member types swap every field's message out
  // of band, and would blank them. A field's aria-invalid follows its
  // message.
  function fieldChanged(ev) {
    var el = ev.target;
    if (!el || !el.form || el.form.id !== "job-form" || !el.name) return;
    var msg = document.getElementById(el.name + "-error");
    if (msg) msg.removeAttribute("data-from-submit");
  }
  document.addEventListener("input", fieldChanged, true);
  document.addEventListener("change", fieldChanged, true);
  document.addEventListener("htmx:oobBeforeSwap", function (ev) {
    var old = ev.detail && ev.detail.target;
    if (!old || !old.classList || !old.classList.contains("field-error")) return;
    if (old.hasAttribute("data-from-submit")) {
      ev.detail.shouldSwap = false;
      return;
    }
    var form = document.getElementById("job-form");
    var controls = form && form.elements[old.id.replace(/-error$/, "")];
    if (!controls) return;
    var bad = ev.detail.fragment.textContent.trim() !== "" ? "true" : "false";
    (controls.length !== undefined && !controls.tagName ? Array.from(controls) : [controls]).forEach(function (c) {
      c.setAttribute("aria-invalid", bad);
    });
  });

  // The estimate's money saver ("Use 15 s and save 10 credits") is a link
  // to the form with that duration; here it sets the duration field instead
  // and lets the estimate follow.
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("[data-set-duration]");
    var input = document.getElementById("duration");
    if (!link || !input) return;
    ev.preventDefault();
    input.value = link.getAttribute("data-set-duration");
    input.dispatchEvent(new Event("change", { bubbles: true }));
    input.focus();
  });

  // The gallery's zip selection (views/gallery_select.templ): checkboxes
  // [data-select] name the form in their form attribute. Shift-click ticks
  // or clears the range from the last box clicked; the bar counts what is
  // ticked, offers "Select all on this page" and "Clear", and refuses more
  // than the form's data-max before anything is sent. Tiles loaded later
  // (htmx) are found by the same queries.
  var lastBox = null;
  function selectionBoxes(form) {
    // getAttribute, not form.id: the boxes are named "id", and a form's
    // named controls shadow its properties.
    return Array.from(document.querySelectorAll('input[data-select][form="' + form.getAttribute("id") + '"]'));
  }
  function updateSelection() {
    var form = document.querySelector("form[data-selection]");
    if (!form) return;
    var boxes = selectionBoxes(form);
    var n = boxes.filter(function (b) { return b.checked; }).length;
    var max = parseInt(form.getAttribute("data-max") || "0", 10);
    form.classList.add("is-enhanced");
    form.classList.toggle("is-empty", n === 0);
    boxes.forEach(function (b) {
      var tile = b.closest("[data-select-tile]") || b.parentElement;
      if (tile) tile.classList.toggle("is-selected", b.checked);
    });
    var count = form.querySelector("[data-selection-count]");
    var submit = form.querySelector("[data-selection-submit]");
    var all = form.querySelector("[data-select-all]");
    var none = form.querySelector("[data-select-none]");
    if (count) {
      count.textContent = max && n > max ? n + " selected: a zip holds at most " + max + "."
        : n === 1 ? "1 selected" : n + " selected";
    }
    if (submit) {
      submit.textContent = n > 0 ? "Download " + n + " as zip" : "Download as zip";
      submit.disabled = n === 0 || (max > 0 && n > max);
    }
    if (all) all.hidden = n === boxes.length;
    if (none) none.hidden = n === 0;
  }
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!t.closest) return;
    var box = t.closest("input[data-select]");
    if (box) {
      if (ev.shiftKey && lastBox && lastBox !== box && document.contains(lastBox)) {
        var boxes = Array.from(document.querySelectorAll('input[data-select][form="' + box.getAttribute("form") + '"]'));
        var a = boxes.indexOf(lastBox), b = boxes.indexOf(box);
        if (a >= 0 && b >= 0) {
          boxes.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (x) { x.checked = box.checked; });
        }
      }
      lastBox = box;
      updateSelection();
      return;
    }
    var form = t.closest("form[data-selection]");
    if (!form) return;
    if (t.closest("[data-select-all]") || t.closest("[data-select-none]")) {
      var on = !!t.closest("[data-select-all]");
      selectionBoxes(form).forEach(function (x) { x.checked = on; });
      lastBox = null;
      updateSelection();
    }
  });
  // Keyboard toggles (space) change a box without a click.
  document.addEventListener("change", function (ev) {
    if (ev.target.matches && ev.target.matches("input[data-select]")) updateSelection();
  });

  // Gallery tiles: hovering or focusing one plays its short muted preview.
  // The <video> has preload="none" and no src until then, so a page of
  // tiles loads posters only; leaving stops it and lets go of the file.
  var previewDelay = 150; // ms of hover before anything is fetched
  function tileOf(el) { return el && el.closest ? el.closest(".tile") : null; }
  function startPreview(tile) {
    var v = tile && tile.querySelector("video[data-preview]");
    if (!v || v.hasAttribute("data-failed")) return;
    clearTimeout(v._swapdeskTimer);
    v._swapdeskTimer = setTimeout(function () {
      if (!v.getAttribute("src")) v.setAttribute("src", v.getAttribute("data-preview"));
      var p = v.play();
      if (p && p.then) p.then(function () { v.classList.add("is-playing"); }, function () {});
    }, previewDelay);
  }
  function stopPreview(tile) {
    var v = tile && tile.querySelector("video[data-preview]");
    if (!v) return;
    clearTimeout(v._swapdeskTimer);
    v.classList.remove("is-playing");
    if (v.getAttribute("src")) {
      v.pause();
      v.removeAttribute("src");
      v.load();
    }
  }
  document.addEventListener("pointerenter", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("tile") && ev.pointerType !== "touch") startPreview(ev.target);
  }, true);
  document.addEventListener("pointerleave", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("tile")) stopPreview(ev.target);
  }, true);
  document.addEventListener("focusin", function (ev) { startPreview(tileOf(ev.target)); });
  document.addEventListener("focusout", function (ev) {
    var from = tileOf(ev.target);
    if (from && from !== tileOf(ev.relatedTarget)) stopPreview(from);
  });
  // A preview or poster that fails (not made yet, no ffmpeg) leaves the
  // tile's placeholder showing; error events do not bubble, so capture.
  document.addEventListener("error", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("video[data-preview]")) {
      el.setAttribute("data-failed", "");
      el.classList.remove("is-playing");
    } else if (el.matches && el.matches("img.tile-poster, img.job-card-thumb")) {
      el.classList.add("is-broken");
    }
  }, true);
  function markBrokenImages(root) {
    root.querySelectorAll("img.tile-poster, img.job-card-thumb").forEach(function (img) {
      if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) img.classList.add("is-broken");
    });
  }

  // Arrow keys move between gallery tiles (Enter opens one, as any link).
  document.addEventListener("keydown", function (ev) {
    var keys = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: "up", ArrowDown: "down" };
    var dir = keys[ev.key];
    var link = ev.target.closest && ev.target.closest("a[data-tile]");
    if (!dir || !link || ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    var links = Array.from(document.querySelectorAll("a[data-tile]"));
    var i = links.indexOf(link);
    var next;
    if (dir === 1 || dir === -1) {
      next = links[i + dir];
    } else {
      // Same column, next or previous row: the tile whose left edge is
      // closest, among those on the nearest row in that direction.
      var r = link.getBoundingClientRect();
      var best = null, bestRow = null;
      links.forEach(function (l) {
        var b = l.getBoundingClientRect();
        var row = dir === "down" ? b.top - r.top : r.top - b.top;
        if (row <= 1) return;
        if (bestRow === null || row < bestRow - 1 ||
            (Math.abs(row - bestRow) <= 1 && Math.abs(b.left - r.left) < Math.abs(best.getBoundingClientRect().left - r.left))) {
          best = l; bestRow = row;
        }
      });
      next = best;
    }
    if (next) {
      ev.preventDefault();
      next.focus();
      next.scrollIntoView({ block: "nearest" });
    }
  });

  // The gallery's filters leave empty fields out of the URL htmx pushes
  // (the server ignores them either way).
  document.addEventListener("htmx:configRequest", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    if (!elt || elt.id !== "gallery-filters" || ev.detail.verb !== "get") return;
    var params = ev.detail.parameters;
    var keys = typeof params.keys === "function" ? Array.from(params.keys()) : Object.keys(params);
    keys.forEach(function (k) {
      var v = typeof params.get === "function" ? params.get(k) : params[k];
      if (v === "" || v === null || v === undefined) {
        if (typeof params.delete === "function") params.delete(k); else delete params[k];
      }
    });
  });

  // A secret shown once (a new API token): its field selects whole when
  // clicked or focused, and its Copy button (hidden without this script)
  // copies it. The Clipboard API needs a secure context (https or
  // localhost); elsewhere the text is selected and copied the old way, or
  // left selected for Ctrl+C.
  function selectAll(el) {
    if (el.select) { el.focus(); el.select(); }
  }
  document.addEventListener("focusin", function (ev) {
    if (ev.target.matches && ev.target.matches("[data-autoselect]")) selectAll(ev.target);
  });
  document.addEventListener("click", function (ev) {
    if (ev.target.matches && ev.target.matches("[data-autoselect]")) { selectAll(ev.target); return; }
    var btn = ev.target.closest && ev.target.closest("[data-copy]");
    if (!btn) return;
    var src = document.getElementById(btn.getAttribute("data-copy"));
    var status = document.getElementById(btn.getAttribute("data-copy") + "-status");
    if (!src) return;
    var text = src.value !== undefined ? src.value : src.textContent;
    function say(msg) { if (status) status.textContent = msg; }
    function fallback() {
      selectAll(src);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      say(ok ? "Copied. Keep it somewhere safe." : "Selected: press Ctrl+C (⌘C on a Mac) to copy it.");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { say("Copied. Keep it somewhere safe."); }, fallback);
    } else {
      fallback();
    }
  });

  function init(root) {
    root.querySelectorAll("[data-copy][hidden]").forEach(function (b) { b.hidden = false; });
    markBrokenImages(root);
    root.querySelectorAll("[data-count]").forEach(updateCount);
    updateTitle();
    updateSelection();
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (ev) { init(ev.target); });
  document.addEventListener("htmx:afterSettle", updateTitle);
  // Back/forward cache restores a page with a stale disabled button.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once] button[disabled]").forEach(function (b) { b.disabled = false; });
  });
})();
