// Live roster and subject pages. The roster re-renders its counts and rows in place from the server
// (same filters, same translated badges) whenever an event for the caller's grids arrives; the subject
// page offers a refresh when something happens to this person. A visible banner says when the live
// link is down; EventSource reconnects by itself and resumes with Last-Event-ID.
(function () {
  if (!("EventSource" in window)) return;
  const main = document.querySelector("main") || document.body;
  const banner = document.createElement("p");
  banner.className = "panel live-banner";
  banner.setAttribute("role", "status");
  banner.hidden = true;
  banner.dataset.liveBanner = "";
  main.prepend(banner);
  // The words come translated from the page (a JSON script tag), in the page's own language.
  const text = JSON.parse(document.getElementById("live-text").textContent);
  const roster = document.querySelector("table.roster");
  const pageSubject = document.querySelector("h1[data-subject-id]");
  let timer = null;
  let inFlight = false;
  let again = false;

  function offerRefresh() {
    if (document.querySelector("[data-live-new]")) return;
    const note = document.createElement("p");
    note.className = "panel live-new";
    note.dataset.liveNew = "";
    note.setAttribute("role", "status");
    const link = document.createElement("a");
    link.href = location.href;
    link.textContent = text.fresh;
    note.append(link);
    main.prepend(note);
  }

  function swap(fresh, selector) {
    const current = document.querySelector(selector);
    const replacement = fresh.querySelector(selector);
    if (current && replacement) current.replaceWith(replacement);
  }

  function rerender() {
    // At most one refetch at a time, and one more if events arrived meanwhile: a burst of readings
    // costs two page renders, not one per reading.
    if (inFlight) { again = true; return; }
    inFlight = true;
    fetch(location.href, { credentials: "same-origin", headers: { "X-Live-Refresh": "1" } })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        swap(fresh, "ul.counts");
        swap(fresh, "table.roster tbody");
        document.body.dataset.liveRendered = String(Date.now());
      })
      .catch(offerRefresh)
      .finally(() => {
        inFlight = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(rerender, 200);
  }

  function apply(type, data) {
    if (roster) { schedule(); return; }
    if (type === "reload" || (pageSubject && data && data.subject_id === pageSubject.dataset.subjectId)) {
      offerRefresh();
    }
  }

  const types = ["reading.created", "alert.opened", "alert.acknowledged", "subject.status_changed",
    "subject.enrolled", "checkin.started", "checkin.completed", "subject.released", "subject.updated",
    "subject.extended", "roster.refreshed", "reload"];
  const source = new EventSource("/api/v1/events");
  source.onopen = () => { banner.hidden = true; };
  source.onerror = () => { banner.textContent = text.down; banner.hidden = false; };
  types.forEach((type) => source.addEventListener(type, (event) => {
    let data = null;
    try { data = JSON.parse(event.data); } catch (_) { return; }
    apply(type, data);
  }));
})();
