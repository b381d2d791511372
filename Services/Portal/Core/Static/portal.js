// ContactPoint portal: what the pages do with JavaScript, and each still works without it.
// - The error summary takes focus, so a screen reader reads it first (GOV.UK pattern); else
//   a search's results do.
// - A warning two minutes before the session's idle timeout, with a way to stay signed in
//   (WCAG 2.2.1); without it the sign-in page says why the session ended.
// - New alerts appear on the alerts page without reloading (server-sent events).
(function () {
  "use strict";

  var summary = document.querySelector("[data-module=error-summary]");
  var results = document.getElementById("results");
  if (summary) { summary.focus(); } else if (results) { results.focus(); }

  var idleSeconds = parseInt(document.body.getAttribute("data-session-idle-seconds") || "0", 10);
  var warning = document.getElementById("idle-warning");
  if (idleSeconds > 0 && warning) {
    var timers = [];
    var startIdleClock = function () {
      timers.forEach(window.clearTimeout);
      timers = [
        window.setTimeout(function () {
          warning.hidden = false;
          document.getElementById("stay-signed-in").focus();
        }, Math.max(idleSeconds - 120, 1) * 1000),
        window.setTimeout(function () { window.location.assign("/sign-in?ended=idle"); }, idleSeconds * 1000)
      ];
    };
    startIdleClock();
    var stayForm = warning.querySelector("form");
    stayForm.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(stayForm.action, { method: "POST", body: new URLSearchParams(new FormData(stayForm)), credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 204) { warning.hidden = true; startIdleClock(); }
          else { window.location.assign("/sign-in?ended=session"); }
        });
    });
  }

  var live = document.getElementById("alerts-live");
  var body = document.getElementById("alerts-body");
  if (live && body && window.EventSource) {
    var source = new EventSource("/alerts/events?inbox=" + encodeURIComponent(live.getAttribute("data-inbox")) +
      "&after=" + encodeURIComponent(live.getAttribute("data-after")));
    source.addEventListener("alert", function (event) {
      var alert = JSON.parse(event.data);
      var row = document.createElement("tr");
      [alert.when, alert.what, null, alert.from, alert.state].forEach(function (text, column) {
        var cell = document.createElement("td");
        if (column === 2) {
          var link = document.createElement("a");
          link.href = "/children/" + encodeURIComponent(alert.childID);
          link.textContent = alert.childName;
          cell.appendChild(link);
        } else {
          cell.textContent = text;
        }
        row.appendChild(cell);
      });
      body.insertBefore(row, body.firstChild);
      var none = document.getElementById("no-alerts");
      if (none) { none.hidden = true; }
      live.textContent = "New alert: " + alert.what + ", " + alert.childName;
    });
  }
})();
