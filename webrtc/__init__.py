"""The WebRTC media plane: subjects' video check-ins, clinicians watching them, and live calls."""

from .config import IceServer, MediaConfig, browser_ice_servers, parse_ice_servers, rtc_configuration
from .manager import CapacityExceeded, MediaManager
from .session import CheckinOutcome, CheckinResult, Snapshot

__all__ = [
    "CapacityExceeded",
    "CheckinOutcome",
    "CheckinResult",
    "IceServer",
    "MediaConfig",
    "MediaManager",
    "Snapshot",
    "browser_ice_servers",
    "parse_ice_servers",
    "rtc_configuration",
]
