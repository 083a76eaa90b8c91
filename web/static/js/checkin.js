// A person's video check-in and joining the clinic's call: camera, a guided script, one whole offer.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("checkin-config").textContent);
  var S = config.strings;
  var $ = function (id) { return document.getElementById(id); };
  var pc = null;
  var stream = null;
  var busy = false;

  function text(key, params) {
    var value = S[key];
    Object.keys(params || {}).forEach(function (name) { value = value.replace("{" + name + "}", params[name]); });
    return value;
  }

  function setState(state, message) {
    document.body.dataset.checkinState = state;
    if (message !== undefined && $("status")) { $("status").textContent = message; }
  }

  function clock(iso) {
    var options = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: config.timeZone };
    try { return new Intl.DateTimeFormat(config.locale, options).format(new Date(iso)); }
    catch (e) { return new Date(iso).toTimeString().slice(0, 5); }
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  // The server does not trickle candidates: the offer it gets must already hold all of them.
  function gathered(peer) {
    if (peer.iceGatheringState === "complete") { return Promise.resolve(); }
    return new Promise(function (resolve) {
      var done = function () {
        if (peer.iceGatheringState === "complete") { peer.removeEventListener("icegatheringstatechange", done); resolve(); }
      };
      peer.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 5000);  // an unreachable STUN server must not hold the check-in forever
    });
  }

  function connected(peer) {
    return new Promise(function (resolve, reject) {
      var check = function () {
        if (peer.connectionState === "connected") { resolve(); }
        else if (peer.connectionState === "failed" || peer.connectionState === "closed") { reject(new Error(peer.connectionState)); }
      };
      peer.addEventListener("connectionstatechange", check);
      check();
      setTimeout(function () { reject(new Error("timeout")); }, 20000);
    });
  }


  // The API refuses cookie-signed writes without the page's token (see server/csrf.py).
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  async function postJson(url, body) {
    var response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body)
    });
    var data = await response.json().catch(function () { return {}; });
    if (!response.ok) { throw new Error(data.detail || String(response.status)); }
    return data;
  }

  async function openSession(callId) {
    var constraints = { video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } }, audio: !!callId };
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (e) {
      setState("no-camera", text("no_camera"));
      throw e;
    }
    $("preview").srcObject = stream;
    pc = new RTCPeerConnection({ iceServers: await window.homewatchIceServers(config) });
    stream.getTracks().forEach(function (track) { pc.addTrack(track, stream); });
    if (callId) {
      var remote = new MediaStream();
      pc.addEventListener("track", function (event) {
        remote.addTrack(event.track);
        $("remote").srcObject = remote;
        $("remote").hidden = false;
      });
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    var body = { sdp: pc.localDescription.sdp, type: pc.localDescription.type };
    if (callId) { body.call_id = callId; }
    var answer = await postJson("/api/v1/checkins", body);
    await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
    return answer.checkin_id;
  }

  function closeSession() {
    if (pc) { pc.close(); pc = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    if ($("preview")) { $("preview").srcObject = null; }
    if ($("remote")) { $("remote").hidden = true; $("remote").srcObject = null; }
  }

  async function countdown(title, hint, seconds) {
    $("step").hidden = false;
    $("step-title").textContent = title;
    $("step-hint").textContent = hint;
    for (var left = seconds; left > 0; left--) {
      if (cancelled) { throw new Cancelled(); }
      $("countdown").textContent = String(left);
      await sleep(1000);
    }
    if (cancelled) { throw new Cancelled(); }
  }

  async function outcome(checkinId) {
    for (var i = 0; i < 40; i++) {
      var response = await fetch("/api/v1/checkins/" + checkinId, { credentials: "same-origin" });
      if (response.ok) {
        var record = await response.json();
        if (["completed", "failed", "abandoned"].indexOf(record.status) >= 0) { return record; }
      }
      await sleep(500);
    }
    return null;
  }

  // The person pressed End: every step of a running check-in checks this and stops.
  var cancelled = false;
  function Cancelled() {}

  function show(id, visible) { if ($(id)) { $(id).hidden = !visible; } }

  async function selfCheckin() {
    if (busy) { return; }
    busy = true;
    cancelled = false;
    show("start", false);
    show("intro", false);
    show("hangup", true);
    $("hangup").onclick = function () {
      cancelled = true;
      closeSession();  // camera and microphone are released at once, not after the current step
    };
    setState("connecting", text("connecting"));
    try {
      var checkinId = await openSession(null);
      await connected(pc);
      if (cancelled) { throw new Cancelled(); }
      setState("live", "");
      await countdown(text("face_title"), text("face_hint"), config.script[0]);
      await countdown(text("thermometer_title"), text("thermometer_hint"), config.script[1]);
      show("step", false);
      show("hangup", false);
      closeSession();
      setState("finishing", text("connecting"));
      var record = await outcome(checkinId);
      if (record && record.status === "completed") {
        setState("received", text("received", { time: clock(record.ended_at) }));
      } else {
        throw new Error(record ? record.status : "timeout");
      }
    } catch (e) {
      closeSession();
      show("step", false);
      if (cancelled) {
        setState("stopped", text("stopped"));
      } else if (document.body.dataset.checkinState !== "no-camera") {
        setState("failed", text("failed"));
      }
      show("start", true);
      show("intro", true);
    } finally {
      show("hangup", false);
      busy = false;
    }
  }

  // Joining the clinic's call. It ends when either side hangs up (the clinician's hang-up arrives as
  // "homewatch:call-ended" from ring.js's event stream), or when the connection is lost; each way the
  // camera and microphone are released at once.
  async function joinCall(callId) {
    if (busy) { return; }
    busy = true;
    window.homewatchActiveCall = callId;
    cancelled = false;
    show("start", false);
    show("intro", false);
    show("hangup", true);
    $("preview").classList.add("corner");
    setState("connecting", text("connecting"));
    var ending = null;
    var ended = new Promise(function (resolve) { ending = resolve; });
    var onRemoteEnd = function (event) {
      if (event.detail && event.detail.call_id === callId) { ending(text("call_ended_by_clinic")); }
    };
    document.addEventListener("homewatch:call-ended", onRemoteEnd);
    var tellClinic = function () {
      fetch("/api/v1/me/call/" + callId + "/end",
        { method: "POST", credentials: "same-origin", keepalive: true, headers: { "X-CSRF-Token": csrfToken() } })
        .catch(function () {});
    };
    $("hangup").onclick = function () {
      tellClinic();
      ending(text("call_ended"));
    };
    // Closing the page or the browser mid-call is a hang-up too: say so while the page can (keepalive),
    // so the clinician is not left looking at a frozen picture until the media times out.
    window.addEventListener("pagehide", tellClinic);
    try {
      var opening = openSession(callId);
      opening.catch(function () {});
      await Promise.race([opening, ended]);
      if (pc) { await Promise.race([connected(pc), ended]); }
      if (pc && pc.connectionState === "connected") {
        setState("in-call", text("in_call"));
        var lost = null;
        pc.addEventListener("connectionstatechange", function () {
          if (!pc) { return; }
          if (pc.connectionState === "failed" || pc.connectionState === "closed") { ending(text("call_lost")); }
          // "disconnected" may heal by itself; a call still silent after 2 s has gone.
          if (pc.connectionState === "disconnected" && !lost) {
            lost = setTimeout(function () { if (pc && pc.connectionState !== "connected") { ending(text("call_lost")); } }, 2000);
          }
          if (pc.connectionState === "connected" && lost) { clearTimeout(lost); lost = null; }
        });
      }
      var message = await ended;
      closeSession();
      // Hung up while still connecting: whatever the opening gets afterwards is released too.
      opening.then(closeSession, function () {});
      setState("call-ended", message);
    } catch (e) {
      if (document.body.dataset.checkinState !== "no-camera") {
        setState("failed", text("failed"));
      }
    } finally {
      document.removeEventListener("homewatch:call-ended", onRemoteEnd);
      window.removeEventListener("pagehide", tellClinic);
      window.homewatchActiveCall = null;
      closeSession();
      $("preview").classList.remove("corner");
      show("hangup", false);
      show("start", true);
      show("intro", true);
      busy = false;
    }
  }

  window.homewatchJoinCall = joinCall;

  if ($("start")) { $("start").addEventListener("click", selfCheckin); }
  setState("ready");
  // Arriving from the ring on another page: join the call that was answered there.
  var answered = new URLSearchParams(window.location.search).get("call");
  if (answered && config.active) {
    window.history.replaceState(null, "", window.location.pathname);
    joinCall(answered);
  }
})();
