"""A real coturn for tests: started on a free port of this machine's own (non-loopback) address, because
aioice never gathers loopback candidates, so a relay on 127.0.0.1 could not be reached by any peer."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aioice.ice import get_host_addresses

from tests.conftest import missing

TURNSERVER = "/usr/bin/turnserver"


def host_address() -> str | None:
    """The first IPv4 address of this machine other than loopback, as aioice would gather it."""
    addresses = get_host_addresses(use_ipv4=True, use_ipv6=False)
    return addresses[0] if addresses else None


def free_udp_and_tcp_port(host: str) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
                return port


@dataclass
class Coturn:
    host: str
    port: int
    secret: str
    log: Path

    @property
    def url(self) -> str:
        return f"turn:{self.host}:{self.port}?transport=udp"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def coturn(workdir: Path, *, secret: str = "test-turn-secret-0123456789") -> Iterator[Coturn]:
    """A coturn checking time-limited credentials made with ``secret``; skips (or fails in CI) without
    the binary or a non-loopback address."""
    if shutil.which(TURNSERVER) is None:
        missing(f"coturn: {TURNSERVER} is not installed (apt-get install coturn)")
    host = host_address()
    if host is None:
        missing("coturn: this machine has no non-loopback IPv4 address for ICE")
    port = free_udp_and_tcp_port(host)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "turnserver.log"
    with log.open("w") as out:
        child = subprocess.Popen(
            [TURNSERVER, "-n", "--use-auth-secret", f"--static-auth-secret={secret}", "--realm=homewatch.test",
             "--no-tls", "--no-dtls", f"--listening-ip={host}", f"--relay-ip={host}", f"--listening-port={port}",
             "--no-cli", "--log-file=stdout", "--simple-log", "--verbose", f"--pidfile={workdir / 'turnserver.pid'}",
             f"--userdb={workdir / 'turndb'}"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    server = Coturn(host=host, port=port, secret=secret, log=log)
    try:
        deadline = time.monotonic() + 10
        while "UDP listener opened" not in server.log_text():
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"coturn did not start:\n{server.log_text()}")
            time.sleep(0.05)
        yield server
    finally:
        child.terminate()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
