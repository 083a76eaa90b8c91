"""The real homewatch served by uvicorn in a process of its own, for benchmarks that measure it over HTTP
(its CPU and memory then belong to that process alone)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

REPOSITORY = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(child: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Terminate, and kill if it is still there after the app's graceful-shutdown time."""
    child.terminate()
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


@contextmanager
def app_process(env: Mapping[str, str], *, port: int | None = None, extra_args: Sequence[str] = (),
                start_timeout: float = 60) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``(base URL, process)`` of an app started with exactly ``env``, once it answers /healthz."""
    port = port or free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "server.asgi:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "2", *extra_args],
        env=dict(env), cwd=REPOSITORY,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout  # the app may take a while to start on a busy machine
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.1)
        yield base, child
    finally:
        stop(child)
