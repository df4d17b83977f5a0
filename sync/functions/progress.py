"""A long job's progress for its orchestration's custom status: done, total, rate and ETA. Pure, so
the orchestrator stays deterministic (its clock is the orchestration's, not the machine's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def progress(
    obj: str, done: int, total: int | None, started_at: datetime, done_at_start: int, now: datetime
) -> dict[str, Any]:
    seconds = max((now - started_at).total_seconds(), 0.0)
    rate = (done - done_at_start) / seconds if seconds > 0 else 0.0
    left = max((total or 0) - done, 0)
    eta = round(left / rate) if rate > 0 and total else None
    return {"object": obj, "done": done, "total": total, "rate": round(rate, 1), "eta_s": eta}
