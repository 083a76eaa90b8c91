"""The WebRTC media plane: subjects' video check-ins, clinicians watching them, and live calls."""

from .config import (
    IceServer,
    MediaConfig,
    browser_ice_servers,
    ice_servers_for,
    parse_ice_servers,
    rtc_configuration,
)
from .errors import (
    AlreadyConnected,
    CapacityExceeded,
    InvalidMediaConfig,
    InvalidOffer,
    ManagerClosed,
    MediaError,
    NotLive,
    SnapshotFailed,
)
from .manager import MediaManager
from .session import CheckinOutcome, CheckinResult, Snapshot
from .turn import TurnConfig, parse_turn_urls, turn_credentials

__all__ = [
    "AlreadyConnected",
    "CapacityExceeded",
    "CheckinOutcome",
    "CheckinResult",
    "IceServer",
    "InvalidMediaConfig",
    "InvalidOffer",
    "ManagerClosed",
    "MediaConfig",
    "MediaError",
    "MediaManager",
    "NotLive",
    "Snapshot",
    "SnapshotFailed",
    "TurnConfig",
    "browser_ice_servers",
    "ice_servers_for",
    "parse_ice_servers",
    "parse_turn_urls",
    "rtc_configuration",
    "turn_credentials",
]
