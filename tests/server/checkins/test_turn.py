"""A person whose phone can only reach the TURN server still checks in: a relay-only peer, a real coturn
checking the app's time-limited credentials, the app's own peer reaching the relay."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection

from server.deps import SUBJECT_COOKIE
from server.settings import Settings
from tests.conftest import make_settings
from tests.coturn import Coturn, coturn
from webrtc.testing import SyntheticVideoTrack, connect_client
from webrtc.turn import turn_password

from .conftest import FACE, Offerer, wait_status

pytestmark = pytest.mark.webrtc


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    # One database is enough: this is about the media path, which no database changes.
    path = tmp_path / "homewatch.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def turn(tmp_path: Path) -> Iterator[Coturn]:
    with coturn(tmp_path / "turn") as server:
        yield server


@pytest.fixture
def settings(db_url: str, tmp_path: Path, turn: Coturn) -> Settings:
    return make_settings(
        db_url, tmp_path, checkin_max_seconds=4, checkin_min_seconds=1.5, checkin_snapshot_interval=0.5,
        checkin_max_snapshots=4, turn_urls=turn.url, turn_secret=turn.secret, turn_ttl_seconds=300,
    )


async def test_a_relay_only_phone_completes_a_checkin_through_coturn(client, world, turn, peers):
    answer = await client.get("/api/v1/ice-servers", headers=world.subj_a)
    assert answer.status_code == 200
    servers = answer.json()["ice_servers"]
    assert servers == [{"urls": [turn.url], "username": servers[0]["username"],
                        "credential": servers[0]["credential"]}]
    assert servers[0]["username"].endswith(f":subject-{world.subject_a.id}")
    assert turn.secret not in answer.text

    # The phone sees only what the app handed it, and may use nothing but the relay.
    relay_only = RTCConfiguration(
        iceServers=[RTCIceServer(urls=s["urls"], username=s["username"], credential=s["credential"])
                    for s in servers],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY)
    offerer = Offerer(client, "/api/v1/checkins", world.subj_a)
    pc = await connect_client(offerer, SyntheticVideoTrack.from_file(FACE), configuration=relay_only)
    peers.append(pc)
    assert "typ relay" in pc.localDescription.sdp and "typ host" not in pc.localDescription.sdp
    checkin_id = str(offerer.body["checkin_id"])

    body = await wait_status(client, checkin_id, world.subj_a, {"completed", "failed", "abandoned"}, timeout=20)
    assert body["status"] == "completed", body["error"]
    assert body["frames_received"] >= 20
    # coturn accepted the app's credentials: an allocation for the phone and one for the app's own peer.
    log = turn.log_text()
    assert f"subject-{world.subject_a.id}" in log and "homewatch-server" in log, log[-3000:]


async def test_the_checkin_page_carries_its_own_credentials_and_where_to_renew_them(client, world, turn):
    client.cookies.set(SUBJECT_COOKIE, world.subj_a["Authorization"].removeprefix("Bearer "))
    page = await client.get("/me/checkin")
    match = re.search(r'<script type="application/json" id="checkin-config">(.*?)</script>', page.text, re.S)
    assert match, page.text
    config = json.loads(match.group(1))
    assert config["iceServersUrl"] == "/api/v1/ice-servers"
    [server] = config["iceServers"]
    assert server["urls"] == [turn.url] and server["username"].endswith(f":subject-{world.subject_a.id}")
    assert server["credential"] == turn_password(turn.secret, server["username"])
    assert turn.secret not in page.text


async def test_a_credential_past_its_expiry_or_signed_with_another_secret_is_refused(client, world, turn, peers):
    for username, credential in (("1000:subject-x", turn_password(turn.secret, "1000:subject-x")),
                                 ("4102444800:subject-x", turn_password("another-secret", "4102444800:subject-x"))):
        relay_only = RTCConfiguration(
            iceServers=[RTCIceServer(urls=[turn.url], username=username, credential=credential)],
            iceTransportPolicy=RTCIceTransportPolicy.RELAY)
        pc = RTCPeerConnection(relay_only)
        peers.append(pc)
        pc.addTransceiver("video", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        # No allocation: the offer carries no relay candidate, so such a phone could not connect at all.
        assert "typ relay" not in pc.localDescription.sdp
