// The daily round without a network: every entry goes into a queue kept in this browser (localStorage)
// with the id chosen when it was made, and the queue is sent whenever the connection is there. The server
// stores an id once, so sending an entry again after a lost answer changes nothing.
(function () {
  "use strict";
  var KEY = "homewatch-round-queue";
  var text = JSON.parse(document.getElementById("round-config").textContent);
  var sending = false;

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(queue) { localStorage.setItem(KEY, JSON.stringify(queue)); render(queue); }
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  function row(subjectId) { return document.querySelector('.round-person[data-subject-id="' + subjectId + '"]'); }
  function mark(subjectId, words) {
    var r = row(subjectId);
    if (r) { r.querySelector(".round-state").textContent = words; }
  }

  function render(queue) {
    var box = document.getElementById("round-queue");
    var list = document.getElementById("queue-list");
    document.getElementById("queue-count").textContent = String(queue.length);
    list.textContent = "";
    queue.forEach(function (entry) {
      var li = document.createElement("li");
      li.textContent = entry.label;
      li.setAttribute("data-entry-id", entry.body.id);
      list.appendChild(li);
    });
    box.hidden = queue.length === 0;
    document.getElementById("round-offline").hidden = navigator.onLine;
  }

  async function flush() {
    if (sending) { return; }
    sending = true;
    try {
      var queue = load();
      while (queue.length) {
        var entry = queue[0];
        var response;
        try {
          response = await fetch(entry.url, {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken() },
            body: JSON.stringify(entry.body)
          });
        } catch (e) {
          break;  // no connection: keep the queue as it is and try again when it returns
        }
        if (response.status >= 500 || response.status === 429 || response.status === 408) { break; }
        queue = load().filter(function (e) { return e.body.id !== entry.body.id; });
        save(queue);
        mark(entry.subjectId, (response.ok ? text.sent : text.refused) + " · " + entry.label);
      }
    } finally {
      sending = false;
      render(load());
    }
  }

  function enqueue(form, submitter) {
    var item = form.closest(".round-person");
    var subjectId = item.getAttribute("data-subject-id");
    var name = item.getAttribute("data-name");
    var entry;
    if (form.getAttribute("data-kind") === "reading") {
      var value = form.querySelector('[name="temperature_c"]').value.trim().replace(",", ".");
      if (!value) { mark(subjectId, text.enter_temperature); return; }
      entry = { url: "/api/v1/subjects/" + subjectId + "/readings", subjectId: subjectId,
                body: { id: newId(), temperature_c: value, source: form.querySelector('[name="source"]').value,
                        taken_at: new Date().toISOString() },
                label: name + " " + value + " °C" };
      form.querySelector('[name="temperature_c"]').value = "";
    } else {
      var parts = (submitter && submitter.value || "visit:not_home").split(":");
      entry = { url: "/api/v1/subjects/" + subjectId + "/contact-attempts", subjectId: subjectId,
                body: { id: newId(), kind: parts[0], outcome: parts[1], at: new Date().toISOString() },
                label: name + " · " + (parts[1] === "no_answer" ? text.no_answer : text.not_home) };
    }
    var queue = load();
    queue.push(entry);
    save(queue);
    mark(subjectId, text.queued + " · " + entry.label);
    flush();
  }

  document.querySelectorAll("form.round-reading, form.round-attempt").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      enqueue(form, event.submitter);
    });
  });
  window.addEventListener("online", flush);
  window.addEventListener("offline", function () { render(load()); });
  render(load());
  flush();
})();
