"""Settings of the media plane and their translation into aiortc and browser ICE configuration."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from aiortc import RTCConfiguration, RTCIceServer

from .errors import InvalidMediaConfig
from .turn import TurnConfig, turn_credentials

_ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


@dataclass(frozen=True, slots=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def __post_init__(self) -> None:
        if not self.urls:
            raise InvalidMediaConfig("an ICE server needs at least one URL")
        for url in self.urls:
            if not url.startswith(_ICE_SCHEMES):
                raise InvalidMediaConfig(f"ICE server URL {url!r} must start with stun:, stuns:, turn: or turns:")


@dataclass(frozen=True, slots=True)
class MediaConfig:
    ice_servers: tuple[IceServer, ...] = ()
    # A TURN server with a shared secret: every peer (the server's own and each page) gets credentials
    # of its own that expire, on top of the static `ice_servers`.
    turn: TurnConfig | None = None
    max_checkin_seconds: float = 60
    max_sessions: int = 32
    snapshot_interval_seconds: float = 2.0
    max_snapshots: int = 10
    min_completed_seconds: float = 10.0
    record: bool = False
    media_dir: Path = Path("var/media")
    # A browser that never completes ICE, or connects but never sends video, must not hold a slot.
    connect_timeout_seconds: float = 15.0
    frame_timeout_seconds: float = 10.0
    # A clinician waiting for the subject to join a call gives up after this long without them.
    call_wait_seconds: float = 120.0
    # The first snapshot waits a moment: a phone camera's first frames are often dark or blurred.
    first_snapshot_delay_seconds: float = 0.5

    def __post_init__(self) -> None:
        positive = {
            "max_checkin_seconds": self.max_checkin_seconds,
            "max_sessions": self.max_sessions,
            "snapshot_interval_seconds": self.snapshot_interval_seconds,
            "connect_timeout_seconds": self.connect_timeout_seconds,
            "frame_timeout_seconds": self.frame_timeout_seconds,
            "call_wait_seconds": self.call_wait_seconds,
        }
        for name, value in positive.items():
            if value <= 0:
                raise InvalidMediaConfig(f"{name} must be positive, got {value}")
        if self.max_snapshots < 0 or self.min_completed_seconds < 0 or self.first_snapshot_delay_seconds < 0:
            raise InvalidMediaConfig(
                "max_snapshots, min_completed_seconds and first_snapshot_delay_seconds must be >= 0")


def parse_ice_servers(text: str) -> tuple[IceServer, ...]:
    """Read ICE servers from a setting: "", a browser-style JSON list, or comma-separated URLs."""
    text = text.strip()
    if not text:
        return ()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidMediaConfig(f"ICE servers: invalid JSON ({exc.msg} at position {exc.pos})") from None
        return tuple(_ice_server_from_json(item, position) for position, item in enumerate(items))
    return tuple(IceServer(urls=(url.strip(),)) for url in text.split(",") if url.strip())


def _ice_server_from_json(item: object, position: int) -> IceServer:
    where = f"ICE servers: entry {position}"
    if not isinstance(item, dict):
        raise InvalidMediaConfig(f"{where} must be an object with 'urls'")
    urls = item.get("urls")
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not urls or not all(isinstance(url, str) for url in urls):
        raise InvalidMediaConfig(f"{where}: 'urls' must be a URL or a non-empty list of URLs")
    unknown = set(item) - {"urls", "username", "credential"}
    if unknown:
        raise InvalidMediaConfig(f"{where}: unknown keys {sorted(unknown)}")
    username, credential = item.get("username"), item.get("credential")
    for name, value in (("username", username), ("credential", credential)):
        if value is not None and not isinstance(value, str):
            raise InvalidMediaConfig(f"{where}: '{name}' must be a string")
    try:
        return IceServer(urls=tuple(urls), username=username, credential=credential)
    except InvalidMediaConfig as exc:
        raise InvalidMediaConfig(f"{where}: {exc}") from None


def ice_servers_for(cfg: MediaConfig, *, who: str, now: float | None = None) -> tuple[IceServer, ...]:
    """The static ICE servers, then the TURN server with credentials made now for `who`."""
    if cfg.turn is None:
        return cfg.ice_servers
    username, credential, _ = turn_credentials(cfg.turn, who=who, now=time.time() if now is None else now)
    return (*cfg.ice_servers, IceServer(urls=cfg.turn.urls, username=username, credential=credential))


# The name the server's own peers give the TURN server: they relay nobody's media but their own.
SERVER_TURN_NAME = "homewatch-server"


def rtc_configuration(cfg: MediaConfig) -> RTCConfiguration:
    # An explicit list, even an empty one: aiortc's default adds a public STUN server, and where UDP
    # is blocked every gathering then waits for it.
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=list(server.urls), username=server.username, credential=server.credential)
            for server in ice_servers_for(cfg, who=SERVER_TURN_NAME)
        ]
    )


def browser_ice_servers(cfg: MediaConfig, *, who: str = "page", now: float | None = None) -> list[dict[str, object]]:
    """The `iceServers` value for `new RTCPeerConnection({iceServers})` in the page. TURN credentials are
    made for `who` and expire: never the shared secret itself."""
    servers: list[dict[str, object]] = []
    for server in ice_servers_for(cfg, who=who, now=now):
        entry: dict[str, object] = {"urls": list(server.urls)}
        if server.username is not None:
            entry["username"] = server.username
        if server.credential is not None:
            entry["credential"] = server.credential
        servers.append(entry)
    return servers
