"""Video across app processes, as deployed: nginx round-robin (no stickiness) in front of two app
processes on PostgreSQL and Redis, with coturn. Whichever process a request reaches, the media is served
by the process holding it, and frames flow."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection

from server.context import AppContext
from server.db import utcnow
from server.models.checkins import Call, Checkin
from server.scheduler.service import ORPHAN_GRACE_SECONDS, close_orphaned_checkins
from tests.factories import enrol, make_world, staff_headers, subject_headers
from webrtc.testing import SyntheticVideoTrack, connect_client, receive_frames, received_track

from .conftest import Cluster

pytestmark = [pytest.mark.webrtc, pytest.mark.xdist_group("cluster")]


class Offer:
    """Sends a client peer's offer to one URL (the proxy, or one process directly) and keeps the answer."""

    def __init__(self, http: httpx.AsyncClient, url: str, headers: dict[str, str], **extra: object) -> None:
        self.http, self.url, self.headers, self.extra = http, url, headers, extra
        self.body: dict[str, object] = {}

    async def __call__(self, sdp: str, type: str) -> tuple[str, str]:
        response = await self.http.post(self.url, headers=self.headers, json={"sdp": sdp, "type": type, **self.extra})
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{self.url}: {response.status_code} {response.text}")
        self.body = response.json()
        return str(self.body["sdp"]), str(self.body["type"])


async def _owner(ctx: AppContext, model: type[Checkin] | type[Call], row_id: object) -> str | None:
    async with ctx.db.session() as session:
        row = await session.get(model, uuid.UUID(str(row_id)))
        assert row is not None
        return row.media_owner


async def _status(http: httpx.AsyncClient, url: str, headers: dict[str, str], statuses: set[str],
                  timeout: float = 20) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body: dict[str, object] = (await http.get(url, headers=headers)).json()
        if body.get("status") in statuses or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.2)


async def test_checkin_watch_and_call_work_whichever_process_each_request_reaches(
        cluster: Cluster, cluster_ctx: AppContext) -> None:
    world = await make_world(cluster_ctx)
    pcs: list[RTCPeerConnection] = []
    async with httpx.AsyncClient(timeout=30) as http:
        try:
            # A person behind NAT: relay only, with the credentials the app hands out through the proxy.
            ice = (await http.get(f"{cluster.url}/api/v1/ice-servers", headers=world.subj_a)).json()["ice_servers"]
            assert cluster.turn is not None and ice[0]["urls"] == [cluster.turn]
            relay_only = RTCConfiguration(
                iceServers=[RTCIceServer(urls=s["urls"], username=s["username"], credential=s["credential"])
                            for s in ice], iceTransportPolicy=RTCIceTransportPolicy.RELAY)
            checkin = Offer(http, f"{cluster.url}/api/v1/checkins", world.subj_a)
            phone = await connect_client(checkin, SyntheticVideoTrack(), configuration=relay_only)
            pcs.append(phone)
            checkin_id = checkin.body["checkin_id"]
            owner = cluster.owner_index(await _owner(cluster_ctx, Checkin, checkin_id))
            other = 1 - owner
            record = f"{cluster.url}/api/v1/checkins/{checkin_id}"
            assert (await _status(http, record, world.clin_a, {"live"}))["status"] == "live"

            # Watched through the proxy twice (round-robin: one of them lands on the other process), and
            # once sent straight to the process that does not hold the media: frames flow every time.
            for url in (cluster.url, cluster.url, cluster.apps[other]):
                viewer = await connect_client(Offer(http, f"{url}/api/v1/checkins/{checkin_id}/watch",
                                                    world.clin_a), None)
                pcs.append(viewer)
                assert len(await receive_frames(received_track(viewer, "video"), count=5, timeout=15)) == 5
                await viewer.close()

            done = await _status(http, record, world.subj_a, {"completed", "failed", "abandoned"})
            assert done["status"] == "completed", done
            snapshots = done["snapshots"]
            assert isinstance(snapshots, list) and snapshots, done
            # Written by the owner into the shared media directory, served by whichever process answers.
            picture = await http.get(f"{cluster.url}{snapshots[0]['url']}", headers=world.clin_a)
            assert picture.status_code == 200 and picture.content[:2] == b"\xff\xd8"

            # A call whose halves reach different processes: the clinician's on one, the person's on the
            # other. Both meet on the process that claimed the call first.
            ring = await http.post(f"{cluster.url}/api/v1/subjects/{world.subject_b.id}/call", headers=world.clin_b)
            call_id = ring.json()["call_id"]
            host = await connect_client(Offer(http, f"{cluster.apps[0]}/api/v1/calls/{call_id}/host", world.clin_b),
                                        SyntheticVideoTrack(width=160, height=120), audio=True)
            pcs.append(host)
            join = Offer(http, f"{cluster.apps[1]}/api/v1/checkins", world.subj_b, call_id=call_id)
            person = await connect_client(join, SyntheticVideoTrack(), audio=True)
            pcs.append(person)
            assert await _owner(cluster_ctx, Call, call_id) == cluster.apps[0]
            assert await _owner(cluster_ctx, Checkin, join.body["checkin_id"]) == cluster.apps[0]
            assert await receive_frames(received_track(host, "video"), count=5, timeout=15)
            assert await receive_frames(received_track(person, "video"), count=5, timeout=15)
            assert await receive_frames(received_track(person, "audio"), count=5, timeout=15)

            # Hanging up through the process that does not hold the call closes both connections there.
            ended = await http.post(f"{cluster.apps[1]}/api/v1/calls/{call_id}/end", headers=world.clin_b)
            assert ended.status_code == 204, ended.text
            call_checkin = f"{cluster.url}/api/v1/checkins/{join.body['checkin_id']}"
            assert (await _status(http, call_checkin, world.subj_b, {"completed", "abandoned", "failed"}))[
                "status"] in {"completed", "abandoned"}
        finally:
            for pc in pcs:
                await pc.close()


async def test_a_process_that_dies_takes_only_its_own_sessions(cluster: Cluster, cluster_ctx: AppContext) -> None:
    world = await make_world(cluster_ctx)
    third = await enrol(cluster_ctx, world.grid_a, name="张三", phone="13700137001")
    pcs: list[RTCPeerConnection] = []
    async with httpx.AsyncClient(timeout=30) as http:
        try:
            # One check-in held by each process (offered to each directly, so each owns its own).
            people = [(world.subject_a, world.subj_a), (third, subject_headers(cluster_ctx, third))]
            ids = []
            for app, (_, headers) in zip(cluster.apps, people, strict=True):
                offer = Offer(http, f"{app}/api/v1/checkins", headers)
                pcs.append(await connect_client(offer, SyntheticVideoTrack()))
                ids.append(offer.body["checkin_id"])
            for checkin_id, (_, headers) in zip(ids, people, strict=True):
                live = await _status(http, f"{cluster.url}/api/v1/checkins/{checkin_id}", headers, {"live"})
                assert live["status"] == "live"

            cluster.kill(0)
            # The survivor's check-in goes on to completion; the dead process's cannot be watched any more,
            # and the proxy keeps answering (nginx moves on to the live process).
            survivor = await _status(http, f"{cluster.url}/api/v1/checkins/{ids[1]}", people[1][1],
                                     {"completed", "failed", "abandoned"})
            assert survivor["status"] == "completed", survivor
            watch = await http.post(f"{cluster.url}/api/v1/checkins/{ids[0]}/watch",
                                    headers=staff_headers(cluster_ctx, world.clinician_a),
                                    json={"sdp": pcs[0].localDescription.sdp, "type": "offer"})
            assert watch.status_code == 503 and watch.headers["retry-after"], watch.text

            # Once its time is up, the scheduler of a live process records the dead one's check-in as failed
            # (run here with the clock moved on), and leaves the survivor's record as it was.
            later = utcnow() + timedelta(seconds=cluster_ctx.settings.checkin_max_seconds + ORPHAN_GRACE_SECONDS + 60)
            async with cluster_ctx.db.session() as session:
                assert await close_orphaned_checkins(session, now=later, settings=cluster_ctx.settings) == 1
            async with cluster_ctx.db.session() as session:
                dead, alive = [await session.get(Checkin, uuid.UUID(str(i))) for i in ids]
                assert dead is not None and dead.status == "failed"
                assert alive is not None and alive.status == "completed"
        finally:
            for pc in pcs:
                await pc.close()
