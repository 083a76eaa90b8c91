"""The WebRTC media plane: subjects' video check-ins, clinicians watching them, and live calls."""

from .config import IceServer, MediaConfig, browser_ice_servers, parse_ice_servers, rtc_configuration
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
    "browser_ice_servers",
    "parse_ice_servers",
    "rtc_configuration",
]
