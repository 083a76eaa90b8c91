"""Snapshot files under the media directory: ``<media_dir>/checkins/<checkin id>/<index>.jpg``.

Rows store the path relative to the media directory, so a deployment can move the directory."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path, PurePosixPath


def snapshot_relpath(checkin_id: uuid.UUID, index: int) -> str:
    return str(PurePosixPath("checkins") / str(checkin_id) / f"{index}.jpg")


def resolve(media_dir: Path, relpath: str) -> Path:
    path = (media_dir / relpath).resolve()
    # Paths come from our own rows, but a corrupted row must still not reach outside the directory.
    if not path.is_relative_to(media_dir.resolve()):
        raise ValueError(f"{relpath!r} is outside the media directory")
    return path


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(path)


async def write_snapshot(media_dir: Path, checkin_id: uuid.UUID, index: int, jpeg: bytes) -> str:
    relpath = snapshot_relpath(checkin_id, index)
    await asyncio.to_thread(_write, resolve(media_dir, relpath), jpeg)
    return relpath


def checkin_dir(media_dir: Path, checkin_id: uuid.UUID) -> Path:
    return media_dir / "checkins" / str(checkin_id)


def delete_checkin_files(media_dir: Path, checkin_id: uuid.UUID) -> None:
    shutil.rmtree(checkin_dir(media_dir, checkin_id), ignore_errors=True)
