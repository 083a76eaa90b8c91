"""Channel adapters for reminders to people under observation and alerts to staff."""

from server.notifications.channels import (
    Channel,
    DeliveryError,
    DingTalkRobotChannel,
    GenericWebhookChannel,
    OutboundMessage,
    SmsHttpChannel,
    SubscriptionGone,
    WebPushChannel,
    backoff_seconds,
    build_channels,
    generate_vapid_keys,
)
from server.notifications.dingtalk import dingtalk_sign, verify_dingtalk_signature

__all__ = [
    "Channel",
    "DeliveryError",
    "DingTalkRobotChannel",
    "GenericWebhookChannel",
    "OutboundMessage",
    "SmsHttpChannel",
    "SubscriptionGone",
    "WebPushChannel",
    "backoff_seconds",
    "build_channels",
    "dingtalk_sign",
    "generate_vapid_keys",
    "verify_dingtalk_signature",
]
