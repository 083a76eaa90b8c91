"""One peer connection per session: a subject's check-in, a clinician watching, or a clinician
hosting a call. Each session owns its connection, its tasks and its MediaRelay, and ends exactly once.

Received media is decoded only while someone takes decoded frames from it (`subscribe`): a check-in
counts its frames encoded and decodes one keyframe per snapshot (see encoded.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRecorder, MediaRelay

from .aiortc_internals import end_remote_track
from .config import MediaConfig, rtc_configuration
from .encoded import EncodedFrame, ReceiveGate, keyframe_size
from .errors import InvalidOffer
from .memory import release_freed_memory
from .snapshots import FaceBox, FaceDetector, decode_keyframe, encode_jpeg
from .tracks import SwitchableTrack, drain

logger = logging.getLogger("webrtc")

# How long shutdown waits for a session's own tasks (callbacks included) before cancelling them.
_TASK_GRACE_SECONDS = 10.0


@dataclass
class Snapshot:
    index: int
    taken_at: datetime
    jpeg: bytes
    face_detected: bool
    width: int
    height: int


class CheckinOutcome(StrEnum):
    completed = "completed"
    failed = "failed"
    abandoned = "abandoned"


@dataclass
class CheckinResult:
    checkin_id: str
    outcome: CheckinOutcome
    started_at: datetime | None
    ended_at: datetime
    duration_s: float
    frames_received: int
    width: int | None
    height: int | None
    snapshots_taken: int
    faces_seen: int
    error: str | None
    recording_path: Path | None
    # Frames handed to a decoder for viewers, calls or a recording (snapshots decode keyframes apart),
    # and keyframes asked of the sender: what the check-in cost beyond counting its frames.
    frames_decoded: int = 0
    keyframes_requested: int = 0


class EndReason(enum.Enum):
    client_closed = "the client closed the connection"
    connection_failed = "the connection failed (ICE/DTLS)"
    connect_timeout = "the connection was not established in time (ICE/DTLS)"
    no_video = "no video frames arrived"
    video_stalled = "video frames stopped arriving"
    time_limit = "the check-in reached its time limit"
    ended_by_server = "the server ended the session"
    watched_ended = "the watched check-in ended"
    call_wait = "nobody joined the call in time"
    shutdown = "the server shut down"


class _ConnectionLog(logging.LoggerAdapter[logging.Logger]):
    """Prefixes every line with the connection it is about."""

    def __init__(self, logger: logging.Logger, conn: str) -> None:
        super().__init__(logger, {"conn": conn})
        self.conn = conn

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        return f"[{self.conn}] {msg}", kwargs


@dataclass(frozen=True, slots=True)
class Picture:
    jpeg: bytes
    face: FaceBox | None
    width: int
    height: int


class SnapshotWorker:
    """Decodes a keyframe, encodes it as JPEG and looks for a face, off the event loop, one at a time."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webrtc-snapshots")
        self._detector: FaceDetector | None = None

    def _analyse(self, frame: EncodedFrame, near: FaceBox | None, quality: int) -> Picture:
        if self._detector is None:
            self._detector = FaceDetector()
        image = decode_keyframe(frame.codec, frame.data)
        height, width = image.shape[:2]
        return Picture(encode_jpeg(image, quality), self._detector.detect(image, near), width, height)

    async def analyse(self, frame: EncodedFrame, *, near: FaceBox | None = None, quality: int = 80) -> Picture:
        """`near`: where the same check-in's last picture showed a face, searched first."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._analyse, frame, near, quality)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class PeerSession:
    """Lifecycle shared by every kind of session.

    `negotiate` answers the offer; `start` launches the supervisor, which waits for an end reason
    (connection state, timeouts, `request_end`) and then tears everything down in one place.
    """

    label = "peer"

    def __init__(self, conn_id: str, config: MediaConfig) -> None:
        self.id = conn_id
        self.config = config
        self.log = _ConnectionLog(logger, f"{self.label} {conn_id}")
        self.pc = RTCPeerConnection(rtc_configuration(config))
        self.relay = MediaRelay()
        self.remote: dict[str, MediaStreamTrack] = {}
        # One per received track: frames reach aiortc's decoder only while someone subscribes.
        self.gates: dict[str, ReceiveGate] = {}
        self._extra_remote: list[MediaStreamTrack] = []
        self._loop = asyncio.get_running_loop()
        self.opened_at = self._loop.time()
        self.connected_at: float | None = None
        self.end_reason: EndReason | None = None
        # When the end was decided, not when teardown finished: a busy server must not stretch it.
        self.ended_at: datetime | None = None
        # Set on anything that may move a deadline or end the session; the supervisor re-plans.
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._on_stopped: Callable[[PeerSession], None] | None = None
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_connection_state)

    # -- negotiation -------------------------------------------------------------------------------

    async def negotiate(self, sdp: str, type: str) -> tuple[str, str]:
        if type != "offer":
            raise InvalidOffer(f"expected an SDP offer, got {type!r}")
        # aiortc's parser accepts almost any text as an empty session; refuse what is not SDP at all.
        if not sdp.lstrip().startswith("v=0") or "\nm=" not in sdp:
            raise InvalidOffer("invalid SDP offer: no session or media description")
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=type))
        except Exception as exc:
            # Whatever aiortc's parser trips on, the cause is the untrusted offer.
            self.log.debug("rejected offer", exc_info=True)
            raise InvalidOffer(f"invalid SDP offer: {exc or exc.__class__.__name__}") from exc
        self.prepare()
        # aiortc gathers all candidates inside setLocalDescription: the answer is complete (no trickle).
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self.log.info("answered offer")
        return self.pc.localDescription.sdp, self.pc.localDescription.type

    def offered_kinds(self) -> set[str]:
        return {transceiver.kind for transceiver in self.pc.getTransceivers()}

    def prepare(self) -> None:
        """Check the offer and attach outgoing tracks, between the offer and the answer."""

    def _on_track(self, track: MediaStreamTrack) -> None:
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
        gate = ReceiveGate(receiver, track.kind, spawn=lambda request: self.spawn(request, "keyframe request"))
        if track.kind in self.remote:
            self._extra_remote.append(track)  # never subscribed, so never decoded
        else:
            self.remote[track.kind] = track
            self.gates[track.kind] = gate

    def subscribe(self, kind: str) -> MediaStreamTrack | None:
        """A new consumer's view of what this peer sends, decoded. Unbuffered: a slow consumer skips
        frames rather than queueing them without bound. The peer's track is decoded while at least one
        such view is live (from its next keyframe); stop the view when done with it."""
        track = self.remote.get(kind)
        if track is None:
            return None
        view = self.relay.subscribe(track, buffered=False)
        gate = self.gates[kind]
        gate.add_consumer()
        view.on("ended", gate.remove_consumer)
        return view

    # -- running -----------------------------------------------------------------------------------

    def start(self, on_stopped: Callable[[PeerSession], None]) -> asyncio.Task[None]:
        self._on_stopped = on_stopped
        # Keep every received track read, so decoded frames never pile up in aiortc's queue between a
        # consumer subscribing and its first read. Costs nothing while the gate holds frames back.
        for track in [*self.remote.values(), *self._extra_remote]:
            self.spawn(drain(self.relay.subscribe(track, buffered=False)), f"drain {track.kind}")
        self.on_start()
        self._supervisor = asyncio.create_task(self._supervise(), name=f"webrtc {self.label} {self.id}")
        return self._supervisor

    def on_start(self) -> None:
        """Start consumers once the answer is out."""

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"webrtc {self.label} {self.id}: {what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def ending(self) -> bool:
        return self.end_reason is not None

    def request_end(self, reason: EndReason) -> None:
        if self.end_reason is None:
            self.end_reason = reason
            self.ended_at = datetime.now(UTC)
            self.log.info("ending: %s", reason.value)
        self._wake.set()

    def poke(self) -> None:
        self._wake.set()

    async def wait_stopped(self) -> None:
        if self._supervisor is not None:
            await asyncio.shield(self._supervisor)

    def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        self.log.debug("connection %s", state)
        if state == "connected" and self.connected_at is None:
            self.connected_at = self._loop.time()
            self.log.info("connected in %.0f ms", (self.connected_at - self.opened_at) * 1000)
            self.poke()
        elif state == "failed":
            self.request_end(EndReason.connection_failed)
        elif state == "closed":
            # We only close after an end was requested, so an unexplained close is the client's.
            self.request_end(EndReason.client_closed)

    def next_deadline(self, now: float) -> tuple[float, EndReason] | None:
        """The earliest time at which this session should end by itself, and why."""
        if self.connected_at is None:
            return self.opened_at + self.config.connect_timeout_seconds, EndReason.connect_timeout
        return None

    async def _supervise(self) -> None:
        try:
            while self.end_reason is None:
                self._wake.clear()
                deadline = self.next_deadline(self._loop.time())
                timeout = None
                if deadline is not None:
                    at, reason = deadline
                    timeout = at - self._loop.time()
                    if timeout <= 0:
                        self.request_end(reason)
                        break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            await self._teardown()
            if self._on_stopped is not None:
                self._on_stopped(self)
            await self.after_stopped()
            release_freed_memory()

    async def _teardown(self) -> None:
        self.request_end(EndReason.shutdown)
        try:
            await self.pc.close()
        except Exception:
            self.log.exception("closing the peer connection failed")
        for track in [*self.remote.values(), *self._extra_remote]:
            end_remote_track(track)
        await self.stop_outputs()
        await self._settle_tasks()
        self.log.info("closed")

    async def stop_outputs(self) -> None:
        """Stop anything this session feeds (recorders, proxies)."""

    async def _settle_tasks(self) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=_TASK_GRACE_SECONDS)
        for task in pending:
            self.log.warning("cancelling %s, still running at close", task.get_name())
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def after_stopped(self) -> None:
        """Report the end; runs once, after the connection is closed."""

    async def abort(self) -> None:
        """Tear down a session whose negotiation failed; it never started and reports nothing."""
        await self._teardown()

    async def guarded(self, what: str, awaitable: Awaitable[None]) -> None:
        """Await a caller's callback; its failure is logged and never ends the session."""
        try:
            await awaitable
        except Exception:
            self.log.exception("%s callback failed", what)


class CheckinSession(PeerSession):
    label = "checkin"

    def __init__(
        self,
        checkin_id: str,
        config: MediaConfig,
        *,
        snapshots: SnapshotWorker,
        on_live: Callable[[], Awaitable[None]] | None,
        on_snapshot: Callable[[Snapshot], Awaitable[None]],
        on_finished: Callable[[CheckinResult], Awaitable[None]],
        call_id: str | None,
    ) -> None:
        super().__init__(checkin_id, config)
        self._snapshots = snapshots
        self._on_live = on_live
        self._on_snapshot = on_snapshot
        self._on_finished = on_finished
        self.call_id = call_id
        self.started_at: datetime | None = None
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.frames_received = 0
        self.width: int | None = None
        self.height: int | None = None
        self.snapshots_taken = 0
        self.faces_seen = 0
        self._last_face: FaceBox | None = None
        self._snapshot_task: asyncio.Task[None] | None = None
        # Due from this time on: the next keyframe (asked for when due) becomes the snapshot.
        self._next_snapshot_at = 0.0
        self._recorder: MediaRecorder | None = None
        self.recording_path: Path | None = None
        # What the subject hears and sees during a call: the newest talker wins (the host, or a
        # watching clinician who speaks up), falling back to the previous one when it leaves.
        self.talkback: dict[str, SwitchableTrack] = {}
        self._talkers: list[PeerSession] = []
        self._talkback_from: dict[str, PeerSession | None] = {}
        self.viewers: set[PeerSession] = set()
        self.host: CallHostSession | None = None

    @property
    def is_live(self) -> bool:
        return self.first_frame_at is not None and not self.ending

    def prepare(self) -> None:
        if "video" not in self.remote:
            raise InvalidOffer("the offer has no video")
        video = self.gates["video"]
        video.on_frame = self._on_video_frame
        video.on_end = self._on_video_end
        if self.call_id is not None:
            for kind in sorted(self.offered_kinds() & {"audio", "video"}):
                self.talkback[kind] = SwitchableTrack(kind)
                self.pc.addTrack(self.talkback[kind])

    def next_deadline(self, now: float) -> tuple[float, EndReason] | None:
        cfg = self.config
        candidates = [(self.opened_at + cfg.max_checkin_seconds, EndReason.time_limit)]
        if self.connected_at is None:
            candidates.append((self.opened_at + cfg.connect_timeout_seconds, EndReason.connect_timeout))
        elif self.last_frame_at is None:
            candidates.append((self.connected_at + cfg.frame_timeout_seconds, EndReason.no_video))
        else:
            candidates.append((self.last_frame_at + cfg.frame_timeout_seconds, EndReason.video_stalled))
        return min(candidates, key=lambda candidate: candidate[0])

    def _on_video_frame(self, frame: EncodedFrame) -> None:
        """Every received video frame, still encoded: liveness, rate and duration come from here."""
        cfg = self.config
        now = self._loop.time()
        if self.first_frame_at is None:
            self._on_first_frame(now)
        self.frames_received += 1
        self.last_frame_at = now
        if frame.keyframe and (size := keyframe_size(frame)) is not None:
            self.width, self.height = size
        if (
            now >= self._next_snapshot_at
            and self.snapshots_taken < cfg.max_snapshots
            and (self._snapshot_task is None or self._snapshot_task.done())
            and not self.ending
        ):
            if not frame.keyframe:
                self.gates["video"].want_keyframe()
                return
            # Kept on its schedule, so waiting for keyframes does not stretch the interval, yet never
            # closer than half an interval after a late one.
            interval = cfg.snapshot_interval_seconds
            self._next_snapshot_at = max(self._next_snapshot_at + interval, now + interval / 2)
            self._snapshot_task = self.spawn(self._take_snapshot(frame), "snapshot")

    def _on_video_end(self) -> None:
        # The remote track ends when the client goes away; our own teardown has set a reason first.
        self.request_end(EndReason.client_closed)

    def _on_first_frame(self, now: float) -> None:
        self.first_frame_at = now
        self.started_at = datetime.now(UTC)
        self._next_snapshot_at = now + self.config.first_snapshot_delay_seconds
        self.log.info("first video frame after %.0f ms", (now - self.opened_at) * 1000)
        if self._on_live is not None:
            self.spawn(self.guarded("on_live", self._on_live()), "on_live")
        if self.config.record:
            self._start_recording()

    def _start_recording(self) -> None:
        path = self.config.media_dir / f"{_safe_name(self.id)}.webm"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            recorder = MediaRecorder(str(path))
            for kind in ("video", "audio"):
                track = self.subscribe(kind)
                if track is not None:
                    recorder.addTrack(track)
        except Exception:
            self.log.exception("cannot record to %s", path)
            return
        self._recorder, self.recording_path = recorder, path
        self.spawn(recorder.start(), "start recording")
        self.log.info("recording to %s", path)

    async def _take_snapshot(self, frame: EncodedFrame) -> None:
        taken_at = datetime.now(UTC)
        index = self.snapshots_taken
        try:
            picture = await self._snapshots.analyse(frame, near=self._last_face)
        except Exception:
            self.log.exception("snapshot %d failed", index)
            return
        face_detected = picture.face is not None
        self.snapshots_taken += 1
        self.faces_seen += face_detected
        self._last_face = picture.face or self._last_face
        self.width, self.height = picture.width, picture.height
        snapshot = Snapshot(index, taken_at, picture.jpeg, face_detected, picture.width, picture.height)
        await self.guarded("on_snapshot", self._on_snapshot(snapshot))

    # -- calls ---------------------------------------------------------------------------------------

    def add_talker(self, peer: PeerSession) -> None:
        if self.talkback and peer not in self._talkers:
            self._talkers.append(peer)
            self._update_talkback()

    def remove_talker(self, peer: PeerSession) -> None:
        if peer in self._talkers:
            self._talkers.remove(peer)
            self._update_talkback()

    def _update_talkback(self) -> None:
        names = []
        for kind, proxy in self.talkback.items():
            # Per kind: a clinician who only speaks up must not blank the host's camera.
            talker = next((peer for peer in reversed(self._talkers) if kind in peer.remote), None)
            if self._talkback_from.get(kind) is not talker:
                self._talkback_from[kind] = talker
                proxy.set_source(None if talker is None else talker.subscribe(kind))
            names.append(f"{kind} from {'nobody' if talker is None else f'{talker.label} {talker.id}'}")
        self.log.info("talkback: %s", ", ".join(names))

    # -- ending --------------------------------------------------------------------------------------

    async def stop_outputs(self) -> None:
        for proxy in self.talkback.values():
            proxy.stop()
            await proxy.detach()
        self._talkers.clear()
        if self.host is not None:
            self.host.detach_subject(self)
        for viewer in list(self.viewers):
            viewer.request_end(EndReason.watched_ended)
        if self._recorder is not None:
            try:
                await self._recorder.stop()
            except Exception:
                self.log.exception("finishing the recording failed")

    async def after_stopped(self) -> None:
        result = self.result()
        self.log.info(
            "%s: %d frames (%d decoded, %d keyframes asked for), %.1f s, %d snapshots (%d with a face)%s",
            result.outcome,
            result.frames_received,
            result.frames_decoded,
            result.keyframes_requested,
            result.duration_s,
            result.snapshots_taken,
            result.faces_seen,
            f", {result.error}" if result.error else "",
        )
        await self.guarded("on_finished", self._on_finished(result))

    def result(self) -> CheckinResult:
        ended_at = self.ended_at or datetime.now(UTC)
        reason = self.end_reason or EndReason.shutdown
        video_seconds = 0.0
        if self.first_frame_at is not None and self.last_frame_at is not None:
            video_seconds = self.last_frame_at - self.first_frame_at
        error: str | None = None
        if self.frames_received == 0:
            outcome = CheckinOutcome.failed
            error = reason.value if reason is not EndReason.client_closed else "the client left before any video"
        elif video_seconds >= self.config.min_completed_seconds:
            outcome = CheckinOutcome.completed
        else:
            outcome = CheckinOutcome.failed if reason is EndReason.connection_failed else CheckinOutcome.abandoned
            error = f"{reason.value} after {video_seconds:.1f} s of video"
        duration = (ended_at - self.started_at).total_seconds() if self.started_at else 0.0
        return CheckinResult(
            checkin_id=self.id,
            outcome=outcome,
            started_at=self.started_at,
            ended_at=ended_at,
            duration_s=round(duration, 3),
            frames_received=self.frames_received,
            width=self.width,
            height=self.height,
            snapshots_taken=self.snapshots_taken,
            faces_seen=self.faces_seen,
            error=error,
            recording_path=self.recording_path,
            frames_decoded=self.gates["video"].frames_decoded if "video" in self.gates else 0,
            keyframes_requested=self.gates["video"].keyframes_requested if "video" in self.gates else 0,
        )


class ViewerSession(PeerSession):
    """A clinician watching a live check-in; in a call, what they send is relayed to the subject."""

    label = "viewer"

    def __init__(
        self,
        viewer_id: str,
        config: MediaConfig,
        *,
        checkin: CheckinSession,
        on_ended: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(viewer_id, config)
        self.checkin = checkin
        self._on_ended = on_ended
        self._outgoing: list[MediaStreamTrack] = []

    def prepare(self) -> None:
        kinds = self.offered_kinds()
        if "video" not in kinds:
            raise InvalidOffer("the offer cannot receive video")
        for kind in ("video", "audio"):
            track = self.checkin.subscribe(kind) if kind in kinds else None
            if track is not None:
                self._outgoing.append(track)
                self.pc.addTrack(track)

    def on_start(self) -> None:
        self.checkin.viewers.add(self)
        if self.remote:
            self.checkin.add_talker(self)

    async def stop_outputs(self) -> None:
        self.checkin.viewers.discard(self)
        self.checkin.remove_talker(self)
        for track in self._outgoing:
            track.stop()

    async def after_stopped(self) -> None:
        if self._on_ended is not None:
            await self.guarded("on_ended", self._on_ended())


class CallHostSession(PeerSession):
    """A clinician who opened a call and waits, camera on, for the subject to join."""

    label = "call"

    def __init__(
        self, call_id: str, config: MediaConfig, *, on_ended: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        super().__init__(call_id, config)
        self._on_ended = on_ended
        self.subject: CheckinSession | None = None
        self.proxies: dict[str, SwitchableTrack] = {}
        self._alone_since = self.opened_at

    def prepare(self) -> None:
        for kind in sorted(self.offered_kinds() & {"audio", "video"}):
            self.proxies[kind] = SwitchableTrack(kind)
            self.pc.addTrack(self.proxies[kind])
        if "video" not in self.proxies:
            raise InvalidOffer("the offer has no video")

    def attach_subject(self, subject: CheckinSession) -> None:
        if self.subject is not None and self.subject is not subject:
            self.subject.host = None
            self.subject.remove_talker(self)
        self.subject = subject
        subject.host = self
        for kind, proxy in self.proxies.items():
            proxy.set_source(subject.subscribe(kind))
        subject.add_talker(self)
        self.log.info("subject joined (check-in %s)", subject.id)

    def detach_subject(self, subject: CheckinSession) -> None:
        if self.subject is not subject:
            return
        self.subject = None
        subject.host = None
        for proxy in self.proxies.values():
            proxy.set_source(None)
        self._alone_since = self._loop.time()
        self.poke()
        self.log.info("subject left (check-in %s)", subject.id)

    def next_deadline(self, now: float) -> tuple[float, EndReason] | None:
        if self.connected_at is None:
            return self.opened_at + self.config.connect_timeout_seconds, EndReason.connect_timeout
        if self.subject is None:
            return self._alone_since + self.config.call_wait_seconds, EndReason.call_wait
        return None

    async def stop_outputs(self) -> None:
        if self.subject is not None:
            self.subject.remove_talker(self)
            self.subject.host = None
            self.subject = None
        for proxy in self.proxies.values():
            proxy.stop()
            await proxy.detach()

    async def after_stopped(self) -> None:
        if self._on_ended is not None:
            await self.guarded("on_ended", self._on_ended())


def _safe_name(text: str) -> str:
    # Check-in ids come from the server, but a file name must never climb out of media_dir.
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text).lstrip(".") or "checkin"
