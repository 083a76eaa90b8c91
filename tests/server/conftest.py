from __future__ import annotations

import pytest_asyncio

from server.context import AppContext
from tests.factories import World, make_world


@pytest_asyncio.fixture
async def world(app_ctx: AppContext) -> World:
    return await make_world(app_ctx)
