"""Reads local.settings.json "Values" into the environment, as `func start` does for the host."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from pathlib import Path


def apply_local_settings(path: Path, environ: MutableMapping[str, str]) -> list[str]:
    """Set each value not already in the environment (the environment wins); returns names set."""
    if not path.is_file():
        return []
    try:
        values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    except json.JSONDecodeError as exc:
        raise SystemExit(f"{path}: not valid JSON ({exc}); fix it or remove it.") from exc
    applied = []
    for name, value in values.items():
        if name not in environ and isinstance(value, str):
            environ[name] = value
            applied.append(name)
    return applied
