// Shows reminders and ringing calls pushed by homewatch; a tap opens (or focuses) the person's page, or
// for a call the check-in page that joins it.
self.addEventListener("push", (event) => {
  let payload = {};
  try { payload = event.data ? event.data.json() : {}; } catch (_) { payload = { text: event.data && event.data.text() }; }
  const title = payload.title || "homewatch";
  const data = payload.data || {};
  const call = data.kind === "call";
  event.waitUntil(self.registration.showNotification(title, {
    body: payload.text || "",
    tag: call ? "call" : (data.window_start || "homewatch"),
    renotify: call,
    requireInteraction: call,
    vibrate: call ? [500, 250, 500, 250, 500] : undefined,
    data: { url: call && data.url ? data.url : "/me" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((windows) => {
    const url = event.notification.data.url;
    for (const w of windows) {
      if ("navigate" in w && url !== "/me") return w.navigate(url).then((c) => c && c.focus());
      if ("focus" in w) return w.focus();
    }
    return self.clients.openWindow(url);
  }));
});
