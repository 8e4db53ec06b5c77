// Solo's service worker: shows each push notification and opens its page when clicked. It
// caches nothing: pages are always fresh from the server.
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { body: event.data ? event.data.text() : "" };
  }
  const title = data.title || "Solo";
  const options = {
    body: data.body || "",
    icon: data.icon || "/static/icons/icon-192.png",
    badge: "/static/icons/icon-maskable-192.png",
    lang: data.preferred_locale || "en",
    tag: data.notification_id ? "solo-" + data.notification_id : undefined,
    data: { url: data.url || "/notifications" },
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const wanted = new URL((event.notification.data && event.notification.data.url) || "/notifications", self.location.origin);
  // Only our own pages: a URL elsewhere in a payload is not followed.
  const url = wanted.origin === self.location.origin ? wanted.href : new URL("/notifications", self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const client of windows) {
        if (client.url === url && "focus" in client) return client.focus();
      }
      for (const client of windows) {
        if ("navigate" in client && new URL(client.url).origin === self.location.origin) {
          return client.navigate(url).then((opened) => (opened ? opened.focus() : self.clients.openWindow(url)));
        }
      }
      return self.clients.openWindow(url);
    })
  );
});
