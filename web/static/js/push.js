// "Remind me on this phone": offered only when the server has Web Push keys and the browser can push.
(function () {
  const slot = document.querySelector("[data-push-offer]");
  if (!slot || !("serviceWorker" in navigator) || !("PushManager" in window)) return;

  const words = slot.dataset;  // offer, done, failed: translated by the page

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function keyBytes(base64url) {
    const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  fetch("/api/v1/push/key", { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null)).then((key) => {
    if (!key) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.textContent = words.offer;
    const status = document.createElement("p");
    status.setAttribute("role", "status");
    slot.append(button, status);
    button.addEventListener("click", async () => {
      try {
        const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
        const subscription = await registration.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: keyBytes(key.public_key),
        });
        const response = await fetch("/api/v1/me/push-subscriptions", {
          method: "POST", credentials: "same-origin",
          // The API refuses cookie-signed writes without the page's token (see server/csrf.py).
          headers: { "content-type": "application/json", "X-CSRF-Token": csrfToken() },
          body: JSON.stringify(subscription.toJSON()),
        });
        if (!response.ok) throw new Error(String(response.status));
        status.textContent = words.done;
        button.hidden = true;
      } catch (error) {
        status.textContent = words.failed;
      }
    });
  }).catch(() => {});
})();
