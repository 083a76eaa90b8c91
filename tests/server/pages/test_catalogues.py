"""Every text the pages and the API show has a translation in both Chinese catalogues."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
KEYWORDS = re.findall(r"-k (\w+)", (ROOT / "Makefile").read_text())


def _messages() -> set[str]:
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {k: None for k in KEYWORDS}
    return {message for _file, _line, message, _comments, _context in
            ((f, ln, m, c, ctx) for f, ln, m, c, ctx in
             extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords))  # type: ignore[arg-type]
            if isinstance(message, str) and message}


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_every_message_is_translated_with_the_same_placeholders(locale: str) -> None:
    assert KEYWORDS, "the Makefile's MESSAGE_KEYWORDS were not found"
    with (ROOT / "web" / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    missing, broken = [], []
    for message in sorted(_messages()):
        entry = catalog.get(message)
        if entry is None or not entry.string:
            missing.append(message)
        elif _fields(entry.string) != _fields(message):
            broken.append(message)
    assert not missing, f"untranslated in {locale} (run `make translations`): {missing}"
    assert not broken, f"placeholders differ in {locale}: {broken}"
