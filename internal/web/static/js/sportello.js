/*
 * Sportello — progressive enhancement only. Every page must work without it.
 * No inline scripts anywhere (strict CSP). Load it with a plain
 * <script src> BEFORE bootstrap-italia.bundle.min.js (no defer): it tells the
 * Video.js bundled in Bootstrap Italia not to inject inline <style> elements,
 * which our CSP (style-src 'self') would block and report as errors.
 *
 * Keyboard shortcuts: an element with data-sp-shortcut="<key>" is focused
 * (inputs, selects, textareas) or clicked (links, buttons) when the user
 * presses that key outside a text field, without Ctrl/Alt/Meta. Example:
 *   <input type="search" data-sp-shortcut="/" aria-keyshortcuts="/">
 * Always pair it with aria-keyshortcuts so assistive technology announces it.
 * Users can turn shortcuts off (WCAG 2.1.4) with
 *   localStorage.setItem("sp-shortcuts", "off")
 * or a settings control that sets it.
 */
(function () {
  "use strict";

  // Must run before the Bootstrap Italia bundle (see above).
  window.VIDEOJS_NO_DYNAMIC_STYLE = true;

  function typingIn(el) {
    if (!el) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function shortcutsEnabled() {
    try {
      return window.localStorage.getItem("sp-shortcuts") !== "off";
    } catch (e) {
      return true;
    }
  }

  function onKeyDown(ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    if (typingIn(ev.target) || !shortcutsEnabled()) return;
    var targets = document.querySelectorAll("[data-sp-shortcut]");
    for (var i = 0; i < targets.length; i++) {
      var el = targets[i];
      if (el.getAttribute("data-sp-shortcut") !== ev.key) continue;
      if (el.disabled || el.closest("[hidden],[inert]")) continue;
      ev.preventDefault();
      if (typingIn(el)) {
        el.focus();
      } else {
        el.click();
      }
      return;
    }
  }

  document.addEventListener("keydown", onKeyDown);

  // ---- Ticket lists: j/k or arrow keys move between rows, Enter opens. ----
  // A table marked data-sp-list has rows marked data-sp-item, each with a
  // link marked data-sp-item-link. Moving focuses that link, so Enter (the
  // browser's own link activation) opens the ticket and screen readers
  // announce the row's link. j/k act outside text fields; the arrow keys
  // only when focus is already in the list, so page scrolling is untouched.
  function listRows(list) {
    return Array.prototype.slice.call(list.querySelectorAll("[data-sp-item]"));
  }

  function moveInList(list, delta, fromKeys) {
    var rows = listRows(list);
    if (!rows.length) return false;
    var current = rows.findIndex(function (r) {
      return r.contains(document.activeElement);
    });
    var next;
    if (current < 0) {
      next = delta > 0 ? 0 : rows.length - 1;
      if (!fromKeys) return false;
    } else {
      next = Math.max(0, Math.min(rows.length - 1, current + delta));
    }
    rows.forEach(function (r) {
      r.classList.remove("sp-current");
    });
    var row = rows[next];
    row.classList.add("sp-current");
    var link = row.querySelector("[data-sp-item-link]") || row.querySelector("a[href]");
    if (link) {
      link.focus();
      if (row.scrollIntoView) row.scrollIntoView({ block: "nearest" });
    }
    return true;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    var list = document.querySelector("[data-sp-list]");
    if (!list) return;
    var inList = list.contains(document.activeElement);
    var delta = 0;
    var letter = false;
    switch (ev.key) {
      case "j":
        delta = 1;
        letter = true;
        break;
      case "k":
        delta = -1;
        letter = true;
        break;
      case "ArrowDown":
        delta = 1;
        break;
      case "ArrowUp":
        delta = -1;
        break;
      default:
        return;
    }
    if (letter && (typingIn(ev.target) || !shortcutsEnabled())) return;
    if (!letter && !inList) return;
    if (moveInList(list, delta, true)) ev.preventDefault();
  });

  document.addEventListener("focusin", function (ev) {
    var row = ev.target.closest && ev.target.closest("[data-sp-item]");
    if (!row) return;
    var list = row.closest("[data-sp-list]");
    listRows(list).forEach(function (r) {
      r.classList.toggle("sp-current", r === row);
    });
  });

  // ---- Live updates: server-sent events tell an open ticket page that it
  // changed; the hidden notice (a status live region) is then shown. ----
  function startLive(el) {
    if (!window.EventSource) return;
    var url = el.getAttribute("data-sp-live");
    if (!url) return;
    var es = new EventSource(url);
    es.addEventListener("changed", function () {
      el.hidden = false;
      es.close();
    });
  }

  // ---- Canned answers: choosing one fills the reply at once (without
  // script the "Insert" button reloads the page with it filled in). ----
  function setupCanned(sel) {
    var target = document.querySelector(sel.getAttribute("data-sp-canned"));
    if (!target) return;
    var button = sel.form && sel.form.querySelector("[data-sp-canned-button]");
    if (button) button.hidden = true;
    sel.addEventListener("change", function () {
      var opt = sel.options[sel.selectedIndex];
      var text = opt && opt.getAttribute("data-text");
      if (!text) return;
      if (target.value.trim() !== "" && target.value !== text) {
        target.value = target.value.replace(/\s+$/, "") + "\n\n" + text;
      } else {
        target.value = text;
      }
      target.focus();
    });
  }

  // ---- Forms whose Enter key should press a button other than the first
  // (the phone registration form: "Search" comes first for scriptless
  // browsers, "Register" is what Enter means once results are live). ----
  function setupDefaultSubmit(form) {
    var button = form.querySelector(form.getAttribute("data-sp-default-submit"));
    if (!button) return;
    form.addEventListener("keydown", function (ev) {
      if (ev.key !== "Enter" || ev.defaultPrevented) return;
      var t = ev.target;
      if (t.tagName !== "INPUT" || t.type === "submit" || t.type === "button") return;
      ev.preventDefault();
      if (t.type === "search" && t.hasAttribute("hx-get") && window.htmx) {
        // Results are already live: Enter just looks up now.
        window.htmx.trigger(t, "search");
        return;
      }
      form.requestSubmit(button);
    });
  }

  // ---- Forms that ask for confirmation (merge). ----
  function setupConfirm(form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-sp-confirm"))) ev.preventDefault();
    });
  }

  // ---- A service's own fields on the registration form: every service's
  // fieldset is in the page (for scriptless browsers); show and submit only
  // the chosen service's. Hidden fieldsets are disabled, so their controls
  // are neither focusable nor posted. ----
  function setupServiceFields(sel) {
    var sets = sel.form ? sel.form.querySelectorAll("fieldset[data-sp-service]") : [];
    if (!sets.length) return;
    function apply() {
      sets.forEach(function (fs) {
        var on = fs.getAttribute("data-sp-service") === sel.value;
        fs.hidden = !on;
        fs.disabled = !on;
      });
    }
    sel.addEventListener("change", apply);
    apply();
  }

  function init() {
    document.querySelectorAll("select[data-sp-service-chooser]").forEach(setupServiceFields);
    document.querySelectorAll("[data-sp-live]").forEach(startLive);
    document.querySelectorAll("select[data-sp-canned]").forEach(setupCanned);
    document.querySelectorAll("form[data-sp-default-submit]").forEach(setupDefaultSubmit);
    document.querySelectorAll("form[data-sp-confirm]").forEach(setupConfirm);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }

  // Expose a tiny hook for page-specific enhancements (tests can check it).
  window.Sportello = window.Sportello || {};
  window.Sportello.version = 1;
})();
