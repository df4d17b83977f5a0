"""`make demo` runs `python -m demo`: it must keep working, and say only what happened."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_runs_the_connectors_round_trip_against_the_emulators_and_azurite() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "full change-tracking read → 200 contacts" in out
    assert "Marketo: pushed 200 persons in 1 calls → 200 created." in out
    assert "next delta read from the stored checkpoint → 3 changed, 1 deleted." in out
