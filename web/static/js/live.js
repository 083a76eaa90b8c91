// Live roster and subject pages: rows, badges and counts follow the event stream without a reload,
// and a visible banner says when the live link is down.
(function () {
  if (!("EventSource" in window)) return;
  const main = document.querySelector("main") || document.body;
  const banner = document.createElement("p");
  banner.className = "panel live-banner";
  banner.setAttribute("role", "status");
  banner.hidden = true;
  banner.dataset.liveBanner = "";
  main.prepend(banner);
  const lang = (document.documentElement.lang || "").toLowerCase();
  const zh = lang.startsWith("zh");
  const text = {
    down: zh ? "实时更新已断开，正在重新连接…" : "Live updates disconnected — reconnecting…",
    fresh: zh ? "有新动态，请刷新页面" : "New activity — refresh",
  };
  let refreshTimer = null;

  function refreshCounts() {
    // Each count links to its status filter; the one without a status is everyone.
    const counts = Array.from(document.querySelectorAll(".counts a.count")).map((a) => ({
      el: a.querySelector(".count-n"), key: new URL(a.href, location.href).searchParams.get("status") || "total",
    })).filter((c) => c.el);
    if (!counts.length) return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      const params = new URLSearchParams(location.search);
      const grid = params.get("grid");
      fetch("/api/v1/roster?limit=1" + (grid ? "&grid_id=" + encodeURIComponent(grid) : ""), { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : null))
        .then((body) => {
          if (!body || !body.counts) return;
          counts.forEach((c) => {
            const value = body.counts[c.key];
            if (value !== undefined) c.el.textContent = String(value);
          });
        }).catch(() => {});
    }, 150);
  }

  function noteNewActivity() {
    const body = document.querySelector("table.roster tbody");
    if (!body || body.querySelector("[data-live-new]")) return;
    const row = document.createElement("tr");
    row.dataset.liveNew = "";
    const cell = document.createElement("td");
    cell.colSpan = 5;
    const link = document.createElement("a");
    link.href = location.href;
    link.textContent = text.fresh;
    cell.append(link);
    row.append(cell);
    body.prepend(row);
  }

  function apply(type, data) {
    if (type === "reload" || type === "roster.refreshed") { noteNewActivity(); refreshCounts(); return; }
    if (!data || !data.subject_id) return;
    const rows = document.querySelectorAll('[data-subject-id="' + data.subject_id + '"]');
    if (!rows.length && document.querySelector("table.roster")) noteNewActivity();
    rows.forEach((row) => {
      if (data.status) {
        row.className = row.className.replace(/\brow-\w+/, "").trim() + " row-" + data.status;
        row.dataset.status = data.status;
      }
      const flags = row.querySelector("[data-flags]");
      if (flags && Array.isArray(data.flags)) {
        flags.dataset.flags = data.flags.join(" ");
        flags.title = data.flags.join(", ");
      }
      if (data.temperature_c !== undefined) {
        const t = row.querySelector("[data-temperature]");
        if (t) t.textContent = Number(data.temperature_c).toFixed(1) + " °C";
      }
      row.dataset.liveUpdated = type;
    });
    refreshCounts();
  }

  const types = ["reading.created", "alert.opened", "alert.acknowledged", "subject.status_changed",
    "checkin.started", "checkin.completed", "subject.released", "roster.refreshed", "reload"];
  function connect() {
    const source = new EventSource("/api/v1/events");
    source.onopen = () => { banner.hidden = true; };
    source.onerror = () => { banner.textContent = text.down; banner.hidden = false; };
    types.forEach((type) => source.addEventListener(type, (event) => {
      let data = null;
      try { data = JSON.parse(event.data); } catch (_) { return; }
      apply(type, data);
    }));
  }
  connect();
})();
