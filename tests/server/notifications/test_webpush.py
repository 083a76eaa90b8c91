"""Web Push through pywebpush against the local receiver playing the browser's push service."""

import base64
import json
import os
from typing import Any

import http_ece  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from server.notifications import (
    DeliveryError,
    OutboundMessage,
    SubscriptionGone,
    WebPushChannel,
    generate_vapid_keys,
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """The keys a browser generates when it subscribes to push."""

    def __init__(self, endpoint: str) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.subscription = json.dumps(
            {"endpoint": endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}
        )

    def decrypt(self, body: bytes) -> Any:
        return json.loads(http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth))


@pytest.fixture(scope="module")
def vapid_keys() -> tuple[str, str]:
    return generate_vapid_keys()


@pytest.fixture
def channel(vapid_keys: tuple[str, str]) -> WebPushChannel:
    # The receiver listens on 127.0.0.1, which the channel refuses unless told this is a test.
    return WebPushChannel(vapid_keys[0], "mailto:ops@example.org", timeout=2, allow_private_hosts=True)


def reminder(subscription: str | None) -> OutboundMessage:
    return OutboundMessage("webpush", subscription, "该测体温了", "请在 20:00 前上报晚间体温", {"kind": "reminder"})


def verify_vapid_jwt(authorization: str, application_server_key: str) -> dict[str, Any]:
    params = dict(part.strip().split("=", 1) for part in authorization.removeprefix("vapid ").split(","))
    assert params["k"] == application_server_key
    header, claims, signature = params["t"].split(".")
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(params["k"]))
    raw = unb64url(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public_key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    result: dict[str, Any] = json.loads(unb64url(claims))
    return result


async def test_push_is_encrypted_for_the_browser_and_signed_with_our_vapid_key(
    receiver: Any, channel: WebPushChannel, vapid_keys: tuple[str, str]
) -> None:
    browser = Browser(f"{receiver.base_url}/push/sub-1")
    receiver.answer_next("/push/sub-1", status=201)

    await channel.send(reminder(browser.subscription))

    (request,) = receiver.requests
    assert request.headers["content-encoding"] == "aes128gcm"
    assert int(request.headers["ttl"]) > 0
    claims = verify_vapid_jwt(request.headers["authorization"], vapid_keys[1])
    assert claims["sub"] == "mailto:ops@example.org"
    assert claims["aud"] == receiver.base_url
    assert browser.decrypt(request.body) == {
        "title": "该测体温了",
        "text": "请在 20:00 前上报晚间体温",
        "data": {"kind": "reminder"},
    }


@pytest.mark.parametrize("status", [404, 410])
async def test_expired_subscription_is_reported_as_gone_and_not_retried(
    receiver: Any, channel: WebPushChannel, status: int
) -> None:
    browser = Browser(f"{receiver.base_url}/push/gone")
    receiver.answer_next("/push/gone", status=status)

    with pytest.raises(SubscriptionGone) as caught:
        await channel.send(reminder(browser.subscription))

    assert not caught.value.retryable
    assert caught.value.status_code == status


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (429, True), (400, False), (413, False)])
async def test_push_service_errors_follow_the_http_retry_rules(
    receiver: Any, channel: WebPushChannel, status: int, retryable: bool
) -> None:
    browser = Browser(f"{receiver.base_url}/push/busy")
    receiver.answer_next("/push/busy", status=status)

    with pytest.raises(DeliveryError) as caught:
        await channel.send(reminder(browser.subscription))

    assert caught.value.retryable is retryable
    assert not isinstance(caught.value, SubscriptionGone)


async def test_unreachable_push_service_is_retryable(channel: WebPushChannel, refused_url: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        await channel.send(reminder(Browser(refused_url).subscription))

    assert caught.value.retryable


@pytest.mark.parametrize("subscription", [None, "not json", '{"endpoint": "https://push.example/x"}'])
async def test_missing_or_malformed_subscription_is_a_permanent_failure(
    channel: WebPushChannel, subscription: str | None
) -> None:
    with pytest.raises(DeliveryError) as caught:
        await channel.send(reminder(subscription))

    assert not caught.value.retryable


def test_generated_vapid_keys_are_a_matching_p256_pair() -> None:
    private_pem, application_server_key = generate_vapid_keys()

    private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)
    public = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert unb64url(application_server_key) == public
    assert len(public) == 65 and "=" not in application_server_key


def test_vapid_subject_must_be_a_contact_url(vapid_keys: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="mailto"):
        WebPushChannel(vapid_keys[0], "ops@example.org")


async def test_a_redirect_from_the_push_service_is_not_followed(receiver: Any, channel: WebPushChannel) -> None:
    browser = Browser(f"{receiver.base_url}/push/moved")
    receiver.answer_next("/push/moved", status=307, headers={"Location": f"{receiver.base_url}/internal/admin"})

    with pytest.raises(DeliveryError) as caught:
        await channel.send(reminder(browser.subscription))

    assert caught.value.status_code == 307 and not caught.value.retryable
    assert [r.path for r in receiver.requests] == ["/push/moved"]
