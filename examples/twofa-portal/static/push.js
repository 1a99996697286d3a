// Polls the push approval while the verification page shows a match
// number. Served as a file: the content security policy allows no inline
// script. Without JavaScript the "continue" button does the same.
"use strict";
(function () {
  var form = document.getElementById("push-poll");
  if (!form) { return; }
  var tries = 0;
  function poll() {
    tries += 1;
    if (tries > 60) { return; }
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { "X-Poll": "1" },
      credentials: "same-origin",
      redirect: "follow"
    }).then(function (response) {
      if (response.status === 204) {
        window.setTimeout(poll, 2000);
      } else {
        window.location.assign(response.redirected ? response.url : "/login/2fa");
      }
    }).catch(function () { window.setTimeout(poll, 4000); });
  }
  window.setTimeout(poll, 2000);
})();
