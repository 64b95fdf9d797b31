/* Stadspuls pages: small progressive enhancements. Every page works without this file; it adds
   the theme toggle, the reason prompt before opening an original post, and "N new posts". */
(function () {
  "use strict";

  var root = document.documentElement;

  function currentTheme() {
    if (root.dataset.theme) return root.dataset.theme;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function showTheme(button) {
    var dark = currentTheme() === "dark";
    button.setAttribute("aria-pressed", dark ? "true" : "false");
    var label = button.querySelector("span");
    if (label) label.textContent = dark ? button.dataset.labelLight : button.dataset.labelDark;
  }

  document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
    showTheme(button);
    button.addEventListener("click", function () {
      var next = currentTheme() === "dark" ? "light" : "dark";
      root.dataset.theme = next;
      try { localStorage.setItem("stadspuls-theme", next); } catch (e) { /* not remembered */ }
      showTheme(button);
      document.dispatchEvent(new CustomEvent("stadspuls:theme"));
    });
  });

  // "Bekijk origineel": opening the original is re-identifying in effect, so the service wants a
  // reason for the audit log; the server answers with the URL.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-open-original]");
    if (!button) return;
    event.preventDefault();
    var reason = window.prompt(button.dataset.prompt || "Reason");
    if (!reason || !reason.trim()) return;
    var body = document.body.getAttribute("hx-headers");
    var headers = { "Content-Type": "application/json" };
    try { Object.assign(headers, JSON.parse(body || "{}")); } catch (e) { /* none */ }
    fetch(button.dataset.openOriginal, {
      method: "POST", headers: headers, credentials: "same-origin",
      body: JSON.stringify({ reason: reason.trim() })
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (data) {
      if (data.url) window.open(data.url, "_blank", "noopener,noreferrer");
    }).catch(function () {
      window.alert(button.dataset.failed || "Could not open the original.");
    });
  });
})();
