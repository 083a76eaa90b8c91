"""Channel adapters the notification outbox worker calls to deliver one message.

A channel either returns (delivered to the provider) or raises :class:`DeliveryError`, whose
``retryable`` tells the worker whether to schedule another attempt (see :func:`backoff_seconds`)
or to give up on the message.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol, runtime_checkable

import httpx
import requests
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid
from py_vapid.utils import b64urlencode
from pywebpush import WebPushException, webpush

from server.notifications.dingtalk import RATE_LIMITED_ERRCODE, RETRYABLE_ERRCODES, dingtalk_sign
from server.notifications.endpoints import EndpointRefused, check_addresses, endpoint_host, resolve_blocking

DEFAULT_TIMEOUT_SECONDS = 10.0
_PLACEHOLDER = re.compile(r"\{(phone|text|title)\}")


@dataclass(frozen=True)
class OutboundMessage:
    channel: str
    recipient: str | None
    title: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status_code = status_code
        # Seconds the provider asked us to wait; the worker should not retry sooner.
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.message} ({'will retry' if self.retryable else 'permanent'})"


class SubscriptionGone(DeliveryError):
    """The push service no longer knows this subscription: delete it rather than retry."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message, retryable=False, status_code=status_code)


@runtime_checkable
class Channel(Protocol):
    name: str

    async def send(self, message: OutboundMessage) -> None: ...


def backoff_seconds(
    attempt: int, *, base: float = 30.0, cap: float = 3600.0, rng: random.Random | None = None
) -> float:
    """Delay before retry number ``attempt`` (1 = first retry): doubling from ``base`` up to ``cap``.

    The delay is drawn from the upper half of that window so retries of a burst of failed messages
    spread out instead of hitting a recovering provider together.
    """
    window = min(cap, base * 2 ** (max(1, attempt) - 1))
    uniform = rng.uniform if rng is not None else random.uniform
    return float(window / 2 + uniform(0, window / 2))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _error_for_status(channel: str, response: httpx.Response) -> DeliveryError:
    status = response.status_code
    body = response.text[:200].strip()
    message = f"{channel}: HTTP {status} from {response.url.host}" + (f": {body}" if body else "")
    # 408 and 429 say "not now", 5xx says "not our fault": all worth another try.
    retryable = status >= 500 or status in (408, 429)
    return DeliveryError(message, retryable=retryable, status_code=status, retry_after=_retry_after(response))


class _HttpChannel:
    name: str

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, client: httpx.AsyncClient | None = None):
        self._timeout = timeout
        self._client = client
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _post(self, url: str | httpx.URL, *, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        all_headers = {"content-type": "application/json; charset=utf-8", **headers}
        try:
            response = await self._client.post(url, content=body, headers=all_headers, timeout=self._timeout)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{self.name}: no answer within {self._timeout:g}s", retryable=True) from exc
        except httpx.TransportError as exc:
            host = httpx.URL(url).host
            raise DeliveryError(f"{self.name}: cannot reach {host}: {exc!r}", retryable=True) from exc
        if not response.is_success:
            raise _error_for_status(self.name, response)
        return response


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class DingTalkRobotChannel(_HttpChannel):
    """A DingTalk group's custom robot, where staff coordinate.

    ``message.recipient``, when set, is a mobile number to @-mention in addition to ``at_mobiles``.
    The robot takes about 20 messages a minute: batch alerts upstream rather than sending one per reading.
    """

    name = "dingtalk"

    def __init__(
        self,
        webhook_url: str,
        secret: str | None = None,
        msgtype: Literal["text", "markdown"] = "text",
        at_mobiles: list[str] | tuple[str, ...] = (),
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if msgtype not in ("text", "markdown"):
            raise ValueError(f"unsupported DingTalk msgtype {msgtype!r}")
        super().__init__(timeout=timeout, client=client)
        self.webhook_url = webhook_url
        self._secret = secret
        self.msgtype = msgtype
        self.at_mobiles = tuple(at_mobiles)

    def payload(self, message: OutboundMessage) -> dict[str, Any]:
        mobiles = [*self.at_mobiles, *([message.recipient] if message.recipient else [])]
        if self.msgtype == "markdown":
            # Unlike text messages, markdown shows a mention only if the body names the number.
            mentions = "".join(f" @{mobile}" for mobile in mobiles)
            body = f"#### {message.title}\n\n{message.text}" + (f"\n\n{mentions.strip()}" if mentions else "")
            content: dict[str, Any] = {"markdown": {"title": message.title, "text": body}}
        else:
            content = {"text": {"content": f"{message.title}\n{message.text}" if message.title else message.text}}
        return {"msgtype": self.msgtype, **content, "at": {"atMobiles": mobiles, "isAtAll": False}}

    def signed_url(self, *, now_ms: int | None = None) -> httpx.URL:
        url = httpx.URL(self.webhook_url)
        if not self._secret:
            return url
        timestamp = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        return url.copy_merge_params({"timestamp": str(timestamp), "sign": dingtalk_sign(self._secret, timestamp)})

    async def send(self, message: OutboundMessage) -> None:
        response = await self._post(self.signed_url(), body=_json_bytes(self.payload(message)), headers={})
        try:
            answer = response.json()
            errcode = int(answer.get("errcode", -1))
        except (ValueError, AttributeError) as exc:
            # Usually a proxy or gateway page in front of DingTalk, not a verdict on the message.
            raise DeliveryError(
                f"dingtalk: unexpected answer {response.text[:200]!r}", retryable=True, status_code=200
            ) from exc
        if errcode != 0:
            errmsg = answer.get("errmsg", "")
            raise DeliveryError(
                f"dingtalk: errcode {errcode}: {errmsg}",
                retryable=errcode in RETRYABLE_ERRCODES,
                status_code=response.status_code,
                retry_after=60.0 if errcode == RATE_LIMITED_ERRCODE else None,
            )


class GenericWebhookChannel(_HttpChannel):
    """POSTs ``{"title", "text", "data", "recipient"}`` as JSON to any HTTP endpoint."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(timeout=timeout, client=client)
        self.url = url
        self._headers = dict(headers or {})

    async def send(self, message: OutboundMessage) -> None:
        body = {"title": message.title, "text": message.text, "data": message.data, "recipient": message.recipient}
        await self._post(self.url, body=_json_bytes(body), headers=self._headers)


class SmsHttpChannel(_HttpChannel):
    """A carrier's HTTP SMS API; ``message.recipient`` is the phone number.

    ``body_template`` is the request's JSON with ``{phone}``, ``{text}`` and ``{title}`` placeholders
    inside string values, e.g. ``{"to": "{phone}", "template_id": "T1", "params": ["{text}"]}``; the
    values are JSON-escaped, so quotes or newlines in a reminder cannot break the request.
    """

    name = "sms"

    def __init__(
        self,
        url: str,
        body_template: str,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(timeout=timeout, client=client)
        self.url = url
        self.body_template = body_template
        self._headers = dict(headers or {})
        try:
            json.loads(self.render(phone="+86 138", text="x", title="x"))
        except ValueError as exc:
            # Fail at startup, not on the first reminder at 7 in the morning.
            raise ValueError(f"SMS body template is not JSON once filled in: {exc}") from exc

    def render(self, *, phone: str, text: str, title: str = "") -> str:
        values = {"phone": phone, "text": text, "title": title}
        # One pass, so a "{phone}" typed into a reminder's text is not substituted in turn.
        return _PLACEHOLDER.sub(lambda m: json.dumps(values[m[1]], ensure_ascii=False)[1:-1], self.body_template)

    async def send(self, message: OutboundMessage) -> None:
        if not message.recipient:
            raise DeliveryError("sms: message has no phone number", retryable=False)
        body = self.render(phone=message.recipient, text=message.text, title=message.title)
        await self._post(self.url, body=body.encode(), headers=self._headers)


class WebPushChannel:
    """Browser push through the subscription's push service; ``message.recipient`` is the
    subscription JSON (``{"endpoint", "keys": {"p256dh", "auth"}}``).

    Chrome's push service is unreachable from mainland China, so this must never be the only way
    a reminder goes out.
    """

    name = "webpush"

    def __init__(
        self,
        vapid_private_key_pem: str,
        vapid_subject: str,
        *,
        ttl_seconds: int = 12 * 3600,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        allow_private_hosts: bool = False,
    ) -> None:
        """``allow_private_hosts`` lifts the public-address check on sending (tests' local receiver)."""
        if not vapid_subject.startswith(("mailto:", "https://")):
            raise ValueError("VAPID subject must be a mailto: or https:// URL")
        self._vapid = Vapid.from_pem(vapid_private_key_pem.encode())
        self.vapid_subject = vapid_subject
        self._ttl = ttl_seconds
        self._timeout = timeout
        self._allow_private_hosts = allow_private_hosts

    async def send(self, message: OutboundMessage) -> None:
        if not message.recipient:
            raise DeliveryError("webpush: message has no subscription", retryable=False)
        try:
            subscription = json.loads(message.recipient)
            endpoint = subscription["endpoint"]
            subscription["keys"]["p256dh"], subscription["keys"]["auth"]  # noqa: B018 - validate early
        except (ValueError, KeyError, TypeError) as exc:
            raise DeliveryError(f"webpush: invalid subscription: {exc!r}", retryable=False) from exc
        payload = json.dumps({"title": message.title, "text": message.text, "data": message.data}, ensure_ascii=False)
        # pywebpush is synchronous (requests); a thread keeps the event loop free meanwhile.
        await asyncio.to_thread(self._send_blocking, subscription, payload, httpx.URL(endpoint).host)

    def _check_host(self, host: str) -> None:
        """The endpoint was checked when it was saved; its name may resolve elsewhere by now."""
        if self._allow_private_hosts:
            return
        try:
            endpoint_host(f"https://{host}/")
            check_addresses(host, resolve_blocking(host))
        except (EndpointRefused, OSError, UnicodeError) as exc:
            raise DeliveryError(f"webpush: {host} is not a public push service", retryable=False) from exc

    def _send_blocking(self, subscription: dict[str, Any], payload: str, host: str) -> None:
        try:
            self._check_host(host)
            webpush(
                subscription,
                data=payload,
                vapid_private_key=self._vapid,
                # webpush() writes aud and exp into the claims, so each call gets a fresh dict.
                vapid_claims={"sub": self.vapid_subject},
                ttl=self._ttl,
                timeout=self._timeout,
                # A redirect answers as a failure (webpush() raises for any status past 202): following
                # one would let a push service's answer send our request anywhere.
                requests_session=_NoRedirects(),
            )
        except WebPushException as exc:
            response = exc.response
            status = getattr(response, "status_code", None)
            if status in (404, 410):
                raise SubscriptionGone(
                    f"webpush: subscription gone (HTTP {status} from {host})", status_code=status
                ) from exc
            if status is None:
                raise DeliveryError(f"webpush: {exc.message}", retryable=False) from exc
            body = (getattr(response, "text", "") or "")[:200].strip()
            retry_after = _retry_after(httpx.Response(status, headers=dict(getattr(response, "headers", {}))))
            raise DeliveryError(
                f"webpush: HTTP {status} from {host}" + (f": {body}" if body else ""),
                retryable=status >= 500 or status in (408, 429),
                status_code=status,
                retry_after=retry_after,
            ) from exc
        except requests.Timeout as exc:
            raise DeliveryError(f"webpush: no answer from {host} within {self._timeout:g}s", retryable=True) from exc
        except requests.RequestException as exc:
            raise DeliveryError(f"webpush: cannot reach {host}: {exc!r}", retryable=True) from exc


class _NoRedirects(requests.Session):
    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair: (private key PEM for the server, application server key for browsers)."""
    vapid = Vapid()
    vapid.generate_keys()
    public = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return vapid.private_pem().decode(), b64urlencode(public)


def build_channels(settings: Mapping[str, str | None]) -> dict[str, Channel]:
    """Channels for whichever providers are configured, keyed by channel name.

    Keys are read case-insensitively with or without the ``HOMEWATCH_`` prefix, so both
    ``os.environ`` and ``settings.model_dump()`` work: ``dingtalk_webhook_url``, ``dingtalk_secret``,
    ``dingtalk_msgtype``, ``dingtalk_at_mobiles`` (comma-separated), ``webhook_url``,
    ``webhook_headers`` (JSON object), ``sms_url``, ``sms_body_template``, ``sms_headers`` (JSON
    object), ``vapid_private_key`` (PEM), ``vapid_subject``.
    """
    normalized: dict[str, str] = {}
    for key, value in settings.items():
        if value is None or not str(value).strip():
            continue
        name = key.lower()
        normalized[name.removeprefix("homewatch_")] = str(value)

    def headers(key: str) -> dict[str, str]:
        raw = normalized.get(key)
        if raw is None:
            return {}
        parsed = json.loads(raw)
        if not isinstance(parsed, dict):
            raise ValueError(f"{key} must be a JSON object")
        return {str(k): str(v) for k, v in parsed.items()}

    channels: dict[str, Channel] = {}
    if url := normalized.get("dingtalk_webhook_url"):
        msgtype = normalized.get("dingtalk_msgtype", "text")
        if msgtype not in ("text", "markdown"):
            raise ValueError(f"dingtalk_msgtype must be text or markdown, not {msgtype!r}")
        mobiles = [m.strip() for m in normalized.get("dingtalk_at_mobiles", "").split(",") if m.strip()]
        channels["dingtalk"] = DingTalkRobotChannel(
            url, normalized.get("dingtalk_secret"), "markdown" if msgtype == "markdown" else "text", mobiles
        )
    if webhook_url := normalized.get("webhook_url"):
        channels["webhook"] = GenericWebhookChannel(webhook_url, headers("webhook_headers"))
    if (sms_url := normalized.get("sms_url")) and (template := normalized.get("sms_body_template")):
        channels["sms"] = SmsHttpChannel(sms_url, template, headers("sms_headers"))
    if (pem := normalized.get("vapid_private_key")) and (subject := normalized.get("vapid_subject")):
        channels["webpush"] = WebPushChannel(pem, subject)
    return channels
