// A clinician watching a live check-in or calling a person.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("watch-config").textContent);
  var S = config.strings;
  var $ = function (id) { return document.getElementById(id); };
  var pc = null;
  var stream = null;
  var callId = null;
  var joined = false;
  var events = null;
  var ringTimer = null;
  var stopped = false;

  function setState(state, message) {
    if (stopped && state !== "ended") { return; }  // late media events must not revive an ended page
    document.body.dataset.watchState = state;
    if (message !== undefined) { $("status").textContent = message; }
  }

  function gathered(peer) {
    if (peer.iceGatheringState === "complete") { return Promise.resolve(); }
    return new Promise(function (resolve) {
      peer.addEventListener("icegatheringstatechange", function () {
        if (peer.iceGatheringState === "complete") { resolve(); }
      });
      setTimeout(resolve, 5000);
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
      body: JSON.stringify(body || {})
    });
    var data = await response.json().catch(function () { return {}; });
    if (!response.ok) { throw new Error(data.detail || String(response.status)); }
    return data;
  }

  async function start() {
    if (config.mode === "call") {
      // Ring before opening the camera and gathering addresses, so "Call" reaches the person in well
      // under the two seconds they wait for.
      // Rung already when the clinician pressed Call (the page's form); opened directly, ring now.
      callId = config.callId || (await postJson("/api/v1/subjects/" + config.target + "/call")).call_id;
      document.body.dataset.callId = callId;
      setState("ringing", S.waiting);
      // Nobody answers within the ring time: hang up, which records a missed call on both sides.
      ringTimer = setTimeout(function () { if (!joined) { hangUp(S.no_answer); } }, config.ringSeconds * 1000);
    }
    // Ask for the microphone before the offer: a page holding a media permission shows its real host
    // addresses, while one without gets mDNS names the server cannot resolve (a slow, relayed start).
    try {
      var wantVideo = config.mode === "call";
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: wantVideo });
      } catch (e) {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      }
    } catch (e) {
      setState("no-microphone", S.no_microphone);
      stream = null;
    }
    if (stopped) { stop(); return; }  // hung up while the camera was opening: release it again
    pc = new RTCPeerConnection({ iceServers: await window.homewatchIceServers(config) });
    var remote = new MediaStream();
    pc.addEventListener("track", function (event) {
      remote.addTrack(event.track);
      $("remote").srcObject = remote;
    });
    pc.addEventListener("connectionstatechange", function () {
      if (!pc) { return; }
      if (pc.connectionState === "connected") {
        setState("connected", config.mode === "call" ? S.waiting : S.connected);
      } else if (pc.connectionState === "failed" || pc.connectionState === "closed") {
        hangUp(S.connection_lost);
      }
    });
    var sent = { audio: false, video: false };
    if (stream) {
      $("preview").srcObject = stream;
      stream.getTracks().forEach(function (track) {
        pc.addTransceiver(track, { direction: "sendrecv", streams: [stream] });
        sent[track.kind] = true;
      });
    }
    ["video", "audio"].forEach(function (kind) {
      if (!sent[kind]) { pc.addTransceiver(kind, { direction: "recvonly" }); }
    });
    $("remote").addEventListener("playing", function () {
      if (config.mode === "call" || document.body.dataset.watchState !== "video") { setState("video", S.connected); }
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    if (stopped || !pc) { return; }
    var offer = { sdp: pc.localDescription.sdp, type: pc.localDescription.type };
    var url;
    if (config.mode === "call") {
      url = "/api/v1/calls/" + callId + "/host";
    } else {
      url = "/api/v1/checkins/" + config.target + "/watch";
    }
    var answer = await postJson(url, offer);
    if (stopped || !pc) { return; }
    await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
  }

  function stop(message) {
    var first = !stopped;
    stopped = true;
    if (pc) { pc.close(); pc = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    if (events) { events.close(); events = null; }
    clearTimeout(ringTimer);
    $("hangup").hidden = true;
    if (first) { setState("ended", message); }
  }

  // Hanging up tells the server first, so the person's page hears of it at once (not after a media
  // timeout); keepalive lets the request finish even when the page is being closed.
  function hangUp(message) {
    if (callId && !stopped) {
      fetch("/api/v1/calls/" + callId + "/end",
        { method: "POST", credentials: "same-origin", keepalive: true, headers: { "X-CSRF-Token": csrfToken() } })
        .catch(function () {});
    }
    stop(message);
  }

  // The other side's endings arrive on the staff event stream: the person hung up or never answered,
  // or the watched check-in finished.
  function listen() {
    if (!("EventSource" in window)) { return; }
    events = new EventSource("/api/v1/events");
    events.addEventListener("call.ended", function (event) {
      var data = JSON.parse(event.data);
      if (!callId || data.call_id !== callId || stopped) { return; }
      stop(data.status === "missed" ? S.declined : S.person_ended);
    });
    events.addEventListener("checkin.started", function (event) {
      var data = JSON.parse(event.data);
      if (callId && data.call_id === callId) { joined = true; }
    });
    events.addEventListener("checkin.completed", function (event) {
      var data = JSON.parse(event.data);
      if (config.mode === "watch" && data.checkin_id === config.target) { stop(S.checkin_ended); }
    });
  }

  $("hangup").addEventListener("click", function () { hangUp(callId && !joined ? S.missed : S.call_ended); });
  window.addEventListener("pagehide", function () { hangUp(S.call_ended); });
  setState("starting", "");
  listen();
  start().catch(function (e) { stop(e.message); });
})();
