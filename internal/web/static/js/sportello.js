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

  // Expose a tiny hook for page-specific enhancements (tests can check it).
  window.Sportello = window.Sportello || {};
  window.Sportello.version = 1;
})();
