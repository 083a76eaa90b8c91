import pytest

from webrtc.config import IceServer, MediaConfig, browser_ice_servers, parse_ice_servers, rtc_configuration
from webrtc.errors import InvalidMediaConfig


def test_empty_text_means_no_ice_servers_and_no_default_stun():
    cfg = MediaConfig(ice_servers=parse_ice_servers("  "))
    assert cfg.ice_servers == ()
    assert rtc_configuration(cfg).iceServers == []
    assert browser_ice_servers(cfg) == []


def test_browser_style_json_list_round_trips_to_the_page():
    text = '[{"urls": "turn:x:3478", "username": "u", "credential": "c"}, {"urls": ["stun:a", "stun:b"]}]'
    servers = parse_ice_servers(text)
    assert servers == (
        IceServer(urls=("turn:x:3478",), username="u", credential="c"),
        IceServer(urls=("stun:a", "stun:b")),
    )
    cfg = MediaConfig(ice_servers=servers)
    assert browser_ice_servers(cfg) == [
        {"urls": ["turn:x:3478"], "username": "u", "credential": "c"},
        {"urls": ["stun:a", "stun:b"]},
    ]
    rtc = rtc_configuration(cfg)
    assert [(s.urls, s.username, s.credential) for s in rtc.iceServers] == [
        (["turn:x:3478"], "u", "c"),
        (["stun:a", "stun:b"], None, None),
    ]


def test_comma_separated_urls_become_one_server_each():
    assert parse_ice_servers("stun:a:3478, turn:b") == (IceServer(urls=("stun:a:3478",)), IceServer(urls=("turn:b",)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[{", "invalid JSON"),
        ('[{"username": "u"}]', "'urls'"),
        ('["stun:a"]', "must be an object"),
        ('[{"urls": "stun:a", "password": "p"}]', "unknown keys"),
        ('[{"urls": "stun:a", "username": 3}]', "'username' must be a string"),
        ("http://example.invalid", "must start with stun:"),
    ],
)
def test_unreadable_ice_servers_say_what_is_wrong(text, message):
    with pytest.raises(InvalidMediaConfig, match=message):
        parse_ice_servers(text)


def test_config_rejects_non_positive_limits():
    with pytest.raises(InvalidMediaConfig, match="max_sessions"):
        MediaConfig(max_sessions=0)
