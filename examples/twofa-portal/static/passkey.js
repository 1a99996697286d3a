// Runs the passkey ceremonies: a form with `data-passkey-create` (a new
// passkey) or `data-passkey-get` (a login) holds the server's options as
// JSON, binary fields in base64url. On submit the options are decoded,
// handed to navigator.credentials.create or .get, and the browser's answer
// goes back, binary fields in base64url without padding, in the form's
// hidden `response` field. Served as a file: the content security policy
// allows no inline script.
"use strict";
(function () {
  function fromBase64url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4 !== 0) { base64 += "="; }
    var binary = window.atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i += 1) { binary += String.fromCharCode(bytes[i]); }
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeIds(list) {
    (list || []).forEach(function (credential) { credential.id = fromBase64url(credential.id); });
  }

  function creationOptions(json) {
    var options = JSON.parse(json).publicKey;
    options.challenge = fromBase64url(options.challenge);
    options.user.id = fromBase64url(options.user.id);
    decodeIds(options.excludeCredentials);
    return { publicKey: options };
  }

  function requestOptions(json) {
    var options = JSON.parse(json).publicKey;
    options.challenge = fromBase64url(options.challenge);
    decodeIds(options.allowCredentials);
    return { publicKey: options };
  }

  function createdAnswer(credential) {
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      extensions: {},
      response: {
        attestationObject: toBase64url(credential.response.attestationObject),
        clientDataJSON: toBase64url(credential.response.clientDataJSON)
      }
    };
  }

  function assertedAnswer(credential) {
    var handle = credential.response.userHandle;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      extensions: {},
      response: {
        authenticatorData: toBase64url(credential.response.authenticatorData),
        clientDataJSON: toBase64url(credential.response.clientDataJSON),
        signature: toBase64url(credential.response.signature),
        userHandle: handle ? toBase64url(handle) : null
      }
    };
  }

  function show(form, text) {
    var message = form.querySelector(".passkey-error");
    if (message) {
      message.textContent = text;
      message.hidden = false;
    }
  }

  function refusal(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey was not used: the request was cancelled or timed out. Try again, or use another method.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This device already holds a passkey for your account. Use it, or choose another device.";
    }
    return "Your browser could not use a passkey here. Try again, or use another method.";
  }

  function start(form, create) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show(form, "This browser cannot use passkeys. Use another method.");
      return;
    }
    var options;
    try {
      options = create
        ? creationOptions(form.getAttribute("data-passkey-create"))
        : requestOptions(form.getAttribute("data-passkey-get"));
    } catch (error) {
      show(form, "The page could not start the passkey. Reload it and try again.");
      return;
    }
    var ceremony = create ? navigator.credentials.create(options) : navigator.credentials.get(options);
    ceremony.then(function (credential) {
      if (!credential) { throw new Error("no credential"); }
      var answer = create ? createdAnswer(credential) : assertedAnswer(credential);
      form.elements.response.value = JSON.stringify(answer);
      form.submit();
    }).catch(function (error) { show(form, refusal(error)); });
  }

  var forms = document.querySelectorAll("form[data-passkey-create], form[data-passkey-get]");
  Array.prototype.forEach.call(forms, function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      start(form, form.hasAttribute("data-passkey-create"));
    });
  });
})();
