// The clinic's call rings on every page of the person: the event stream says "call.requested" within
// a moment of the clinician pressing Call, and this shows an overlay that cannot be missed, with a ring
// where the browser lets a page make sound. It also tells the check-in page when a call has ended
// ("homewatch:call-ended"), so hanging up on one side is seen on the other at once.
(function () {
  "use strict";
  var ring = document.getElementById("ring");
  if (!ring || !("EventSource" in window)) { return; }
  var T = JSON.parse(document.getElementById("ring-text").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var current = null;

  // Cookie-signed writes to the API carry the page's CSRF token when the page has one.
  function csrfHeaders() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? { "X-CSRF-Token": meta.content } : {};
  }
  var sound = null;

  function fill(template, params) {
    return template.replace(/\{(\w+)\}/g, function (match, name) { return name in params ? params[name] : match; });
  }

  function clock(date) {
    try {
      return new Intl.DateTimeFormat(T.locale, { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: T.timeZone }).format(date);
    } catch (e) { return date.toTimeString().slice(0, 5); }
  }

  // A phone-like double beep every two seconds, made with Web Audio (no file to fetch). Browsers allow
  // sound only after the person has touched the page; without that the overlay still shows.
  function startSound() {
    if (navigator.vibrate) { try { navigator.vibrate([500, 250, 500, 250, 500]); } catch (e) { /* not on this device */ } }
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context || sound) { return; }
    try {
      var audio = new Context();
      var beep = function () {
        if (audio.state === "suspended") { audio.resume().catch(function () {}); }
        [0, 0.45].forEach(function (offset) {
          var osc = audio.createOscillator();
          var gain = audio.createGain();
          osc.frequency.value = 660;
          gain.gain.setValueAtTime(0.0001, audio.currentTime + offset);
          gain.gain.exponentialRampToValueAtTime(0.4, audio.currentTime + offset + 0.03);
          gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + offset + 0.35);
          osc.connect(gain).connect(audio.destination);
          osc.start(audio.currentTime + offset);
          osc.stop(audio.currentTime + offset + 0.4);
        });
      };
      beep();
      sound = { audio: audio, timer: setInterval(beep, 2000) };
    } catch (e) { sound = null; }
  }

  function stopSound() {
    if (navigator.vibrate) { try { navigator.vibrate(0); } catch (e) { /* nothing to stop */ } }
    if (!sound) { return; }
    clearInterval(sound.timer);
    sound.audio.close().catch(function () {});
    sound = null;
  }

  function show(call) {
    if (window.homewatchActiveCall === call.call_id) { return; }  // this page is already in that call
    current = call;
    $("ring-who").textContent = fill(T.who, { name: call.clinician, unit: call.unit });
    ring.hidden = false;
    document.body.dataset.ringing = call.call_id;
    $("ring-join").focus();
    startSound();
  }

  function hide() {
    ring.hidden = true;
    delete document.body.dataset.ringing;
    stopSound();
  }

  async function check() {
    try {
      var response = await fetch("/api/v1/me/call", { credentials: "same-origin", headers: { "Accept": "application/json" } });
      if (response.status === 200) {
        var call = await response.json();
        if (!current || current.call_id !== call.call_id || ring.hidden) { show(call); }
      } else if (current && !ring.hidden) {
        hide();
      }
    } catch (e) { /* offline for a moment: the stream reconnects and asks again */ }
  }

  $("ring-join").addEventListener("click", function () {
    if (!current) { return; }
    var callId = current.call_id;
    hide();
    if (typeof window.homewatchJoinCall === "function") {
      window.homewatchJoinCall(callId);
    } else {
      window.location.assign("/me/checkin?call=" + encodeURIComponent(callId));
    }
  });

  $("ring-decline").addEventListener("click", function () {
    if (!current) { return; }
    var callId = current.call_id;
    current = null;
    hide();
    fetch("/api/v1/me/call/" + callId + "/end", { method: "POST", credentials: "same-origin", headers: csrfHeaders() })
      .catch(function () {});
  });

  var source = new EventSource("/api/v1/me/events");
  var openedAt = 0;
  // Asked again on every (re)connection: a call that rang while the stream was down still shows.
  source.addEventListener("open", function () { openedAt = Date.now(); check(); });
  source.addEventListener("call.requested", function (event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { data = null; }
    // The event says who is calling: ring at once; the check confirms it is still ringing.
    // Events replayed just after a reconnection may be old calls: for those only the check decides.
    if (data && data.clinician && Date.now() - openedAt > 1500) { show({ call_id: data.call_id, clinician: data.clinician, unit: data.unit }); }
    check();
  });
  source.addEventListener("call.ended", function (event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    if (current && current.call_id === data.call_id) {
      var missed = !ring.hidden && data.status === "missed";
      hide();
      if (missed) {
        $("missed-call").textContent = fill(T.missed, { name: current.clinician, time: clock(new Date()) });
        $("missed-call").hidden = false;
      }
      current = null;
    }
    document.dispatchEvent(new CustomEvent("homewatch:call-ended", { detail: data }));
  });
  source.addEventListener("reload", check);
})();
