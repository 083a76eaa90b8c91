from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection

from server.checkins.lifecycle import media
from server.context import AppContext
from server.demo import DEMO_FACE
from server.settings import Settings
from tests.conftest import make_settings
from webrtc import MediaManager
from webrtc.testing import SyntheticVideoTrack, connect_client

FACE = DEMO_FACE


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    # Short check-ins, so a completed one takes seconds rather than the production 10 s minimum.
    return make_settings(
        db_url, tmp_path,
        checkin_max_seconds=4,
        checkin_min_seconds=1.5,
        checkin_snapshot_interval=0.5,
        checkin_max_snapshots=4,
        checkin_max_sessions=3,
    )


def manager(ctx: AppContext) -> MediaManager:
    return media(ctx)


@pytest.fixture
async def peers() -> AsyncIterator[list[RTCPeerConnection]]:
    """Client peers to close at the end of a test, whatever it asserted."""
    pcs: list[RTCPeerConnection] = []
    yield pcs
    for pc in pcs:
        await pc.close()


class Offerer:
    """Sends a client peer's offer through the HTTP API and keeps what the API answered."""

    def __init__(self, client: httpx.AsyncClient, path: str, headers: dict[str, str], **extra: object) -> None:
        self.client, self.path, self.headers, self.extra = client, path, headers, extra
        self.response: httpx.Response | None = None

    async def __call__(self, sdp: str, type: str) -> tuple[str, str]:
        self.response = await self.client.post(self.path, headers=self.headers,
                                               json={"sdp": sdp, "type": type, **self.extra})
        if self.response.status_code not in (200, 201):
            raise RuntimeError(f"{self.response.status_code} {self.response.text}")
        body = self.response.json()
        return body["sdp"], body["type"]

    @property
    def body(self) -> dict[str, object]:
        assert self.response is not None
        result: dict[str, object] = self.response.json()
        return result


async def start_checkin(
    client: httpx.AsyncClient, headers: dict[str, str], peers: list[RTCPeerConnection],
    track: MediaStreamTrack | None = None, *, audio: bool = False, **extra: object,
) -> tuple[RTCPeerConnection, str]:
    offerer = Offerer(client, "/api/v1/checkins", headers, **extra)
    pc = await connect_client(offerer, track or SyntheticVideoTrack(), audio=audio)
    peers.append(pc)
    assert offerer.response is not None and offerer.response.status_code == 201
    return pc, str(offerer.body["checkin_id"])


async def eventually(predicate: Callable[[], object], timeout: float = 8.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def wait_status(client: httpx.AsyncClient, checkin_id: str, headers: dict[str, str], statuses: set[str],
                      timeout: float = 10.0) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.get(f"/api/v1/checkins/{checkin_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        if body["status"] in statuses:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"check-in stayed {body['status']}")
        await asyncio.sleep(0.1)
