/* The volunteer pages, made easier where JavaScript runs (without it every form still posts):
   the distance as a slider beside its number, the weekday hours only when "only at these hours"
   is chosen, and "notifications on this device": the service worker, the browser's permission,
   PushManager.subscribe with the server's VAPID key, and the subscription posted to the server.
   The map and "use my location" are the report form's (public/intake.js). */
(function () {
  "use strict";

  function radius(box) {
    var range = box.querySelector("[data-radius-range]");
    var number = box.querySelector(".radius-number");
    if (!range || !number) return;
    range.hidden = false;
    range.addEventListener("input", function () { number.value = range.value; });
    number.addEventListener("input", function () {
      var value = parseFloat(number.value.replace(",", "."));
      if (!isNaN(value)) range.value = String(Math.round(value));
    });
  }

  function hours(form) {
    var box = form.querySelector("[data-hours]");
    var spans = form.querySelector("#availability-spans");
    if (!box || !spans) return;
    function show() { box.hidden = !spans.checked; }
    form.querySelectorAll("[data-hours-toggle]").forEach(function (radio) { radio.addEventListener("change", show); });
    show();
  }

  // The VAPID public key (base64url) as the bytes PushManager.subscribe wants.
  function keyBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    base64 += "====".slice((base64.length % 4) || 4);
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function push(panel) {
    var button = panel.querySelector("[data-push-enable]");
    var status = panel.querySelector("[data-push-status]");
    var supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
    if (!supported || !panel.dataset.key) { status.textContent = panel.dataset.textUnsupported; return; }
    button.hidden = false;
    function fail(reason) {
      status.textContent = panel.dataset.textFailed.replace("%(reason)s", reason);
      button.disabled = false;
    }
    function enable() {
      button.disabled = true;
      status.textContent = panel.dataset.textBusy;
      Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") { status.textContent = panel.dataset.textDenied; button.disabled = false; return null; }
        return navigator.serviceWorker.register("/vrijwilligers/sw.js", { scope: "/vrijwilligers/" })
          .then(function () { return navigator.serviceWorker.ready; })
          .then(function (registration) {
            return registration.pushManager.getSubscription().then(function (existing) {
              return existing || registration.pushManager.subscribe({
                userVisibleOnly: true,
                applicationServerKey: keyBytes(panel.dataset.key),
              });
            });
          })
          .then(function (subscription) {
            return fetch(panel.dataset.endpoint, {
              method: "POST",
              credentials: "same-origin",
              headers: { "Content-Type": "application/json", "X-CSRF-Token": panel.dataset.csrf },
              body: JSON.stringify(subscription.toJSON ? subscription.toJSON() : subscription),
            });
          })
          .then(function (response) {
            if (!response.ok) throw new Error("HTTP " + response.status);
            status.textContent = panel.dataset.textOn;
            panel.dataset.pushState = "on";
            button.hidden = true;
          });
      }).catch(function (error) { fail(error && error.message ? error.message : String(error)); });
    }
    button.addEventListener("click", enable);
    // Already on for this device: the browser still holds a subscription of our worker.
    if (Notification.permission === "granted") {
      navigator.serviceWorker.getRegistration("/vrijwilligers/").then(function (registration) {
        return registration ? registration.pushManager.getSubscription() : null;
      }).then(function (subscription) {
        if (!subscription) return;
        status.textContent = panel.dataset.textOn;
        panel.dataset.pushState = "on";
        button.hidden = true;
      }).catch(function () { /* leave the button: switching on again is harmless */ });
    }
  }

  // "Confirmed" and "saved" are said once: a bookmark or a reload should not say them again.
  if (/[?&](welkom|bewaard)=1/.test(window.location.search) && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.hash);
  }
  document.querySelectorAll("[data-radius]").forEach(radius);
  document.querySelectorAll("form.volunteer-form").forEach(hours);
  document.querySelectorAll("[data-push]").forEach(push);
})();
