/* The volunteers' service worker (scope /vrijwilligers/). A push carries one call-out as JSON
   (volunteers/messages.py): {title, body, tag, url, callout_id, arrived,
   actions: [{action: "accepted"|"declined", title, url}]} where each URL is a signed answer
   link and `url` the page to open. The notification offers "coming" and "cannot"; pressing
   one posts that answer (the link is its own authority) and confirms it with a quiet
   notification; pressing the notification itself opens the answer page (a GET changes nothing). */
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

var LABELS = {
  nl: { done: "Uw antwoord is doorgegeven" },
  en: { done: "Your answer was sent" },
};

function words(data) { return LABELS[data.lang] || LABELS.nl; }

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data ? event.data.text() : "" }; }
  var answers = {};
  var actions = [];
  (data.actions || []).forEach(function (action) {
    if (!action.url) return;
    answers[action.action] = action.url;
    actions.push({ action: action.action, title: action.title });
  });
  if (data.arrived) answers.arrived = data.arrived;
  event.waitUntil(self.registration.showNotification(data.title || "Oproep", {
    body: data.body || data.message || "",
    tag: data.tag || ("callout-" + (data.callout_id || "")),
    requireInteraction: true,
    icon: "/static/favicon.svg",
    data: { url: data.url || answers.accepted || "/vrijwilligers", answers: answers, lang: data.lang || "nl" },
    actions: actions,
  }));
});

self.addEventListener("notificationclick", function (event) {
  var note = event.notification;
  var data = note.data || {};
  note.close();
  var link = event.action && data.answers ? data.answers[event.action] : null;
  if (!link) {
    event.waitUntil(self.clients.openWindow(data.url));
    return;
  }
  var label = words(data);
  event.waitUntil(
    fetch(link, { method: "POST", headers: { Accept: "application/json" }, credentials: "omit" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return self.registration.showNotification(label.done, { tag: note.tag, body: note.title, data: data });
      })
      .catch(function () { return self.clients.openWindow(link); })
  );
});
