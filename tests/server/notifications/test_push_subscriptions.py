"""Web Push subscriptions reach only public push services (server/notifications/endpoints.py), and one
person cannot take another's browser subscription over."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from server.context import AppContext
from server.models.notifications import PushSubscription
from server.notifications import DeliveryError, OutboundMessage, WebPushChannel, generate_vapid_keys
from server.notifications.endpoints import is_public
from tests.factories import World

KEYS = {"p256dh": "BNc" + "x" * 80, "auth": "a" * 22}
DNS = {
    "fcm.googleapis.com": ["142.250.72.10", "2607:f8b0:4005:80c::200a"],
    "rebind.example": ["142.250.72.10", "127.0.0.1"],  # one public answer is not enough
    "metadata.example": ["169.254.169.254"],
    "intranet.example": ["10.1.2.3"],
    "v6-local.example": ["fd00::1"],
    "mapped.example": ["::ffff:127.0.0.1"],
}


async def table_dns(host: str) -> list[str]:
    if host not in DNS:
        raise OSError(f"no such name: {host}")
    return DNS[host]


@pytest.fixture(autouse=True)
def dns(app_ctx: AppContext) -> None:
    app_ctx.resolve_host = table_dns


def subscription(endpoint: str, keys: dict[str, str] = KEYS) -> dict[str, Any]:
    return {"endpoint": endpoint, "keys": keys}


@pytest.mark.parametrize("endpoint", [
    "https://127.0.0.1/push", "https://[::1]/push", "https://10.0.0.5/admin", "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data", "https://100.64.0.1/", "https://224.0.0.1/",
    "https://metadata.example/x", "https://intranet.example/x", "https://rebind.example/x",
    "https://v6-local.example/x", "https://mapped.example/x", "https://no-such-host.example/x",
    "https://fcm.googleapis.com:8443/x", "https://user:pw@fcm.googleapis.com/x", "http://fcm.googleapis.com/x",
])
async def test_endpoints_off_the_public_internet_are_refused(client: httpx.AsyncClient, world: World,
                                                             endpoint: str) -> None:
    response = await client.post("/api/v1/me/push-subscriptions", headers=world.subj_a,
                                 json=subscription(endpoint))
    assert response.status_code == 422, (endpoint, response.text)
    async with world.ctx.db.session() as session:
        assert (await session.scalars(select(PushSubscription))).all() == []


async def test_a_public_push_service_is_accepted(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/me/push-subscriptions", headers=world.subj_a,
                                 json=subscription("https://fcm.googleapis.com/fcm/send/abc"))
    assert response.status_code == 201, response.text


async def test_another_persons_subscription_cannot_be_taken_over(client: httpx.AsyncClient, world: World) -> None:
    endpoint = "https://fcm.googleapis.com/fcm/send/victim"
    assert (await client.post("/api/v1/me/push-subscriptions", headers=world.subj_a,
                              json=subscription(endpoint))).status_code == 201
    attacker_keys = {"p256dh": "BAt" + "y" * 80, "auth": "b" * 22}
    taken = await client.post("/api/v1/me/push-subscriptions", headers=world.subj_b,
                              json=subscription(endpoint, attacker_keys))
    assert taken.status_code == 409, taken.text
    async with world.ctx.db.session() as session:
        row = await session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
        assert row is not None and row.subject_id == world.subject_a.id and row.subscription["keys"] == KEYS
    # The same browser (same keys) handed to the next person on a shared phone moves over.
    shared = await client.post("/api/v1/me/push-subscriptions", headers=world.subj_b, json=subscription(endpoint))
    assert shared.status_code == 201
    # And the person's own re-subscription with new keys is theirs to make.
    assert (await client.post("/api/v1/me/push-subscriptions", headers=world.subj_b,
                              json=subscription(endpoint, attacker_keys))).status_code == 201


async def test_sending_refuses_a_host_that_now_resolves_inside_the_network() -> None:
    private_key, _public = generate_vapid_keys()
    channel = WebPushChannel(private_key, "mailto:ops@example.org", timeout=2)
    message = OutboundMessage("webpush", '{"endpoint": "https://localhost/push", "keys": {"p256dh": "x", '
                                         '"auth": "y"}}', "t", "x", {})
    with pytest.raises(DeliveryError, match="not a public push service") as refused:
        await channel.send(message)
    assert not refused.value.retryable


def test_public_means_globally_routable() -> None:
    assert is_public("142.250.72.10") and is_public("2607:f8b0:4005:80c::200a")
    for address in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.0.1", "169.254.169.254", "100.64.0.1",
                    "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "fe80::1", "fd00::1", "::ffff:10.0.0.1",
                    "192.0.2.1", "ff02::1", "not an address"):
        assert not is_public(address), address
