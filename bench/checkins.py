"""Concurrent synthetic check-ins against a media server running in its own process.

    .venv/bin/python bench/checkins.py [--quick] [--seconds 8] [--targets floor,manager]
    .venv/bin/python bench/checkins.py --url http://127.0.0.1:8000/offer --pid 1234

A target is anything that takes `POST {"sdp", "type"}` (JSON) and answers `{"sdp", "type"}`. By default
two are started here, each in a child process so its CPU can be measured on its own:

- `floor`: bare aiortc that decodes and drops frames, the least any server can do;
- `manager`: webrtc.MediaManager with its snapshots and face detection (`manager-record` records too).

They also answer `GET /stats` with what the server saw (first frame, frames per stream), which a
foreign target (`--url`) need not have; those columns then stay empty. With `--pid`, CPU and memory
of that process are measured.

Clients send VP8 packets encoded once up front, so the benchmark process itself stays cheap.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import MediaStreamError  # noqa: E402

from webrtc import CheckinResult, MediaConfig, MediaManager, Snapshot  # noqa: E402
from webrtc.config import rtc_configuration  # noqa: E402
from webrtc.testing import PreEncodedVideoTrack, connect_client  # noqa: E402

FULL_CELLS = [(n, size) for size in ((320, 240), (640, 480)) for n in (1, 8, 16, 32)]
QUICK_CELLS = [(1, (320, 240)), (4, (320, 240))]
FPS = 15


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
    failures: int = 0
    client_cpu: float | None = None
    notes: list[str] = field(default_factory=list)


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def run_cell(
    http: httpx.AsyncClient,
    url: str,
    process: psutil.Process | None,
    target: str,
    n: int,
    size: tuple[int, int],
    seconds: float,
) -> Cell:
    cell = Cell(target, n, size)
    base = url.rsplit("/", 1)[0]
    has_stats = (await http.post(f"{base}/reset")).status_code == 200

    async def offer_to(sdp: str, type: str) -> tuple[str, str]:
        response = await http.post(url, json={"sdp": sdp, "type": type})
        response.raise_for_status()
        answer = response.json()
        return answer["sdp"], answer["type"]

    async def connect_one() -> tuple[RTCPeerConnection, float]:
        track = PreEncodedVideoTrack(width=size[0], height=size[1], fps=FPS)
        started = time.monotonic()
        pc = await connect_client(offer_to, track)
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
    outcomes = await asyncio.gather(*(connect_one() for _ in range(n)), return_exceptions=True)
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
    await asyncio.sleep(1.0)
    stop_sampling.set()
    await sampler
    if process is not None:
        cell.peak_rss_mb = peak[0] / 2**20
        cell.rss_after_mb = process.memory_info().rss / 2**20
    return cell


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(cells: list[Cell]) -> None:
    header = (
        "| target | N | size | CPU-s per stream-s | fps held mean/min | connect p95 ms | first frame p95 ms "
        "| peak RSS MB | RSS after MB | client CPU | notes |"
    )
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for c in cells:
        notes = ", ".join([*c.notes, *([f"{c.failures} failed to connect"] if c.failures else [])])
        print(
            f"| {c.target} | {c.n} | {c.size[0]}×{c.size[1]} | {fmt(c.cpu_per_stream_s, '.3f')} "
            f"| {fmt(c.fps_mean, '.1f')}/{fmt(c.fps_min, '.1f')} | {fmt(c.connect_p95_ms, '.0f')} "
            f"| {fmt(c.first_frame_p95_ms, '.0f')} | {fmt(c.peak_rss_mb, '.0f')} | {fmt(c.rss_after_mb, '.0f')} "
            f"| {fmt(c.client_cpu, '.2f')} | {notes} |",
            flush=True,
        )


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
    parser.add_argument("--targets", default="floor,manager", help="floor, manager, manager-record")
    parser.add_argument("--url", help="benchmark this offer URL instead of starting servers")
    parser.add_argument("--pid", type=int, help="with --url: the server process to measure")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.serve:
        asyncio.run(serve(args.serve, args.port))
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
