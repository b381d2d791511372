// ContactPoint portal: what the pages do with JavaScript, and each still works without it.
// - The error summary takes focus, so a screen reader reads it first (GOV.UK pattern); else
//   a search's results do.
// - A warning two minutes before the session's idle timeout, with a way to stay signed in
//   (WCAG 2.2.1); without it the sign-in page says why the session ended.
// - New alerts appear on the alerts page without reloading (server-sent events).
// - Passkeys: the WebAuthn ceremonies of the passkey pages, whose forms carry the results.
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

  function fromBase64URL(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }
  function toBase64URL(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function descriptors(text) {
    return text ? text.split(" ").map(function (id) { return { type: "public-key", id: fromBase64URL(id) }; }) : [];
  }
  function passkeyProblem(error) {
    var problem = document.getElementById("passkey-problem");
    problem.textContent = error && error.name === "NotAllowedError"
      ? "The passkey was not used (cancelled or timed out). Try again, or use the code from your authenticator app."
      : "Your browser could not use a passkey here (" + (error && error.name) + ").";
    problem.hidden = false;
    problem.focus();
  }
  function ceremony(form, start, fill) {
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!window.PublicKeyCredential) { passkeyProblem({ name: "NotSupportedError" }); return; }
      start(form.dataset).then(function (credential) {
        fill(form.elements, credential);
        form.submit();
      }, passkeyProblem);
    });
  }
  ceremony(document.getElementById("passkey-assertion"), function (data) {
    return navigator.credentials.get({ publicKey: {
      challenge: fromBase64URL(data.challenge), rpId: data.rpId, allowCredentials: descriptors(data.credentialIds),
      userVerification: "required", timeout: parseInt(data.timeout, 10)
    } });
  }, function (fields, credential) {
    fields["credential-id"].value = toBase64URL(credential.rawId);
    fields["client-data-json"].value = toBase64URL(credential.response.clientDataJSON);
    fields["authenticator-data"].value = toBase64URL(credential.response.authenticatorData);
    fields["signature"].value = toBase64URL(credential.response.signature);
  });
  ceremony(document.getElementById("passkey-creation"), function (data) {
    return navigator.credentials.create({ publicKey: {
      rp: { id: data.rpId, name: "ContactPoint" },
      user: { id: fromBase64URL(data.userId), name: data.userName, displayName: data.userDisplayName },
      challenge: fromBase64URL(data.challenge),
      pubKeyCredParams: [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -8 }],
      excludeCredentials: descriptors(data.excludeIds),
      authenticatorSelection: { userVerification: "required", residentKey: "preferred" },
      attestation: "none", timeout: parseInt(data.timeout, 10)
    } });
  }, function (fields, credential) {
    fields["client-data-json"].value = toBase64URL(credential.response.clientDataJSON);
    fields["attestation-object"].value = toBase64URL(credential.response.attestationObject);
  });

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
