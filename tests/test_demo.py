"""`make demo` runs `python -m demo`: it must keep working, and say only what happened."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_checks_copies_carries_changes_and_then_writes_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "All checks passed." in out
    assert "contact          full copy done: 300 read, 300 written, 0 unchanged, 0 failed" in out
    assert "Marketo now: 600 persons (1 for" in out and "the form-filler, linked), 300 companies" in out
    assert "the contact's title is 'Chief Demo Officer'; Ada Lovelace is a person: True" in out
    assert "the deleted account's company is gone: True; opportunity roles: 1;" in out
    assert "contact          succeeded read 2, written 1, skipped 1, failed 0" in out
    second = out.split("A second run finds nothing to do and writes nothing")[1]
    runs = [line for line in second.splitlines() if " succeeded " in line and "calls:" in line]
    assert len(runs) == 9 and all("written 0" in line for line in runs)
    person = next(line for line in runs if line.startswith("person "))
    assert "Dataverse 0" in person  # Marketo's activities were the sync's own writes: dropped unread
    assert all("Marketo 0" in line for line in runs if line is not person)
