import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tests.conftest import missing


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    url = os.environ.get("HOMEWATCH_TEST_REDIS_URL")
    if not url:
        missing("HOMEWATCH_TEST_REDIS_URL is not set; Redis event bus tests need a Redis server")
    client = aioredis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        missing(f"Redis at {url} is unreachable: {exc}")
    finally:
        await client.aclose()
    yield url


@pytest.fixture
async def stream(redis_url: str) -> AsyncIterator[str]:
    # A stream per test keeps tests independent and lets them run in parallel on one Redis.
    name = f"homewatch:test:{uuid.uuid4().hex}"
    yield name
    client = aioredis.Redis.from_url(redis_url)
    await client.delete(name)
    await client.aclose()
