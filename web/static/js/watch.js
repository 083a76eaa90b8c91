// A clinician watching a live check-in or calling a person.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("watch-config").textContent);
  var S = config.strings;
  var $ = function (id) { return document.getElementById(id); };
  var pc = null;
  var stream = null;

  function setState(state, message) {
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
    pc = new RTCPeerConnection({ iceServers: config.iceServers });
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
        stop(S.call_ended);
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
    var offer = { sdp: pc.localDescription.sdp, type: pc.localDescription.type };
    var url;
    if (config.mode === "call") {
      var call = await postJson("/api/v1/subjects/" + config.target + "/call");
      url = "/api/v1/calls/" + call.call_id + "/host";
    } else {
      url = "/api/v1/checkins/" + config.target + "/watch";
    }
    var answer = await postJson(url, offer);
    await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
  }

  function stop(message) {
    if (pc) { pc.close(); pc = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    setState("ended", message);
  }

  $("hangup").addEventListener("click", function () { stop(S.call_ended); });
  setState("starting", "");
  start().catch(function (e) { stop(e.message); });
})();
