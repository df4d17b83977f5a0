"""Where a benchmark's result goes: one JSON file under bench/results/ (or where --out says),
summarised on stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def write_result(report: dict[str, Any], out: Path | None, default_name: str, hide: tuple[str, ...] = ()) -> int:
    path = out or RESULTS / default_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in hide}, indent=2))
    print(f"written to {path}")
    return 0
