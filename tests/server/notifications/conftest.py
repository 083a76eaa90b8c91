"""A real HTTP server on 127.0.0.1 standing in for DingTalk, SMS gateways, webhooks and push services."""

import asyncio
import json
import socket
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.notifications import verify_dingtalk_signature

DINGTALK_SECRET = "SEC0123456789abcdef-test-secret"


@dataclass
class Scripted:
    status: int = 200
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Recorded:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.base_url = ""
        self.requests: list[Recorded] = []
        self._script: dict[str, list[Scripted]] = defaultdict(list)

    dingtalk_secret = DINGTALK_SECRET

    def answer_next(
        self,
        path: str,
        *,
        status: int = 200,
        json: Any = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        self._script[path].append(Scripted(status, json, headers or {}, delay))

    def reset(self) -> None:
        self.requests.clear()
        self._script.clear()

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        self.requests.append(Recorded(path, dict(request.query_params), dict(request.headers), await request.body()))
        if path.startswith("/dingtalk") and not self._dingtalk_signature_ok(request):
            # What DingTalk answers for a missing or wrong signature: HTTP 200 with an errcode.
            return JSONResponse({"errcode": 310000, "errmsg": "sign not match"})
        scripted = self._script[path].pop(0) if self._script[path] else Scripted()
        if scripted.delay:
            await asyncio.sleep(scripted.delay)
        if scripted.json is not None:
            return JSONResponse(scripted.json, scripted.status, headers=scripted.headers)
        default = {"errcode": 0, "errmsg": "ok"} if path.startswith("/dingtalk") else None
        if default is not None and scripted.status == 200:
            return JSONResponse(default)
        return Response(status_code=scripted.status, headers=scripted.headers)

    @staticmethod
    def _dingtalk_signature_ok(request: Request) -> bool:
        if request.url.path == "/dingtalk/unsigned":
            return True
        timestamp, sign = request.query_params.get("timestamp"), request.query_params.get("sign")
        if timestamp is None or sign is None:
            return False
        return verify_dingtalk_signature(timestamp, sign, DINGTALK_SECRET)


@pytest.fixture(scope="module")
async def receiver_server() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver.handle, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(5):
        while not server.started:
            await asyncio.sleep(0.01)
    receiver.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield receiver
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    receiver_server.reset()
    return receiver_server


@pytest.fixture
def refused_url() -> str:
    """A URL on a port nobody listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/nobody-home"
