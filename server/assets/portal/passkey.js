// The care-team portal's passkey script: registers a passkey with an invite, signs in and
// signs out by calling the JSON API under /portal/api (docs/portal.md). Served by the server
// as /portal/assets/passkey.js; no inline script anywhere (the CSP forbids it).
"use strict";

(function () {
  function fromBase64url(text) {
    let s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    const binary = atob(s);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function post(url, body, headers) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: Object.assign({ "Content-Type": "application/json" }, headers || {}),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      throw new Error((data && data.detail) || "The server answered " + response.status);
    }
    return data;
  }

  function say(text) {
    const status = document.getElementById("status");
    if (status) {
      status.textContent = text;
    }
  }

  async function register(token) {
    const base = "/portal/api/invites/" + encodeURIComponent(token) + "/register/";
    const options = (await post(base + "start")).publicKey;
    options.challenge = fromBase64url(options.challenge);
    options.user.id = fromBase64url(options.user.id);
    (options.excludeCredentials || []).forEach(function (c) {
      c.id = fromBase64url(c.id);
    });
    const credential = await navigator.credentials.create({ publicKey: options });
    await post(base + "finish", {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: toBase64url(credential.response.attestationObject),
        clientDataJSON: toBase64url(credential.response.clientDataJSON),
      },
      extensions: {},
    });
    window.location.assign("/portal/");
  }

  async function signIn() {
    const options = (await post("/portal/api/signin/start")).publicKey;
    options.challenge = fromBase64url(options.challenge);
    (options.allowCredentials || []).forEach(function (c) {
      c.id = fromBase64url(c.id);
    });
    const credential = await navigator.credentials.get({ publicKey: options });
    const r = credential.response;
    await post("/portal/api/signin/finish", {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toBase64url(r.authenticatorData),
        clientDataJSON: toBase64url(r.clientDataJSON),
        signature: toBase64url(r.signature),
        userHandle: r.userHandle ? toBase64url(r.userHandle) : null,
      },
      extensions: {},
    });
    window.location.assign("/portal/");
  }

  async function signOut(csrf) {
    await post("/portal/api/signout", undefined, { "X-CSRF-Token": csrf });
    window.location.assign("/portal/signin");
  }

  function bind(id, action) {
    const button = document.getElementById(id);
    if (!button) {
      return;
    }
    button.addEventListener("click", function () {
      button.disabled = true;
      say("");
      action(button).catch(function (e) {
        say(e && e.message ? e.message : String(e));
        button.disabled = false;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.PublicKeyCredential) {
      say("This browser cannot use passkeys.");
    }
    bind("register", function (b) {
      return register(b.dataset.token);
    });
    bind("signin", function () {
      return signIn();
    });
    bind("signout", function (b) {
      return signOut(b.dataset.csrf);
    });
    bind("print", function (b) {
      window.print();
      b.disabled = false;
      return Promise.resolve();
    });
  });
})();
