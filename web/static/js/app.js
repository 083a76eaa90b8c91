// Small enhancements only; every form works without this file.
(function () {
  "use strict";

  // A second tap on a slow connection must not send the same form twice.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        window.setTimeout(function () { button.disabled = true; }, 0);
      }
    });
  });

  // Coming back with the Back button shows the page from cache, buttons still disabled.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once] button[disabled]").forEach(function (b) { b.disabled = false; });
  });

  // Print buttons only make sense where script can open the print dialog.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // After a save or a refusal, move focus to the message so screen readers announce it.
  var target = document.querySelector("#saved, #callback");
  if (target) {
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: false });
  }
})();
