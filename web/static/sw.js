// Shows reminders pushed by homewatch; a tap opens (or focuses) the person's page.
self.addEventListener("push", (event) => {
  let payload = {};
  try { payload = event.data ? event.data.json() : {}; } catch (_) { payload = { text: event.data && event.data.text() }; }
  const title = payload.title || "homewatch";
  event.waitUntil(self.registration.showNotification(title, {
    body: payload.text || "",
    tag: (payload.data && payload.data.window_start) || "homewatch",
    data: { url: "/me" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((windows) => {
    for (const w of windows) { if ("focus" in w) return w.focus(); }
    return self.clients.openWindow(event.notification.data.url);
  }));
});
