// "Larger text": one switch on every page, remembered on this device. Loaded in <head> without defer,
// so the remembered size applies before the first paint.
(function () {
  "use strict";
  var KEY = "homewatch.text-large";
  var root = document.documentElement;

  function remembered() {
    try { return window.localStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }

  function apply(large) {
    root.classList.toggle("text-large", large);
    var button = document.querySelector("[data-text-size]");
    if (button) { button.setAttribute("aria-pressed", large ? "true" : "false"); }
  }

  apply(remembered());
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector("[data-text-size]");
    if (!button) { return; }
    button.hidden = false;
    apply(root.classList.contains("text-large"));
    button.addEventListener("click", function () {
      var large = !root.classList.contains("text-large");
      try { window.localStorage.setItem(KEY, large ? "1" : "0"); } catch (e) { /* private mode: this page only */ }
      apply(large);
    });
  });
})();
