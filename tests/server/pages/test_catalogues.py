"""Every text the pages and the API show has a translation in both Chinese catalogues."""

from __future__ import annotations

import ast
import re
import string
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import Environment

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


# --- texts that the extractor cannot see -------------------------------------------------------------
# The test above only finds texts passed to the catalogue's keywords. These keep texts from living
# anywhere else: per-language dicts in code, literal words in templates, words in scripts.

LOCALES = {"zh_Hans", "zh_Hant", "en"}
# Each language's own name, for the language switcher: deliberately the same on every page.
AUTONYMS = {"LOCALE_NAMES"}
TAG = re.compile(r"^[A-Za-z_-]+$")  # "zh-Hans", "zh_Hant_TW": language tags, not texts


def _per_language_dicts(tree: ast.AST) -> list[int]:
    named = {id(node.value): {getattr(t, "id", "") for t in node.targets}
             for node in ast.walk(tree) if isinstance(node, ast.Assign)}
    named |= {id(node.value): {getattr(node.target, "id", "")}
              for node in ast.walk(tree) if isinstance(node, ast.AnnAssign) and node.value is not None}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        if len(keys & LOCALES) < 2 or named.get(id(node), set()) & AUTONYMS:
            continue
        if not all(isinstance(v, ast.Constant) and isinstance(v.value, str) and TAG.match(v.value)
                   for v in node.values):
            lines.append(node.lineno)
    return lines


def test_no_texts_are_kept_per_language_in_code() -> None:
    found = []
    for package in ("server", "monitoring", "webrtc"):
        for path in sorted((ROOT / package).rglob("*.py")):
            found += [f"{path.relative_to(ROOT)}:{line}" for line in _per_language_dicts(ast.parse(path.read_text()))]
    assert not found, f"texts per language outside the catalogues (use gettext msgids): {found}"


def test_the_check_finds_a_dict_of_strings_per_language() -> None:
    tree = ast.parse('TITLE = {"zh_Hans": "提醒", "zh_Hant": "提醒", "en": "Reminder"}\n'
                     'KINDS = {"zh_Hans": {"fever": "发热"}, "en": {"fever": "fever"}}\n'
                     'LOCALE_NAMES = {"zh_Hans": "简体中文", "en": "English"}\n'
                     'BABEL = {"zh_Hans": "zh_Hans_CN", "en": "en"}\n')
    assert _per_language_dicts(tree) == [1, 2]


WORDS = re.compile(r"[A-Za-z]{2,}|[\u3400-\u9fff]")
SHOWN_ATTRIBUTES = {"title", "alt", "aria-label", "placeholder"}


class _TextFinder(HTMLParser):
    """Words a template shows outside ``{{ … }}``: text and the attributes people read or hear."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("meta", "link", "input", "img", "br", "hr", "source"):
            self._open.append(tag)
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value and WORDS.search(value.replace("\0", " ")):
                self.found.append(f"{tag}[{name}]={value!r}")

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1] in ("script", "style"):
            return
        text = data.replace("\0", " ").strip()
        if WORDS.search(text):
            self.found.append(repr(text))


def _literal_text(source: str) -> list[str]:
    """Template data with every Jinja expression and tag replaced by a NUL; class-name blocks
    (``{% block body_class %}subject{% endblock %}``) are markup, not text."""
    env = Environment(trim_blocks=True, lstrip_blocks=True)
    parts, skipping, names = [], 0, []
    for _line, kind, value in env.lex(source):
        if kind == "data":
            if not skipping:
                parts.append(value)
            continue
        if kind in ("block_begin", "variable_begin"):
            names = []
        elif kind == "name":
            names.append(value)
        elif kind == "block_end":
            if names[:1] == ["block"] and len(names) > 1 and names[1].endswith("_class"):
                skipping += 1
            elif names[:1] == ["endblock"] and skipping:
                skipping -= 1
        if not parts or parts[-1] != "\0":
            parts.append("\0")
    finder = _TextFinder()
    finder.feed("".join(parts))
    return finder.found


def test_templates_show_no_words_outside_the_catalogue() -> None:
    found = {str(path.relative_to(ROOT)): words for path in sorted((ROOT / "web" / "templates").rglob("*.html"))
             if (words := _literal_text(path.read_text()))}
    assert not found, f"literal words in templates (wrap them in _()): {found}"


def test_the_template_check_finds_literal_words() -> None:
    assert _literal_text('<p>Hello</p><img alt="照片" src="{{ u }}"><p>{{ _("Hi") }}</p>') == ["'Hello'",
                                                                                         "img[alt]='照片'"]
    assert _literal_text('{% block body_class %}subject{% endblock %}<b title="{{ t }}">{{ x }} · 42</b>') == []


def _string_literals(source: str) -> list[str]:
    """String literals of a script, comments skipped (enough of JavaScript for our own files)."""
    literals, i = [], 0
    while i < len(source):
        two = source[i:i + 2]
        if two == "//":
            end = source.find("\n", i)
            i = len(source) if end < 0 else end
        elif two == "/*":
            i = source.index("*/", i) + 2
        elif source[i] in "\"'`":
            quote, j = source[i], i + 1
            while source[j] != quote:
                j += 2 if source[j] == "\\" else 1
            literals.append(source[i + 1:j])
            i = j + 1
        else:
            i += 1
    return literals


SENTENCE = re.compile(r"^[A-Z][a-z]+(\s+[A-Za-z]+)+|[\u3400-\u9fff]")


def test_scripts_hold_no_words_of_their_own() -> None:
    found = {str(path.relative_to(ROOT)): texts for path in sorted((ROOT / "web" / "static").rglob("*.js"))
             if (texts := [s for s in _string_literals(path.read_text()) if SENTENCE.search(s)])}
    assert not found, f"texts in scripts (hand them over from the page, translated): {found}"


def test_the_script_check_finds_words() -> None:
    source = ('// Not this comment\nconst a = "use strict"; /* Nor "this" */\n'
              'const b = zh ? "实时更新已断开" : "Live updates disconnected";\n')
    words = [s for s in _string_literals(source) if SENTENCE.search(s)]
    assert words == ["实时更新已断开", "Live updates disconnected"]


def test_every_error_class_is_a_keyword_of_the_extractor() -> None:
    """An AppError subclass the Makefile does not list would keep its messages out of the catalogues."""
    bases: dict[str, set[str]] = {}
    for path in (ROOT / "server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
    errors, grown = {"AppError"}, True
    while grown:
        found = {name for name, parents in bases.items() if parents & errors}
        grown = not found <= errors
        errors |= found
    assert errors <= set(KEYWORDS), f"add to MESSAGE_KEYWORDS: {errors - set(KEYWORDS)}"
