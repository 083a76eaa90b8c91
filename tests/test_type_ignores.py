"""mypy runs strict over the three packages; where a check is silenced, the line says why."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE = re.compile(r"#\s*type:\s*ignore(\[[^\]]*\])?(?P<rest>.*)$")


def test_every_type_ignore_gives_its_reason_beside_it():
    silent = []
    for package in ("monitoring", "server", "webrtc"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                match = IGNORE.search(line)
                if match and not match.group("rest").strip().startswith("#"):
                    silent.append(f"{path.relative_to(ROOT)}:{number}")
    assert silent == [], "add a comment saying why, or fix the type"
