"""Time-limited TURN credentials: the rule coturn's --use-auth-secret checks, and where they go."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from webrtc.config import IceServer, MediaConfig, browser_ice_servers, rtc_configuration
from webrtc.errors import InvalidMediaConfig
from webrtc.turn import TurnConfig, parse_turn_urls, turn_credentials, turn_password, turn_username

SECRET = "north-district-turn-secret"
TURN = TurnConfig(urls=("turn:turn.example.org:3478?transport=udp",), secret=SECRET, ttl_seconds=600)


def test_username_is_the_expiry_then_who_and_the_password_is_base64_hmac_sha1_of_it():
    username, credential, expires_at = turn_credentials(TURN, who="subject-42", now=1_700_000_000.7)
    assert expires_at == 1_700_000_600
    assert username == "1700000600:subject-42"
    expected = base64.b64encode(hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()).decode()
    assert credential == expected


def test_a_known_vector_from_the_turn_rest_api_draft_scheme():
    # Computed independently: printf '%s' '1433895918:alice' | openssl dgst -sha1 -hmac secret -binary | base64
    assert turn_password("secret", "1433895918:alice") == "9FlGeCxuzk5viW4BIqwHUUUEvWw="


def test_who_cannot_change_how_the_turn_server_reads_the_username():
    assert turn_username(who="staff:7 王", expires_at=10) == "10:staff_7__"
    assert turn_username(who="", expires_at=10) == "10:anonymous"


def test_every_peer_gets_its_own_credentials_and_never_the_secret():
    cfg = MediaConfig(ice_servers=(IceServer(urls=("stun:stun.example.org",)),), turn=TURN)
    page = browser_ice_servers(cfg, who="staff-7", now=1000)
    assert page[0] == {"urls": ["stun:stun.example.org"]}
    assert page[1]["urls"] == ["turn:turn.example.org:3478?transport=udp"]
    assert page[1]["username"] == "1600:staff-7"
    assert page[1]["credential"] == turn_password(SECRET, "1600:staff-7")
    assert SECRET not in repr(page) and SECRET not in repr(cfg)

    server = rtc_configuration(cfg).iceServers[1]
    expiry, _, who = str(server.username).partition(":")
    assert who == "homewatch-server" and int(expiry) > 1_700_000_000
    assert server.credential == turn_password(SECRET, str(server.username))


def test_without_turn_nothing_changes():
    assert browser_ice_servers(MediaConfig(), who="staff-7") == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"urls": ()}, "at least one URL"),
        ({"urls": ("stun:a",)}, "turn: or turns:"),
        ({"secret": ""}, "shared secret"),
        ({"ttl_seconds": 0}, "positive"),
    ],
)
def test_unusable_turn_settings_say_what_is_wrong(kwargs, message):
    values = {"urls": ("turn:a:3478",), "secret": SECRET, "ttl_seconds": 600, **kwargs}
    with pytest.raises(InvalidMediaConfig, match=message):
        TurnConfig(**values)


def test_turn_urls_are_comma_separated():
    assert parse_turn_urls(" turn:a:3478?transport=udp , turns:a:5349 ,") == (
        "turn:a:3478?transport=udp", "turns:a:5349")
