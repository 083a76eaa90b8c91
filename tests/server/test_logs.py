"""Personal links never reach the access log (server/logs.py): requests go through a real uvicorn server
and the records its access logger writes are formatted with uvicorn's own access format."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from uvicorn.logging import AccessFormatter

from server.logs import ACCESS_LOGGER, RedactPersonalLinks, redact
from tests.factories import World

ACCESS_FORMAT = '%(client_addr)s - "%(request_line)s" %(status_code)s'


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app (its lifespan already running) behind a real uvicorn on a free port; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="info", access_log=True))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_personal_links_are_redacted_in_the_access_log(served: str, world: World,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    code = world.subject_a.code
    access = logging.getLogger(ACCESS_LOGGER)
    access.addHandler(caplog.handler)  # uvicorn's access logger does not propagate to the root
    try:
        with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
            async with httpx.AsyncClient(base_url=served) as http:
                assert (await http.get(f"/s/{code}")).status_code == 303
                await http.get("/s/not-a-code-but-secret-all-the-same")
                await http.get(f"/login?next=/s/{code}&code={code}")
    finally:
        access.removeHandler(caplog.handler)
    formatter = AccessFormatter(ACCESS_FORMAT, use_colors=False)
    lines = [formatter.format(record) for record in caplog.records if record.name == ACCESS_LOGGER]
    assert len(lines) == 3, lines
    assert all(code not in line and "secret-all-the-same" not in line for line in lines), lines
    assert '"GET /s/… HTTP/1.1" 303' in lines[0]
    assert "/login?next=/s/…&code=…" in lines[2]


def test_the_filter_rewrites_a_records_arguments_before_formatting() -> None:
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("1.2.3.4:5", "GET", "/s/AbCdEf123?access_code=xyz", "1.1", 200), None)
    assert RedactPersonalLinks().filter(record)
    assert record.getMessage() == '1.2.3.4:5 - "GET /s/…?access_code=… HTTP/1.1" 200'


def test_only_personal_links_are_redacted() -> None:
    assert redact("/h/household-code/print") == "/h/…/print"
    assert redact("/subjects/1234") == "/subjects/1234"
    assert redact("/api/v1/checkins/5/snapshots/0.jpg") == "/api/v1/checkins/5/snapshots/0.jpg"
