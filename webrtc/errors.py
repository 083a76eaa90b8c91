"""What the media plane refuses, in its own words: callers catch these, never KeyError or ValueError.

Every error is a :class:`MediaError`; the app maps each kind to an HTTP answer in one place."""

from __future__ import annotations


class MediaError(Exception):
    """Base of every refusal of the media plane."""


class InvalidMediaConfig(MediaError):
    """A media setting (ICE servers, limits) cannot be used; raised at start-up, never per request."""


class InvalidOffer(MediaError):
    """A peer's SDP offer cannot be answered: not an offer, not SDP, or without the media it needs."""


class NotLive(MediaError):
    """The check-in has no connection in this process (never started here, or already ending)."""

    def __init__(self, checkin_id: str) -> None:
        super().__init__(f"check-in {checkin_id} is not live here")
        self.checkin_id = checkin_id


class AlreadyConnected(MediaError):
    """The check-in already has a connection; a second offer for it is refused."""

    def __init__(self, checkin_id: str) -> None:
        super().__init__(f"check-in {checkin_id} already has a connection")
        self.checkin_id = checkin_id


class CapacityExceeded(MediaError):
    """Every session slot is taken; ``retry_after`` seconds is when the soonest one must end."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"all media sessions are busy; retry in {retry_after} s")
        self.retry_after = retry_after


class ManagerClosed(MediaError):
    """The manager is shutting down (or has shut down) and accepts no new session."""

    def __init__(self) -> None:
        super().__init__("the media manager is closed")


class SnapshotFailed(MediaError):
    """A frame could not be turned into a JPEG."""
