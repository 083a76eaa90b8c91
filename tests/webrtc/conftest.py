from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection

from server.demo import DEMO_FACE
from webrtc import CheckinResult, MediaConfig, MediaManager, Snapshot
from webrtc.testing import SyntheticVideoTrack, connect_client

FACE = DEMO_FACE

# Short enough for a fast suite, long enough that snapshots and outcomes are meaningful.
FAST = {"min_completed_seconds": 2.0, "snapshot_interval_seconds": 0.5, "first_snapshot_delay_seconds": 0.2}


class CheckinProbe:
    """The server's side of one check-in, as the callbacks see it."""

    def __init__(self, manager: MediaManager, checkin_id: str, *, call_id: str | None = None) -> None:
        self.manager = manager
        self.checkin_id = checkin_id
        self.call_id = call_id
        self.live = asyncio.Event()
        self.snapshots: list[Snapshot] = []
        self.results: list[CheckinResult] = []
        self.finished = asyncio.Event()

    async def on_live(self) -> None:
        self.live.set()

    async def on_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)

    async def on_finished(self, result: CheckinResult) -> None:
        self.results.append(result)
        self.finished.set()

    async def offer_to(self, sdp: str, type: str) -> tuple[str, str]:
        return await self.manager.start_checkin(
            checkin_id=self.checkin_id,
            sdp=sdp,
            type=type,
            on_live=self.on_live,
            on_snapshot=self.on_snapshot,
            on_finished=self.on_finished,
            call_id=self.call_id,
        )

    async def connect(self, track: MediaStreamTrack | None = None, *, audio: bool = False) -> RTCPeerConnection:
        return await connect_client(self.offer_to, track or SyntheticVideoTrack(), audio=audio)

    async def result(self, timeout: float = 15.0) -> CheckinResult:
        await asyncio.wait_for(self.finished.wait(), timeout)
        assert len(self.results) == 1
        return self.results[0]


@pytest.fixture
async def make_manager() -> AsyncIterator[Callable[..., MediaManager]]:
    managers: list[MediaManager] = []

    def make(**overrides: Any) -> MediaManager:
        manager = MediaManager(MediaConfig(**{**FAST, **overrides}))
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        await manager.close()


@pytest.fixture
async def clients() -> AsyncIterator[list[RTCPeerConnection]]:
    """Client peers to close at the end of a test, whatever it asserted."""
    pcs: list[RTCPeerConnection] = []
    yield pcs
    for pc in pcs:
        await pc.close()


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
