"""Which of our languages a browser's Accept-Language header (or a stored tag) gets."""

from __future__ import annotations

import pytest

from server import i18n


@pytest.mark.parametrize(("tag", "locale"), [
    ("zh-TW", "zh_Hant"), ("zh-HK", "zh_Hant"), ("zh-MO", "zh_Hant"), ("zh-Hant", "zh_Hant"),
    ("zh_Hant", "zh_Hant"), ("zh-Hant-TW", "zh_Hant"), ("ZH-tw", "zh_Hant"),
    # An explicit script beats the region: a reader in Guangzhou may ask for Traditional.
    ("zh-Hant-CN", "zh_Hant"), ("zh-Hans-HK", "zh_Hans"),
    ("zh", "zh_Hans"), ("zh-CN", "zh_Hans"), ("zh-Hans", "zh_Hans"), ("zh_Hans", "zh_Hans"), ("zh-SG", "zh_Hans"),
    ("en", "en"), ("en-US", "en"), ("en-GB", "en"), ("en-Latn-US", "en"),
    ("fr", None), ("fr-FR", None), ("yue-HK", None), ("*", None), ("", None), ("x-klingon", None),
    ("12", None),
])
def test_a_language_tag_maps_to_one_of_our_locales(tag: str, locale: str | None) -> None:
    assert i18n.normalise(tag) == locale


@pytest.mark.parametrize(("header", "locale"), [
    ("zh-TW,zh;q=0.9", "zh_Hant"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
    ("en-US,en;q=0.9,zh;q=0.5", "en"),
    # The first language we have wins, in the client's order of preference, not the header's order.
    ("fr-FR, zh-TW;q=0.5, en;q=0.4", "zh_Hant"),
    ("en;q=0.4, zh-HK;q=0.6", "zh_Hant"),
    ("de, en;q=0.7, en;q=0.9", "en"),
    # q=0 says "not this one"; a broken q-value counts as not wanted.
    ("zh-CN;q=0, en", "en"),
    ("en;q=abc, zh-HK;q=0.1", "zh_Hant"),
    ("zh;q=nan, en;q=0.1", "en"),
    # Equal quality keeps the header's order.
    ("zh-TW;q=0.8, en;q=0.8", "zh_Hant"),
    (" en-GB ; q = 0.9 ", "en"),
    ("fr-FR,de;q=0.8", None),
    ("*", None),
    ("", None),
    (None, None),
])
def test_accept_language_is_negotiated_by_quality(header: str | None, locale: str | None) -> None:
    assert i18n.from_accept_language(header) == locale


def test_a_choice_beats_the_saved_language_which_beats_the_browser() -> None:
    assert i18n.negotiate(chosen="en", saved="zh_Hant", accept_language="zh-CN") == "en"
    assert i18n.negotiate(chosen="xx", saved="zh_Hant", accept_language="en") == "zh_Hant"
    assert i18n.negotiate(accept_language="zh-HK") == "zh_Hant"
    assert i18n.negotiate(accept_language="fr") == "zh_Hans"
