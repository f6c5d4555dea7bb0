// The desk's own behaviour: CSRF for htmx, error messages, focus after swaps, dialogs.
// No inline script anywhere (the Content Security Policy forbids it); htmx runs without eval.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function announce(text) {
    var live = document.getElementById("live");
    if (!live) return;
    live.textContent = "";
    // A fresh text node after a tick makes screen readers announce repeated messages too.
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  function showAlert(text) {
    var box = document.getElementById("alert");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  function clearAlert() {
    var box = document.getElementById("alert");
    if (box) { box.hidden = true; box.textContent = ""; }
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  document.addEventListener("htmx:beforeRequest", clearAlert);

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var data = document.body.dataset;
    if (status === 400) showAlert(data.expiredText);
    else if (status === 403 || status === 404) showAlert(data.forbiddenText);
    else showAlert(data.errorText);
  });

  document.addEventListener("htmx:sendError", function () {
    showAlert(document.body.dataset.networkText);
  });

  // After an item action, move focus to its message (or the heading) so keyboard and
  // screen-reader users continue from what changed.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || !document.body.contains(target)) target = document.getElementById("item");
    if (!target) return;
    var focus = target.querySelector("[data-focus-after-swap]") || target.querySelector("h1");
    if (focus) {
      focus.focus();
      if (focus.hasAttribute("data-focus-after-swap")) announce(focus.textContent.trim());
    }
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && typeof dialog.showModal === "function") {
        dialog.showModal();
        var first = dialog.querySelector("select, textarea, input:not([type=hidden])");
        if (first) first.focus();
      }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) open.close();
    }
  });

  // A dialog's form closes the dialog before htmx swaps the item, so focus is not lost.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var dialog = event.detail.requestConfig && event.detail.requestConfig.elt
      ? event.detail.requestConfig.elt.closest("dialog") : null;
    if (dialog && dialog.open) dialog.close();
  });
})();
