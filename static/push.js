// Push notifications on /settings/push: subscribe this browser through its push service and
// tell Solo, or take it back. The page says plainly when the browser cannot do it.
"use strict";

(function () {
  const panel = document.getElementById("device");
  if (!panel) return;
  const status = document.getElementById("push-status");
  const toggle = document.getElementById("push-toggle");
  const error = document.getElementById("push-error");

  // The page's words, from the JSON base.html puts in a <meta> (solo/edge/i18n.py).
  const MESSAGES = (() => {
    const meta = document.querySelector("meta[name=script-messages]");
    try {
      return meta ? JSON.parse(meta.content) : {};
    } catch (e) {
      return {};
    }
  })();

  function words(key, fallback) {
    return MESSAGES[key] || fallback;
  }

  function say(text, state) {
    status.textContent = text;
    if (state) status.dataset.state = state;
  }

  function fail(text) {
    error.textContent = text;
    error.classList.remove("hidden");
  }

  function keyBytes(base64url) {
    const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  async function tell(path, fields) {
    const body = new FormData();
    body.append("csrf", panel.dataset.csrf);
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
    const response = await fetch(path, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (e) {
      answer = {};
    }
    if (!response.ok) throw new Error(answer.error || words("answered", "The server answered {n}. Try again.").replace("{n}", String(response.status)));
    return answer;
  }

  function show(subscribed) {
    toggle.classList.remove("hidden");
    toggle.dataset.on = subscribed ? "1" : "";
    toggle.textContent = subscribed
      ? words("pushTurnOff", "Turn off on this device")
      : words("pushTurnOn", "Turn on notifications");
    toggle.className = subscribed ? "secondary" : "";
    say(
      subscribed
        ? words("pushOn", "On: this device gets your notifications.")
        : words("pushOff", "Off: this device gets no notifications."),
      subscribed ? "on" : "off"
    );
  }

  async function current() {
    const registration = await navigator.serviceWorker.getRegistration("/");
    return registration ? registration.pushManager.getSubscription() : null;
  }

  async function turnOn() {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      fail(words("pushBlocked", "Notifications are blocked for this site. Allow them in your browser's site settings, then try again."));
      return false;
    }
    const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    await navigator.serviceWorker.ready;
    let subscription = await registration.pushManager.getSubscription();
    if (subscription) await subscription.unsubscribe(); // perhaps made with another server key
    subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(panel.dataset.vapidKey),
    });
    const keys = subscription.toJSON().keys || {};
    try {
      await tell("/settings/push/subscribe", { endpoint: subscription.endpoint, p256dh: keys.p256dh || "", auth: keys.auth || "" });
    } catch (e) {
      await subscription.unsubscribe();
      throw e;
    }
    return true;
  }

  async function turnOff() {
    const subscription = await current();
    if (subscription) {
      await tell("/settings/push/unsubscribe", { endpoint: subscription.endpoint });
      await subscription.unsubscribe();
    }
    return false;
  }

  async function start() {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      say(
        window.isSecureContext
          ? words("pushUnsupported", "This browser cannot receive push notifications. On an iPhone or iPad, add Solo to your home screen first (Share → Add to Home Screen), then open it from there.")
          : words("pushInsecure", "Push notifications need a secure (https) address; this page was opened without one."),
        "unsupported"
      );
      return;
    }
    show(Boolean(await current()));
    toggle.addEventListener("click", async () => {
      error.classList.add("hidden");
      toggle.disabled = true;
      say(toggle.dataset.on ? words("pushTurningOff", "Turning off…") : words("pushTurningOn", "Turning on…"));
      try {
        show(await (toggle.dataset.on ? turnOff() : turnOn()));
      } catch (e) {
        fail(e && e.message ? e.message : String(e));
        show(Boolean(await current()));
      } finally {
        toggle.disabled = false;
        toggle.focus();
      }
    });
  }

  start().catch((e) => fail(String(e)));
})();
