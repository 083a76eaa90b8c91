// The ICE servers for a video page's peer connection, shared by the check-in and the watch pages.
// TURN credentials expire: take fresh ones just before connecting (the page's own if that fails).
window.homewatchIceServers = async function (config) {
  "use strict";
  if (!config.iceServersUrl) { return config.iceServers; }
  try {
    var response = await fetch(config.iceServersUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } });
    if (response.ok) { return (await response.json()).ice_servers; }
  } catch (e) { /* the page's own below */ }
  return config.iceServers;
};
