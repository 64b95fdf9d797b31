// The alerts inbox and an alert's page, kept live. Rows are rendered by the server
// (GET /alerts/ID/row); this script only decides where they go. No framework, no build step.
(function () {
  "use strict";

  var page = document.querySelector("[data-inbox], [data-alert-page]");
  if (!page) return;
  var csrf = page.getAttribute("data-csrf") || "";
  var baseTitle = document.title;
  var unseen = 0;

  // --- acting on an alert: as the signed-in user, with the session's CSRF token ---------------
  function act(id, action, note) {
    return fetch("/alerts/" + id + "/" + action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ note: note || null }),
    }).then(function (response) {
      if (response.ok) return;
      return response.json().then(
        function (error) {
          var detail = error.detail;
          if (Array.isArray(detail)) detail = detail.map(function (d) { return d.msg; }).join("; ");
          throw new Error(String(detail || response.status));
        },
        function () { throw new Error(String(response.status)); }
      );
    });
  }

  function failed(error) {
    var template = page.getAttribute("data-msg-failed") || "%(reason)s";
    var message = template.replace("%(reason)s", error.message);
    var box = page.querySelector("[data-error]");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    } else {
      announce(message);
    }
  }

  page.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button) return;
    var id = button.getAttribute("data-id");
    var noteField = page.querySelector("[data-note]");
    button.disabled = true;
    act(id, button.getAttribute("data-action"), noteField ? noteField.value.trim() : "")
      .then(function () {
        if (page.hasAttribute("data-alert-page")) {
          window.location.reload();
        } else {
          refreshRow(id, false);
        }
      })
      .catch(function (error) {
        button.disabled = false;
        failed(error);
      });
  });

  // --- the inbox: rows placed by their state, counts in the tabs and the title ------------------
  var list = page.querySelector("[data-list]");
  var tab = page.getAttribute("data-tab");

  function announce(text) {
    var region = page.querySelector("[data-announce]");
    if (region) region.textContent = text;
  }

  // The tabs' counts as the server sends them with every row ("open=3,acknowledged=1,...").
  function setCounts(header) {
    (header || "").split(",").forEach(function (pair) {
      var parts = pair.split("=");
      var badge = page.querySelector('[data-count="' + parts[0] + '"]');
      if (badge && parts.length === 2) badge.textContent = parts[1];
    });
  }

  function updateEmpty() {
    var empty = list.querySelector("[data-empty]");
    if (empty) empty.hidden = list.querySelector("article.alert") !== null;
  }

  function showTitle() {
    document.title = unseen > 0 ? "(" + unseen + ") " + baseTitle : baseTitle;
  }

  // The count in the title stays until someone is back at the page: it comes into view, gets
  // the focus, or is clicked or typed in.
  function seen() {
    if (document.visibilityState === "visible" && unseen > 0) {
      unseen = 0;
      showTitle();
    }
  }
  window.addEventListener("focus", seen);
  document.addEventListener("visibilitychange", seen);
  document.addEventListener("keydown", seen);
  document.addEventListener("pointerdown", seen);

  // A new alert stays highlighted for a while, also when its row is replaced by an update.
  var FRESH_MS = 15000;
  var freshUntil = {};

  function highlight(id) {
    freshUntil[id] = Date.now() + FRESH_MS;
    window.setTimeout(function () {
      var row = document.getElementById("alert-" + id);
      if (row) row.classList.remove("alert-fresh");
    }, FRESH_MS);
  }

  // A surge updates its alert with every post: one fetch at a time per alert, and one more
  // after it when events came in meanwhile.
  var inFlight = {};

  function refreshRow(id, isNew) {
    if (isNew) highlight(id);
    if (inFlight[id]) {
      inFlight[id].again = true;
      return inFlight[id].done;
    }
    var state = { again: false };
    state.done = fetchRow(id).then(function () {
      delete inFlight[id];
      if (state.again) return refreshRow(id, false);
    });
    inFlight[id] = state;
    return state.done;
  }

  // Fetch the alert's row and put it where its state belongs.
  function fetchRow(id) {
    return fetch("/alerts/" + id + "/row", { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) return;
      var rowTab = response.headers.get("X-Alert-Tab");
      return response.text().then(function (html) {
        var old = document.getElementById("alert-" + id);
        setCounts(response.headers.get("X-Alert-Counts"));
        if (old && rowTab !== tab) old.remove();
        if (rowTab === tab) {
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var row = holder.querySelector("article.alert");
          if (!row) return;
          if (old && old.isConnected) {
            old.replaceWith(row);
          } else {
            list.insertBefore(row, list.firstChild);
          }
          if ((freshUntil[id] || 0) > Date.now()) row.classList.add("alert-fresh");
        }
        updateEmpty();
      });
    });
  }

  // --- the sound cue: off by default, remembered in this browser ---------------------------------
  var SOUND_KEY = "stadspuls.alertSound";
  var soundButton = page.querySelector("[data-sound]");
  var audio = null;

  function soundOn() {
    try { return window.localStorage.getItem(SOUND_KEY) === "on"; } catch (e) { return false; }
  }

  function showSound() {
    if (!soundButton) return;
    var on = soundOn();
    soundButton.setAttribute("aria-pressed", on ? "true" : "false");
    var label = page.querySelector(on ? "[data-msg-sound-on]" : "[data-msg-sound-off]");
    soundButton.querySelector("[data-sound-label]").textContent = label ? label.textContent : "";
  }

  // Two short tones (880 Hz then 660 Hz), made with the Web Audio API: no sound file to ship.
  function beep() {
    if (!soundOn()) return;
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audio = audio || new Context();
    [[880, 0], [660, 0.18]].forEach(function (tone) {
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      var start = audio.currentTime + tone[1];
      oscillator.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.15);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start);
      oscillator.stop(start + 0.16);
    });
  }

  if (soundButton) {
    showSound();
    soundButton.addEventListener("click", function () {
      try { window.localStorage.setItem(SOUND_KEY, soundOn() ? "off" : "on"); } catch (e) { /* private mode */ }
      showSound();
      beep(); // the click is the user gesture a browser wants before it plays sound
    });
  }

  // --- the live stream ----------------------------------------------------------------------------
  if (list && window.EventSource) {
    var status = page.querySelector("[data-live-status]");
    var showStatus = function (key, state) {
      var message = page.querySelector(key);
      status.textContent = message ? message.textContent : "";
      status.setAttribute("data-state", state);
    };
    var stream = new EventSource("/api/alerts/stream");
    stream.addEventListener("open", function () { showStatus("[data-msg-live]", "live"); });
    stream.addEventListener("error", function () { showStatus("[data-msg-offline]", "offline"); });
    stream.addEventListener("opened", function (event) {
      var data = JSON.parse(event.data);
      refreshRow(data.alert_id, true).then(function () {
        unseen += 1;
        showTitle();
        announce(page.getAttribute("data-msg-new") + ": " + (data.alert.summary || ""));
        beep();
      });
    });
    ["updated", "acknowledged", "resolved", "false_alarm", "note"].forEach(function (kind) {
      stream.addEventListener(kind, function (event) {
        refreshRow(JSON.parse(event.data).alert_id, false);
      });
    });
    window.addEventListener("beforeunload", function () { stream.close(); });
  }
})();
