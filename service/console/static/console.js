// The console's only script of its own. Everything works without it (and without htmx):
// forms post and redirect. With htmx loaded, every htmx request also carries the session's
// CSRF token in a header, read from the page's <meta name="csrf-token">.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  // After a boosted page change, put the keyboard focus where a page load would: on the
  // main content, so a screen reader announces the new page.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (target === document.body) {
      var main = document.getElementById("main");
      if (main) {
        main.focus({ preventScroll: false });
      }
    }
  });

  // A button or link marked data-select-all="NAME" ticks every checkbox named NAME.
  document.addEventListener("click", function (event) {
    var trigger = event.target.closest ? event.target.closest("[data-select-all]") : null;
    if (!trigger) {
      return;
    }
    event.preventDefault();
    var name = trigger.getAttribute("data-select-all");
    var boxes = document.querySelectorAll('input[type="checkbox"][name="' + name + '"]');
    var tick = trigger.getAttribute("data-value") !== "none";
    boxes.forEach(function (box) { box.checked = tick; });
  });
})();
