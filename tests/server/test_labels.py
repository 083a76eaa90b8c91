"""The audit log speaks plainly: every action the app records has a label, and no label is left over."""

from __future__ import annotations

import re
from pathlib import Path

from server import labels

SERVER = Path(__file__).resolve().parents[2] / "server"
# The action is the first string literal passed to audit.record(...) or to checkins' audit_view(...), or
# the action= of an audited look (subjects.service.look_at).
RECORDED = re.compile(r"(?:audit\.record|audit_view)\((?:[^()\"]|\([^()]*\))*?\"([a-z_]+\.[a-z_]+)\""
                      r"|action(?:: str)? ?= ?\"([a-z_]+\.[a-z_]+)\"", re.S)


def _recorded_actions() -> set[str]:
    return {call or look for path in SERVER.rglob("*.py") for call, look in RECORDED.findall(path.read_text())}


def _labelled_actions() -> set[str]:
    source = Path(labels.__file__).read_text()
    codes = set(re.findall(r"\"([a-z_]+\.[a-z_]+)\":", source[source.index("def audit_action"):]))
    assert all(labels.audit_action(lambda message, **_: message, code) != code for code in codes)
    return codes


def test_the_scan_finds_the_actions_we_know_are_recorded():
    assert {"reading.created", "alert.opened", "checkin.watched", "subject.released"} <= _recorded_actions()


def test_every_recorded_action_has_a_label_and_every_label_an_action():
    recorded, labelled = _recorded_actions(), _labelled_actions()
    assert recorded - labelled == set(), "recorded without a label"
    assert labelled - recorded == set(), "labelled but never recorded"
