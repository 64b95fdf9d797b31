// A case's page, enhanced: picking a template fetches its draft at once (without script the
// "Use this template" button does), and the reply shows its length against the channel's limit.
(function () {
  "use strict";

  var pick = document.querySelector("[data-template-pick]");
  if (pick && window.fetch && window.DOMParser) {
    var select = pick.querySelector("select");
    // The draft is filled in place (the page does not reload under the reader): the same
    // page the button would load, from which the reply form's fields are taken.
    select.addEventListener("change", function () {
      if (!select.value) return;
      var url = pick.action.split("#")[0] + "?template=" + encodeURIComponent(select.value);
      fetch(url, { credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.text() : Promise.reject(answer); })
        .then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          ["body", "subject"].forEach(function (id) {
            var from = page.getElementById(id);
            var to = document.getElementById(id);
            if (from && to) to.value = from.value;
          });
          var chosen = document.querySelector(".reply-form input[name=template]");
          if (chosen) chosen.value = select.value;
          var body = document.getElementById("body");
          if (body) body.dispatchEvent(new Event("input"));
        })
        .catch(function () { pick.submit(); });
    });
  }

  var body = document.getElementById("body");
  var count = document.getElementById("body-count");
  if (body && count) {
    var limit = parseInt(body.dataset.limit || "0", 10);
    var update = function () {
      // Code points, as the channels count them (an emoji is one, not two).
      var n = Array.from(body.value).length;
      var over = limit > 0 && n > limit;
      var text = over ? body.dataset.msgOver : body.dataset.msgCount;
      count.textContent = text.replace("%(n)s", String(n)).replace("%(over)s", String(n - limit));
      count.classList.toggle("over", over);
    };
    body.addEventListener("input", update);
    update();
  }

  // After a refused change the message is the first thing read.
  var error = document.getElementById("error");
  if (error) error.focus();
})();
