"""Concurrent synthetic check-ins against a media server running in its own process.

    .venv/bin/python bench/checkins.py [--quick] [--seconds 8] [--targets floor,manager]
    .venv/bin/python bench/checkins.py --url http://127.0.0.1:8000/offer --pid 1234
    .venv/bin/python bench/checkins.py --quick --targets floor,app
    .venv/bin/python bench/checkins.py --scale [--capacity 150 --churn 1000]

`--scale` is the one run behind the README's video rows: the bare aiortc floor and the app at 16
streams of 320×240 (CPU per stream and their ratio), 32 check-ins connecting at once (first frame
p95), `--capacity` check-ins at once (every stream's rate and snapshots), then, in a fresh app
process, `--churn` check-ins one after another (a few in parallel) with the app's RSS after the
first 50 and after all of them.

`app` is the real homewatch (uvicorn, SQLite, migrated, one enrolled person per concurrent check-in)
taking `POST /api/v1/checkins`; its first-frame and fps columns come from the stored check-in records.

A target is anything that takes `POST {"sdp", "type"}` (JSON) and answers `{"sdp", "type"}`. By default
two are started here, each in a child process so its CPU can be measured on its own:

- `floor`: bare aiortc that decodes and drops frames, the least any server can do;
- `manager`: webrtc.MediaManager with its snapshots and face detection (`manager-record` records too).

They also answer `GET /stats` with what the server saw (first frame, frames per stream), which a
foreign target (`--url`) need not have; those columns then stay empty. With `--pid`, CPU and memory
of that process are measured.

Clients send VP8 packets encoded once up front, so the benchmark process itself stays cheap. They
cannot answer keyframe requests, so they send a keyframe every second (a browser answers a request
within a round trip); a server that snapshots from keyframes waits for those.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import MediaStreamError  # noqa: E402

from bench.app_process import app_process, free_port, stop  # noqa: E402
from webrtc import CheckinResult, MediaConfig, MediaManager, Snapshot  # noqa: E402
from webrtc.config import rtc_configuration  # noqa: E402
from webrtc.testing import PreEncodedVideoTrack, connect_client  # noqa: E402

FULL_CELLS = [(n, size) for size in ((320, 240), (640, 480)) for n in (1, 8, 16, 32)]
QUICK_CELLS = [(1, (320, 240)), (4, (320, 240))]
FPS = 15
KEYFRAME_SECONDS = 1.0


# -- servers (child processes) -------------------------------------------------------------------------


class StatsBook:
    """Per-stream facts a bench server reports: when video started and how much of it arrived."""

    def __init__(self) -> None:
        self.streams: dict[str, dict[str, float]] = {}

    def offered(self, stream_id: str) -> None:
        self.streams[stream_id] = {"offered": time.monotonic(), "frames": 0}

    def frame(self, stream_id: str) -> None:
        stream = self.streams[stream_id]
        now = time.monotonic()
        stream.setdefault("first", now)
        stream["last"] = now
        stream["frames"] += 1

    def report(self) -> list[dict[str, float | None]]:
        rows = []
        for stream in self.streams.values():
            first, last = stream.get("first"), stream.get("last")
            rows.append(
                {
                    "first_frame_ms": None if first is None else (first - stream["offered"]) * 1000,
                    "frames": stream["frames"],
                    "seconds": None if first is None or last is None else last - first,
                }
            )
        return rows


class FloorServer:
    """Decode and drop: what aiortc costs before our code does anything."""

    def __init__(self) -> None:
        self.book = StatsBook()
        self.pcs: set[RTCPeerConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def offer(self, sdp: str, type: str) -> tuple[str, str]:
        stream_id = uuid.uuid4().hex
        self.book.offered(stream_id)
        pc = RTCPeerConnection(rtc_configuration(MediaConfig()))
        self.pcs.add(pc)

        async def consume(track: Any) -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    await track.recv()
                    self.book.frame(stream_id)

        @pc.on("track")
        def on_track(track: Any) -> None:
            task = asyncio.ensure_future(consume(track))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                self.pcs.discard(pc)
                await pc.close()

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=type))
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp, pc.localDescription.type

    def active(self) -> int:
        return len(self.pcs)

    async def close(self) -> None:
        for pc in list(self.pcs):
            await pc.close()


class ManagerServer:
    def __init__(self, record: bool) -> None:
        self.book = StatsBook()
        self.manager = MediaManager(
            MediaConfig(max_sessions=128, max_checkin_seconds=600, record=record, media_dir=Path("/tmp/bench-media"))
        )

    async def offer(self, sdp: str, type: str) -> tuple[str, str]:
        checkin_id = uuid.uuid4().hex
        self.book.offered(checkin_id)
        book = self.book

        async def on_live() -> None:
            book.frame(checkin_id)
            book.streams[checkin_id]["frames"] = 0

        async def on_snapshot(snapshot: Snapshot) -> None:
            pass

        async def on_finished(result: CheckinResult) -> None:
            stream = book.streams[checkin_id]
            stream["frames"] = result.frames_received
            if "first" in stream:
                stream["last"] = stream["first"] + result.duration_s

        return await self.manager.start_checkin(
            checkin_id=checkin_id,
            sdp=sdp,
            type=type,
            on_live=on_live,
            on_snapshot=on_snapshot,
            on_finished=on_finished,
        )

    def active(self) -> int:
        return self.manager.active_count()

    async def close(self) -> None:
        await self.manager.close()


async def serve(kind: str, port: int) -> None:
    """A deliberately tiny HTTP/1.1 server: the benchmark measures media, not a web framework."""
    server: FloorServer | ManagerServer = FloorServer() if kind == "floor" else ManagerServer(kind == "manager-record")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readline()
                if not request:
                    return
                method, path, _ = request.decode().split(" ", 2)
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                status, payload = 200, {}
                if method == "POST" and path == "/offer":
                    offer = json.loads(body)
                    sdp, type = await server.offer(offer["sdp"], offer["type"])
                    payload = {"sdp": sdp, "type": type}
                elif method == "GET" and path == "/stats":
                    payload = {"active": server.active(), "streams": server.book.report()}
                elif method == "POST" and path == "/reset":
                    server.book.streams.clear()
                else:
                    status = 404
                data = json.dumps(payload).encode()
                head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
                writer.write(head.encode() + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", port)
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        listener.close()
        await server.close()


# -- harness -------------------------------------------------------------------------------------------


@dataclass
class Cell:
    target: str
    n: int
    size: tuple[int, int]
    cpu_per_stream_s: float | None = None
    fps_mean: float | None = None
    fps_min: float | None = None
    connect_p95_ms: float | None = None
    first_frame_p95_ms: float | None = None
    peak_rss_mb: float | None = None
    rss_after_mb: float | None = None
    # Per stream: snapshots stored over those its video time called for (app only; the least of them).
    snapshots_min_ratio: float | None = None
    under_14_fps: int | None = None
    failures: int = 0
    client_cpu: float | None = None
    notes: list[str] = field(default_factory=list)


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@dataclass
class AppTarget:
    """The real app: who offers (one person per stream) and who reads the records back."""

    subject_headers: list[dict[str, str]]
    staff_headers: dict[str, str]
    checkin_ids: list[str] = field(default_factory=list)


async def run_cell(
    http: httpx.AsyncClient,
    url: str,
    process: psutil.Process | None,
    target: str,
    n: int,
    size: tuple[int, int],
    seconds: float,
    app: AppTarget | None = None,
    *,
    connecting_at_once: int | None = None,
) -> Cell:
    cell = Cell(target, n, size)
    if connecting_at_once is not None and connecting_at_once < n:
        cell.notes.append(f"connecting {connecting_at_once} at a time")
    gate = asyncio.Semaphore(connecting_at_once or n)
    base = url.rsplit("/", 1)[0]
    has_stats = app is None and (await http.post(f"{base}/reset")).status_code == 200
    if app is not None:
        app.checkin_ids.clear()

    def offer_with(headers: dict[str, str]):  # type: ignore[no-untyped-def]
        async def offer_to(sdp: str, type: str) -> tuple[str, str]:
            response = await http.post(url, json={"sdp": sdp, "type": type}, headers=headers)
            response.raise_for_status()
            answer = response.json()
            if app is not None:
                app.checkin_ids.append(answer["checkin_id"])
            return answer["sdp"], answer["type"]

        return offer_to

    async def connect_one(index: int) -> tuple[RTCPeerConnection, float]:
        track = PreEncodedVideoTrack(width=size[0], height=size[1], fps=FPS, keyframe_seconds=KEYFRAME_SECONDS)
        headers = app.subject_headers[index] if app is not None else {}
        async with gate:
            started = time.monotonic()
            pc = await connect_client(offer_with(headers), track)
            connected = asyncio.Event()
            pc.on("connectionstatechange", lambda: connected.set() if pc.connectionState == "connected" else None)
            if pc.connectionState != "connected":
                await asyncio.wait_for(connected.wait(), 20)
            return pc, (time.monotonic() - started) * 1000

    peak = [0]
    stop_sampling = asyncio.Event()

    async def sample_rss() -> None:
        while not stop_sampling.is_set() and process is not None:
            peak[0] = max(peak[0], process.memory_info().rss)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_sampling.wait(), 0.2)

    sampler = asyncio.create_task(sample_rss())
    me = psutil.Process()
    outcomes = await asyncio.gather(*(connect_one(i) for i in range(n)), return_exceptions=True)
    pcs = [outcome[0] for outcome in outcomes if isinstance(outcome, tuple)]
    cell.failures = n - len(pcs)
    cell.connect_p95_ms = p95([outcome[1] for outcome in outcomes if isinstance(outcome, tuple)])

    await asyncio.sleep(1.0)  # let every stream reach its steady rate before measuring
    cpu0 = process.cpu_times() if process else None
    me0, t0 = me.cpu_times(), time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t0
    if process is not None and cpu0 is not None:
        cpu1 = process.cpu_times()
        used = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
        cell.cpu_per_stream_s = used / (max(1, len(pcs)) * elapsed)
    me1 = me.cpu_times()
    cell.client_cpu = ((me1.user + me1.system) - (me0.user + me0.system)) / elapsed

    for pc in pcs:
        await pc.close()
    if has_stats:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            stats = (await http.get(f"{base}/stats")).json()
            if stats["active"] == 0:
                break
            await asyncio.sleep(0.2)
        else:
            cell.notes.append(f"{stats['active']} sessions still open")
        streams = stats["streams"]
        rates = [s["frames"] / s["seconds"] for s in streams if s["seconds"]]
        if rates:
            cell.fps_mean, cell.fps_min = statistics.fmean(rates), min(rates)
        cell.first_frame_p95_ms = p95([s["first_frame_ms"] for s in streams if s["first_frame_ms"] is not None])
    elif app is not None:
        records = await app_records(http, base, app)
        rates = [r["frames_received"] / r["duration_s"] for r in records if r.get("duration_s")]
        if rates:
            cell.fps_mean, cell.fps_min = statistics.fmean(rates), min(rates)
            cell.under_14_fps = sum(rate < 14 for rate in rates) + (len(records) - len(rates))
        ratios = [len(r["snapshots"]) / due for r in records if (due := snapshots_due(r)) > 0]
        cell.snapshots_min_ratio = min(ratios) if ratios else None
        # created_at is when the offer arrived; started_at when its first frame was decoded.
        cell.first_frame_p95_ms = p95([
            (datetime.fromisoformat(r["started_at"]) - datetime.fromisoformat(r["created_at"])).total_seconds() * 1000
            for r in records if r.get("started_at")
        ])
        if open_ := [r for r in records if r["status"] in ("connecting", "live")]:
            cell.notes.append(f"{len(open_)} check-ins still open")
    await asyncio.sleep(1.0)
    stop_sampling.set()
    await sampler
    if process is not None:
        cell.peak_rss_mb = peak[0] / 2**20
        cell.rss_after_mb = process.memory_info().rss / 2**20
    return cell


def snapshots_due(record: dict[str, Any]) -> int:
    """Snapshots the app's defaults call for over a stored check-in's video: one 0.5 s in, then one
    every 2 s, at most 10, each from the next keyframe (these clients send one a second)."""
    seconds = (record.get("duration_s") or 0.0) - KEYFRAME_SECONDS
    return 0 if seconds < 0.5 else min(10, 1 + int((seconds - 0.5) // 2.0))


async def app_records(http: httpx.AsyncClient, base: str, app: AppTarget) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        records = [
            (await http.get(f"{base}/checkins/{checkin_id}", headers=app.staff_headers)).json()
            for checkin_id in app.checkin_ids
        ]
        if all(r["status"] not in ("connecting", "live") for r in records) or time.monotonic() > deadline:
            return records
        await asyncio.sleep(0.3)


async def _seed_app(settings: Any, people: int) -> AppTarget:
    from server.auth.principal import SYSTEM_STAFF
    from server.auth.security import Tokens
    from server.db import Database, utcnow
    from server.grids.service import create_grid
    from server.migrate import upgrade
    from server.subjects.schemas import SubjectCreate
    from server.subjects.service import enrol
    from server.users.service import create_user

    await upgrade(settings.database_url)
    db = Database.from_url(settings.database_url)
    tokens = Tokens(settings.secret_key, staff_ttl_s=86400, subject_ttl_s=86400)
    try:
        async with db.session() as session:
            grid = await create_grid(session, actor=SYSTEM_STAFF, name="bench")
            admin = await create_user(session, actor=SYSTEM_STAFF, username="bench-admin",
                                      password="bench-password-long", role="admin", grid_ids=[])
            subjects = [
                (await enrol(session, actor=SYSTEM_STAFF, rules=settings.rules, now=utcnow(),
                             body=SubjectCreate(full_name=f"bench {i}", phone=f"1390000{i:04d}", grid_id=grid.id,
                                                observation_type="home", reason="bench")))[0]
                for i in range(people)
            ]
    finally:
        await db.dispose()

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    return AppTarget(
        subject_headers=[bearer(tokens.issue("subject", str(s.id), s.access_code_version)) for s in subjects],
        staff_headers=bearer(tokens.issue("staff", str(admin.id), admin.token_version)),
    )


async def _fresh_postgres(server_url: str, name: str, *, drop_only: bool = False) -> str:
    """A new, empty database `name` on the PostgreSQL server of `server_url` (its URL), or none."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    admin_url = server_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not drop_only:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@contextlib.contextmanager
def child_app(people: int, folder: Path, postgres: str | None = None):  # type: ignore[no-untyped-def]
    """The app on SQLite in `folder`, or on a database of its own on the PostgreSQL server `postgres`."""
    from server.settings import Settings

    database_url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    database_name = f"hw_bench_checkins_{os.getpid()}"
    if postgres:
        with ThreadPoolExecutor(1) as pool:
            database_url = pool.submit(asyncio.run, _fresh_postgres(postgres, database_name)).result()
    env = {
        **os.environ,
        "HOMEWATCH_ENVIRONMENT": "test",
        "HOMEWATCH_DATABASE_URL": database_url,
        "HOMEWATCH_MEDIA_DIR": str(folder / "media"),
        "HOMEWATCH_SECRET_KEY": "bench-secret-key-long-enough-for-tokens",
        "HOMEWATCH_CHECKIN_MAX_SESSIONS": str(max(64, people * 2)),
        "HOMEWATCH_CHECKIN_MAX_SECONDS": "300",
        # The same few people check in again and again here, far more often than anyone would.
        "HOMEWATCH_CHECKIN_RATE_LIMIT": "1000000",
    }
    env.pop("HOMEWATCH_REDIS_URL", None)
    settings = Settings(_env_file=None, environment="test", database_url=env["HOMEWATCH_DATABASE_URL"],  # type: ignore[call-arg]
                        media_dir=env["HOMEWATCH_MEDIA_DIR"], secret_key=env["HOMEWATCH_SECRET_KEY"])
    # The benchmark's own event loop is running: seed on a loop of its own.
    with ThreadPoolExecutor(1) as pool:
        target = pool.submit(asyncio.run, _seed_app(settings, people)).result()
    try:
        with app_process(env) as (base, child):
            yield f"{base}/api/v1/checkins", psutil.Process(child.pid), target
    finally:
        if postgres:
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, _fresh_postgres(postgres, database_name, drop_only=True)).result()


@contextlib.contextmanager
def child_server(kind: str):  # type: ignore[no-untyped-def]
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{kind} server did not start")
        yield f"http://127.0.0.1:{port}/offer", psutil.Process(child.pid)
    finally:
        stop(child)


@dataclass
class Churn:
    total: int
    parallel: int
    seconds: float
    done: int = 0
    failed: int = 0
    rss_mb: dict[int, float] = field(default_factory=dict)  # check-ins done -> RSS once they have ended


async def run_churn(http: httpx.AsyncClient, url: str, process: psutil.Process, app: AppTarget, *,
                    total: int, parallel: int, seconds: float) -> Churn:
    """`total` check-ins of `seconds` of video, `parallel` at a time (one person each, one after the
    other); the app's RSS is read once the first 50 have ended, and at the end."""
    base = url.rsplit("/", 1)[0]
    churn = Churn(total, parallel, seconds)
    marks = {min(50, total), total // 4, total // 2} - {0, total}
    measuring: set[int] = set()
    started = 0
    ready = asyncio.Event()
    ready.set()

    async def one(headers: dict[str, str]) -> None:
        checkin_ids: list[str] = []

        async def offer_to(sdp: str, type: str) -> tuple[str, str]:
            response = await http.post(url, json={"sdp": sdp, "type": type}, headers=headers)
            response.raise_for_status()
            answer = response.json()
            checkin_ids.append(answer["checkin_id"])
            return answer["sdp"], answer["type"]

        track = PreEncodedVideoTrack(width=320, height=240, fps=FPS, keyframe_seconds=KEYFRAME_SECONDS)
        pc = await connect_client(offer_to, track)
        try:
            await asyncio.sleep(seconds)
        finally:
            await pc.close()
        # The next check-in of this person waits until the server has ended this one (one at a time).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            record = (await http.get(f"{base}/checkins/{checkin_ids[0]}", headers=app.staff_headers)).json()
            if record["status"] not in ("connecting", "live"):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError("the check-in did not end")

    async def worker(headers: dict[str, str]) -> None:
        nonlocal started
        while True:
            await ready.wait()
            if started >= total:
                return
            if started in marks:
                if started not in measuring:
                    # Start nothing more until every started check-in has ended, then read the RSS.
                    measuring.add(started)
                    ready.clear()
                    while churn.done < started:
                        await asyncio.sleep(0.05)
                    await asyncio.sleep(1.0)
                    churn.rss_mb[started] = process.memory_info().rss / 2**20
                    print(f"# churn: {started} done, RSS {churn.rss_mb[started]:.0f} MB, "
                          f"load average {load_average()}", file=sys.stderr, flush=True)
                    ready.set()
                elif started not in churn.rss_mb:
                    await asyncio.sleep(0.05)
                    continue
                if started not in churn.rss_mb:
                    continue
            started += 1
            try:
                await one(headers)
            except Exception as exc:
                churn.failed += 1
                print(f"# churn: a check-in failed: {exc!r}", file=sys.stderr, flush=True)
            churn.done += 1

    await asyncio.gather(*(worker(app.subject_headers[index]) for index in range(parallel)))
    await asyncio.sleep(1.0)
    churn.rss_mb[total] = process.memory_info().rss / 2**20
    return churn


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(cells: list[Cell]) -> None:
    header = (
        "| target | N | size | CPU-s per stream-s | fps held mean/min | connect p95 ms | first frame p95 ms "
        "| peak RSS MB | RSS after MB | client CPU | snapshots (least share due) | notes |"
    )
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for c in cells:
        notes = ", ".join([*c.notes, *([f"{c.failures} failed to connect"] if c.failures else []),
                           *([f"{c.under_14_fps} streams under 14 fps"] if c.under_14_fps else [])])
        print(
            f"| {c.target} | {c.n} | {c.size[0]}×{c.size[1]} | {fmt(c.cpu_per_stream_s, '.3f')} "
            f"| {fmt(c.fps_mean, '.1f')}/{fmt(c.fps_min, '.1f')} | {fmt(c.connect_p95_ms, '.0f')} "
            f"| {fmt(c.first_frame_p95_ms, '.0f')} | {fmt(c.peak_rss_mb, '.0f')} | {fmt(c.rss_after_mb, '.0f')} "
            f"| {fmt(c.client_cpu, '.2f')} | {fmt(c.snapshots_min_ratio, '.2f')} | {notes} |",
            flush=True,
        )


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


async def scale(args: argparse.Namespace) -> None:
    """The README's video rows, in one run (see the module's docstring)."""
    print(f"# load average (1/5/15 min) at start: {load_average()}; app database: "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}", flush=True)
    size = (320, 240)
    cells: list[Cell] = []
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=64)) as http:
        with child_server("floor") as (url, process):
            cells.append(await run_cell(http, url, process, "floor", 16, size, args.seconds))
        print(f"# floor done, load average {load_average()}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as folder, \
                child_app(args.capacity, Path(folder), args.postgres) as (url, process, app):
            cells.append(await run_cell(http, url, process, "app", 16, size, args.seconds, app))
            print(f"# app N=16 done, load average {load_average()}", file=sys.stderr, flush=True)
            cells.append(await run_cell(http, url, process, "app", 32, size, args.seconds, app))
            print(f"# app N=32 done, load average {load_average()}", file=sys.stderr, flush=True)
            cells.append(await run_cell(http, url, process, "app", args.capacity, size, args.capacity_seconds, app,
                                        connecting_at_once=32))
            print(f"# app N={args.capacity} done, load average {load_average()}", file=sys.stderr, flush=True)
        churn: Churn | None = None
        if args.churn:
            with tempfile.TemporaryDirectory() as folder, \
                    child_app(args.churn_parallel, Path(folder), args.postgres) as (url, process, app):
                churn = await run_churn(http, url, process, app, total=args.churn, parallel=args.churn_parallel,
                                        seconds=args.churn_seconds)
    print_table(cells)
    floor, app16, app32, capacity = cells
    if floor.cpu_per_stream_s and app16.cpu_per_stream_s:
        print(f"# CPU per 320×240 check-in: app {app16.cpu_per_stream_s:.4f} / floor {floor.cpu_per_stream_s:.4f} "
              f"= {app16.cpu_per_stream_s / floor.cpu_per_stream_s:.2f}× the bare aiortc floor (target ≤ 0.6×)")
    print(f"# first frame p95 with 32 connecting at once: {fmt(app32.first_frame_p95_ms, '.0f')} ms (target ≤ 1000)")
    print(f"# {capacity.n} at once: {capacity.n - capacity.failures} connected, "
          f"fps min {fmt(capacity.fps_min, '.1f')}, {capacity.under_14_fps} under 14 fps, "
          f"least snapshot share {fmt(capacity.snapshots_min_ratio, '.2f')}")
    if churn is not None:
        first, last = churn.rss_mb.get(min(50, churn.total)), churn.rss_mb.get(churn.total)
        growth = f"{(last / first - 1) * 100:+.1f}%" if first and last else "-"
        trail = ", ".join(f"{done}: {rss:.0f} MB" for done, rss in sorted(churn.rss_mb.items()))
        print(f"# {churn.total} check-ins of {churn.seconds:g} s, {churn.parallel} at a time ({churn.failed} failed): "
              f"RSS {trail}; after all vs after the first 50: {growth} (target within ±10%)")
    print(f"# load average (1/5/15 min) at the end: {load_average()}", flush=True)


async def bench(args: argparse.Namespace) -> None:
    cells_spec = QUICK_CELLS if args.quick else FULL_CELLS
    if args.cells:
        cells_spec = [(int(n), (int(w), int(h))) for n, w, h in (cell.split("x") for cell in args.cells.split(","))]
    results: list[Cell] = []
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64)) as http:
        if args.url:
            process = psutil.Process(args.pid) if args.pid else None
            for n, size in cells_spec:
                results.append(await run_cell(http, args.url, process, "url", n, size, args.seconds))
        else:
            for target in args.targets.split(","):
                if target == "app":
                    people = max(n for n, _ in cells_spec)
                    with tempfile.TemporaryDirectory() as folder, \
                            child_app(people, Path(folder), args.postgres) as (url, process, app):
                        for n, size in cells_spec:
                            results.append(await run_cell(http, url, process, target, n, size, args.seconds, app))
                            print(f"# {target} N={n} {size}: done", file=sys.stderr, flush=True)
                    continue
                with child_server(target) as (url, process):
                    for n, size in cells_spec:
                        cell = await run_cell(http, url, process, target, n, size, args.seconds)
                        results.append(cell)
                        print(f"# {target} N={n} {size}: done", file=sys.stderr, flush=True)
    print_table(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N=1,4 at 320×240 only")
    parser.add_argument("--cells", help="instead of the table: NxWxH,... e.g. 32x640x480")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured streaming time per cell")
    parser.add_argument("--targets", default="floor,manager,app", help="floor, manager, manager-record, app")
    parser.add_argument("--url", help="benchmark this offer URL instead of starting servers")
    parser.add_argument("--pid", type=int, help="with --url: the server process to measure")
    parser.add_argument("--scale", action="store_true", help="the README's video rows in one run")
    parser.add_argument("--postgres", help="run the app on a fresh database on this PostgreSQL server "
                        "(postgresql://user@host:port/any-database) instead of SQLite")
    parser.add_argument("--capacity", type=int, default=150, help="with --scale: check-ins at once")
    parser.add_argument("--capacity-seconds", type=float, default=20.0, help="with --scale: measured time at capacity")
    parser.add_argument("--churn", type=int, default=1000, help="with --scale: check-ins one after another (0: none)")
    parser.add_argument("--churn-parallel", type=int, default=8, help="with --scale: churn check-ins at a time")
    parser.add_argument("--churn-seconds", type=float, default=2.0, help="with --scale: video per churn check-in")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.serve:
        asyncio.run(serve(args.serve, args.port))
    elif args.scale:
        asyncio.run(scale(args))
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
