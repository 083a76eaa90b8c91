import base64
import hashlib
import hmac
import json
import random
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest

from server.notifications import (
    Channel,
    DeliveryError,
    DingTalkRobotChannel,
    GenericWebhookChannel,
    OutboundMessage,
    SmsHttpChannel,
    WebPushChannel,
    backoff_seconds,
    build_channels,
    dingtalk_sign,
    generate_vapid_keys,
    verify_dingtalk_signature,
)

SECRET = "SEC0123456789abcdef-test-secret"  # the receiver fixture checks signatures with it


def fever_alert(recipient: str | None = None) -> OutboundMessage:
    return OutboundMessage(
        channel="dingtalk",
        recipient=recipient,
        title="发热预警 · 网格 12",
        text="张*华 37.9 °C（晚间自测）",
        data={"subject_id": "s-1", "grid_id": 12},
    )


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def dingtalk(receiver: Any, client: httpx.AsyncClient, **kwargs: object) -> DingTalkRobotChannel:
    options: dict[str, object] = {"secret": SECRET, "client": client} | kwargs
    return DingTalkRobotChannel(f"{receiver.base_url}/dingtalk?access_token=tok123", **options)  # type: ignore[arg-type]


async def delivery_error(channel: Channel, message: OutboundMessage) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await channel.send(message)
    return caught.value


# --- DingTalk -------------------------------------------------------------------------------------


async def test_dingtalk_text_message_is_signed_and_mentions_the_configured_mobiles(
    receiver: Any, http_client: httpx.AsyncClient
) -> None:
    channel = dingtalk(receiver, http_client, at_mobiles=["13800000001"])

    await channel.send(fever_alert(recipient="13800000002"))

    (request,) = receiver.requests
    assert request.query["access_token"] == "tok123"
    assert verify_dingtalk_signature(request.query["timestamp"], request.query["sign"], SECRET)
    assert request.json() == {
        "msgtype": "text",
        "text": {"content": "发热预警 · 网格 12\n张*华 37.9 °C（晚间自测）"},
        "at": {"atMobiles": ["13800000001", "13800000002"], "isAtAll": False},
    }


async def test_dingtalk_markdown_message_names_the_mentioned_mobiles_in_its_body(
    receiver: Any, http_client: httpx.AsyncClient
) -> None:
    channel = dingtalk(receiver, http_client, msgtype="markdown", at_mobiles=["13800000001"])

    await channel.send(fever_alert())

    body = receiver.requests[0].json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "发热预警 · 网格 12"
    assert body["markdown"]["text"].startswith("#### 发热预警 · 网格 12\n\n张*华 37.9 °C")
    assert body["markdown"]["text"].endswith("@13800000001")
    assert body["at"]["atMobiles"] == ["13800000001"]


async def test_dingtalk_without_secret_sends_no_signature(receiver: Any, http_client: httpx.AsyncClient) -> None:
    channel = DingTalkRobotChannel(f"{receiver.base_url}/dingtalk/unsigned?access_token=t", client=http_client)

    await channel.send(fever_alert())

    assert set(receiver.requests[0].query) == {"access_token"}


async def test_dingtalk_rejecting_the_signature_is_a_permanent_failure(
    receiver: Any, http_client: httpx.AsyncClient
) -> None:
    channel = dingtalk(receiver, http_client, secret="SEC-wrong")

    error = await delivery_error(channel, fever_alert())

    assert not error.retryable
    assert "310000" in str(error) and "sign not match" in str(error)


async def test_dingtalk_rate_limit_errcode_is_retryable_after_a_minute(
    receiver: Any, http_client: httpx.AsyncClient
) -> None:
    receiver.answer_next("/dingtalk", json={"errcode": 130101, "errmsg": "send too fast"})

    error = await delivery_error(dingtalk(receiver, http_client), fever_alert())

    assert error.retryable
    assert error.retry_after == 60


async def test_dingtalk_answer_that_is_not_json_is_retryable(receiver: Any, http_client: httpx.AsyncClient) -> None:
    receiver.answer_next("/dingtalk", json="<html>gateway</html>")

    error = await delivery_error(dingtalk(receiver, http_client), fever_alert())

    assert error.retryable


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (403, False), (404, False), (500, True), (502, True), (503, True)]
)
async def test_http_errors_are_retryable_only_when_the_server_is_at_fault(
    receiver: Any, http_client: httpx.AsyncClient, status: int, retryable: bool
) -> None:
    receiver.answer_next("/dingtalk", status=status)

    error = await delivery_error(dingtalk(receiver, http_client), fever_alert())

    assert error.retryable is retryable
    assert error.status_code == status
    assert f"HTTP {status}" in str(error)


async def test_too_many_requests_is_retryable_and_keeps_the_retry_after_hint(
    receiver: Any, http_client: httpx.AsyncClient
) -> None:
    receiver.answer_next("/webhook", status=429, headers={"Retry-After": "7"})
    channel = GenericWebhookChannel(f"{receiver.base_url}/webhook", client=http_client)

    error = await delivery_error(channel, fever_alert())

    assert error.retryable
    assert error.retry_after == 7


async def test_unreachable_provider_is_retryable(refused_url: str) -> None:
    channel = DingTalkRobotChannel(refused_url, secret=SECRET)

    error = await delivery_error(channel, fever_alert())
    await channel.aclose()

    assert error.retryable
    assert "cannot reach 127.0.0.1" in str(error)


async def test_provider_that_does_not_answer_in_time_is_retryable(receiver: Any) -> None:
    receiver.answer_next("/webhook", delay=1.0)
    channel = GenericWebhookChannel(f"{receiver.base_url}/webhook", timeout=0.2)

    error = await delivery_error(channel, fever_alert())
    await channel.aclose()

    assert error.retryable
    assert "no answer within 0.2s" in str(error)


def test_signature_check_accepts_the_value_as_sent_in_the_query_string() -> None:
    now = int(time.time() * 1000)
    sign = dingtalk_sign(SECRET, now)

    assert verify_dingtalk_signature(now, sign, SECRET, now_ms=now)
    assert verify_dingtalk_signature(str(now), quote_plus(sign), SECRET, now_ms=now)


def test_signature_check_rejects_wrong_secret_stale_timestamp_and_garbage() -> None:
    now = int(time.time() * 1000)
    sign = dingtalk_sign(SECRET, now)

    assert not verify_dingtalk_signature(now, sign, "SEC-other", now_ms=now)
    assert not verify_dingtalk_signature(now, sign, SECRET, now_ms=now + 3_600_001)
    assert not verify_dingtalk_signature("yesterday", sign, SECRET, now_ms=now)
    assert not verify_dingtalk_signature(now + 1, sign, SECRET, now_ms=now)


def test_signed_url_carries_the_signature_computed_as_in_dingtalks_sample_code() -> None:
    timestamp = 1700000000000
    channel = DingTalkRobotChannel("https://oapi.dingtalk.com/robot/send?access_token=abc", secret="SECabc")

    url = str(channel.signed_url(now_ms=timestamp))

    # Steps of the official Python sample: HMAC-SHA256 over f"{timestamp}\n{secret}", base64, quote_plus.
    digest = hmac.new(b"SECabc", f"{timestamp}\nSECabc".encode(), hashlib.sha256).digest()
    expected = quote_plus(base64.b64encode(digest).decode())
    assert url == f"https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp={timestamp}&sign={expected}"


# --- Generic webhook and SMS ----------------------------------------------------------------------


async def test_webhook_posts_title_text_data_and_recipient_with_configured_headers(
    receiver: Any, http_client: httpx.AsyncClient
) -> None:
    channel = GenericWebhookChannel(
        f"{receiver.base_url}/webhook", {"Authorization": "Bearer hook-token"}, client=http_client
    )

    await channel.send(fever_alert(recipient="ops"))

    (request,) = receiver.requests
    assert request.headers["authorization"] == "Bearer hook-token"
    assert request.headers["content-type"].startswith("application/json")
    assert request.json() == {
        "title": "发热预警 · 网格 12",
        "text": "张*华 37.9 °C（晚间自测）",
        "data": {"subject_id": "s-1", "grid_id": 12},
        "recipient": "ops",
    }


async def test_sms_body_template_is_filled_with_json_escaped_values(
    receiver: Any, http_client: httpx.AsyncClient
) -> None:
    channel = SmsHttpChannel(
        f"{receiver.base_url}/sms",
        '{"to": "{phone}", "template_id": "TPL_001", "params": {"body": "{text}"}}',
        {"X-Api-Key": "k"},
        client=http_client,
    )
    tricky = 'Please measure "now",\nthen reply {phone} \\ done'

    await channel.send(OutboundMessage("sms", "13800000003", "提醒", tricky, {}))

    (request,) = receiver.requests
    assert request.headers["x-api-key"] == "k"
    assert request.json() == {"to": "13800000003", "template_id": "TPL_001", "params": {"body": tricky}}


async def test_sms_without_phone_number_is_a_permanent_failure(receiver: Any) -> None:
    channel = SmsHttpChannel(f"{receiver.base_url}/sms", '{"to": "{phone}", "text": "{text}"}')

    error = await delivery_error(channel, OutboundMessage("sms", None, "提醒", "测体温", {}))

    assert not error.retryable
    assert receiver.requests == []


def test_sms_template_that_is_not_json_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        SmsHttpChannel("http://sms.invalid", '{"to": {phone}}')


# --- Retry schedule and wiring --------------------------------------------------------------------


def test_backoff_doubles_from_base_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    rng = random.Random(42)
    for attempt, window in [(1, 30), (2, 60), (3, 120), (8, 3600), (30, 3600)]:
        delay = backoff_seconds(attempt, rng=rng)
        assert window / 2 <= delay <= window


def test_backoff_is_deterministic_for_a_seeded_random() -> None:
    first = [backoff_seconds(n, rng=random.Random(7)) for n in range(1, 6)]
    second = [backoff_seconds(n, rng=random.Random(7)) for n in range(1, 6)]

    assert first == second


def test_build_channels_reads_environment_style_settings() -> None:
    private_pem, _ = generate_vapid_keys()
    channels = build_channels(
        {
            "HOMEWATCH_DINGTALK_WEBHOOK_URL": "https://oapi.dingtalk.com/robot/send?access_token=x",
            "HOMEWATCH_SECRET": "SECx",
            "HOMEWATCH_DINGTALK_MSGTYPE": "markdown",
            "HOMEWATCH_DINGTALK_AT_MOBILES": "13800000001, 13800000002",
            "webhook_url": "https://hooks.example/alerts",
            "webhook_headers": '{"Authorization": "Bearer t"}',
            "sms_url": "https://sms.example/send",
            "sms_body_template": '{"to": "{phone}", "text": "{text}"}',
            "vapid_private_key": private_pem,
            "vapid_subject": "mailto:ops@example.org",
            "unrelated": None,
        }
    )

    assert set(channels) == {"dingtalk", "webhook", "sms", "webpush"}
    assert all(isinstance(channel, Channel) and channel.name == name for name, channel in channels.items())
    dingtalk_channel = channels["dingtalk"]
    assert isinstance(dingtalk_channel, DingTalkRobotChannel)
    assert dingtalk_channel.msgtype == "markdown"
    assert dingtalk_channel.at_mobiles == ("13800000001", "13800000002")
    assert isinstance(channels["webpush"], WebPushChannel)


def test_build_channels_skips_unconfigured_providers() -> None:
    assert build_channels({"HOMEWATCH_DINGTALK_WEBHOOK_URL": "", "sms_url": "https://sms.example"}) == {}


def test_message_data_defaults_to_empty() -> None:
    assert json.dumps(OutboundMessage("sms", "1", "t", "x").data) == "{}"
