"""The one owner of every peer connection of the media plane."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from .config import MediaConfig
from .errors import AlreadyConnected, CapacityExceeded, ManagerClosed, NotLive
from .session import (
    CallHostSession,
    CheckinResult,
    CheckinSession,
    EndReason,
    PeerSession,
    Snapshot,
    SnapshotWorker,
    ViewerSession,
)

logger = logging.getLogger("webrtc")

_CLOSE_GRACE_SECONDS = 15.0


class MediaManager:
    """Holds every check-in, viewer and call-host connection; create one per app, `close()` it on
    shutdown. Sessions are counted together against `max_sessions`, including those still negotiating.
    """

    def __init__(self, config: MediaConfig) -> None:
        self.config = config
        self._checkins: dict[str, CheckinSession] = {}
        self._viewers: dict[tuple[str, str], ViewerSession] = {}
        self._calls: dict[str, CallHostSession] = {}
        self._negotiating: set[PeerSession] = set()
        self._supervisors: set[asyncio.Task[None]] = set()
        self._snapshots = SnapshotWorker()
        self._closed = False

    # -- queries ---------------------------------------------------------------------------------------

    def active_count(self) -> int:
        return len(self._checkins) + len(self._viewers) + len(self._calls)

    def counts(self) -> dict[str, int]:
        """Sessions held now, by kind (for the process's metrics)."""
        return {"checkin": len(self._checkins), "viewer": len(self._viewers), "call": len(self._calls)}

    def live_checkins(self) -> set[str]:
        """Check-ins whose video is arriving now."""
        return {checkin_id for checkin_id, session in self._checkins.items() if session.is_live}

    # -- starting sessions -----------------------------------------------------------------------------

    async def start_checkin(
        self,
        *,
        checkin_id: str,
        sdp: str,
        type: str,
        on_live: Callable[[], Awaitable[None]] | None,
        on_snapshot: Callable[[Snapshot], Awaitable[None]],
        on_finished: Callable[[CheckinResult], Awaitable[None]],
        call_id: str | None = None,
    ) -> tuple[str, str]:
        """Answer a subject's offer. `on_finished` is called exactly once if this returns, never if
        it raises. With `call_id`, the answer carries the call host's audio/video (relayed as soon as
        both are connected, whichever joined first)."""
        self._admit()
        current = self._checkins.get(checkin_id)
        if current is not None:
            raise AlreadyConnected(checkin_id)
        session = CheckinSession(
            checkin_id,
            self.config,
            snapshots=self._snapshots,
            on_live=on_live,
            on_snapshot=on_snapshot,
            on_finished=on_finished,
            call_id=call_id,
        )
        self._checkins[checkin_id] = session
        answer = await self._negotiate(session, sdp, type, lambda: self._checkins.pop(checkin_id, None))
        if call_id is not None and (host := self._calls.get(call_id)) is not None and not host.ending:
            host.attach_subject(session)
        return answer

    async def watch(
        self,
        *,
        checkin_id: str,
        sdp: str,
        type: str,
        viewer_id: str,
        on_ended: Callable[[], Awaitable[None]] | None = None,
    ) -> tuple[str, str]:
        """Answer a clinician's offer with the subject's live video and audio. NotLive if the check-in
        is not connected (or negotiating) here. A viewer with the same id replaces the previous one."""
        checkin = self._checkins.get(checkin_id)
        if checkin is None or checkin.ending:
            raise NotLive(checkin_id)
        key = (checkin_id, viewer_id)
        if (previous := self._viewers.pop(key, None)) is not None:
            previous.request_end(EndReason.ended_by_server)
        self._admit()
        session = ViewerSession(viewer_id, self.config, checkin=checkin, on_ended=on_ended)
        self._viewers[key] = session
        answer = await self._negotiate(session, sdp, type, lambda: self._pop(self._viewers, key, session))
        if checkin.ending:
            session.request_end(EndReason.watched_ended)
        return answer

    async def start_call_host(
        self,
        *,
        call_id: str,
        sdp: str,
        type: str,
        on_ended: Callable[[], Awaitable[None]] | None = None,
    ) -> tuple[str, str]:
        """Answer the clinician opening a call. The answer's tracks stay silent until the subject joins
        through `start_checkin(..., call_id=call_id)`; a reconnecting host replaces the previous one."""
        if (previous := self._calls.pop(call_id, None)) is not None:
            previous.request_end(EndReason.ended_by_server)
        self._admit()
        session = CallHostSession(call_id, self.config, on_ended=on_ended)
        self._calls[call_id] = session
        answer = await self._negotiate(session, sdp, type, lambda: self._pop(self._calls, call_id, session))
        subject = next(
            (s for s in self._checkins.values() if s.call_id == call_id and not s.ending and s.host is None),
            None,
        )
        if subject is not None:
            session.attach_subject(subject)
        return answer

    def _admit(self) -> None:
        if self._closed:
            raise ManagerClosed()
        if self.active_count() >= self.config.max_sessions:
            raise CapacityExceeded(self._retry_after())

    def _retry_after(self) -> int:
        # The soonest a check-in must end by its time limit; viewers and calls follow their check-ins.
        loop = asyncio.get_running_loop()
        remaining = [
            session.opened_at + self.config.max_checkin_seconds - loop.time() for session in self._checkins.values()
        ]
        return max(1, math.ceil(min(remaining, default=self.config.max_checkin_seconds)))

    async def _negotiate(self, session: PeerSession, sdp: str, type: str, forget: Callable[[], Any]) -> tuple[str, str]:
        self._negotiating.add(session)
        try:
            answer = await session.negotiate(sdp, type)
            if self._closed:
                raise ManagerClosed()
        except BaseException:
            forget()
            await session.abort()
            raise
        finally:
            self._negotiating.discard(session)

        def stopped(_: PeerSession) -> None:
            forget()

        supervisor = session.start(stopped)
        self._supervisors.add(supervisor)
        supervisor.add_done_callback(self._supervisors.discard)
        return answer

    @staticmethod
    def _pop(registry: dict[Any, Any], key: Any, session: PeerSession) -> None:
        # A replaced viewer or host must not remove its successor.
        if registry.get(key) is session:
            del registry[key]

    # -- ending sessions -------------------------------------------------------------------------------

    async def end(self, checkin_id: str) -> None:
        """End a check-in (its outcome follows the usual rules) and wait until `on_finished` ran."""
        session = self._checkins.get(checkin_id)
        if session is not None:
            session.request_end(EndReason.ended_by_server)
            await session.wait_stopped()

    async def end_call(self, call_id: str) -> None:
        session = self._calls.get(call_id)
        if session is not None:
            session.request_end(EndReason.ended_by_server)
            await session.wait_stopped()

    async def close(self) -> None:
        """Close every connection and wait for every task; the manager accepts nothing afterwards."""
        self._closed = True
        for negotiating in list(self._negotiating):
            await negotiating.abort()
        sessions: list[PeerSession] = [*self._checkins.values(), *self._viewers.values(), *self._calls.values()]
        for session in sessions:
            session.request_end(EndReason.shutdown)
        if self._supervisors:
            _, pending = await asyncio.wait(set(self._supervisors), timeout=_CLOSE_GRACE_SECONDS)
            for task in pending:
                logger.warning("cancelling %s, still running at shutdown", task.get_name())
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await asyncio.to_thread(self._snapshots.shutdown)
