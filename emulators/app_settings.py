"""The app settings that point the sync at running emulators: the one place that turns an
emulator's ready line into DATAVERSE_* / MARKETO_* / SYNC_CA_FILE (tests, demo and benchmarks
all use it)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final


def _dataverse(info: Mapping[str, Any]) -> dict[str, str]:
    return {
        "DATAVERSE_URL": info["url"],
        "DATAVERSE_TENANT_ID": info["tenant_id"],
        "DATAVERSE_CLIENT_ID": info["client_id"],
        "DATAVERSE_CLIENT_SECRET": info["client_secret"],
        "DATAVERSE_AUTHORITY": info["authority"],
    }


def _marketo(info: Mapping[str, Any]) -> dict[str, str]:
    return {
        "MARKETO_BASE_URL": info["url"],
        "MARKETO_CLIENT_ID": info["client_id"],
        "MARKETO_CLIENT_SECRET": info["client_secret"],
    }


SETTINGS_OF: Final[dict[str, Callable[[Mapping[str, Any]], dict[str, str]]]] = {
    "dataverse": _dataverse,
    "marketo": _marketo,
}


def ca_bundle(ca_files: list[str]) -> str:
    """One PEM file trusting every emulator's CA (each emulator makes its own), written beside the
    first and named by content, so the same CAs always give the same file."""
    if len(set(ca_files)) == 1:
        return ca_files[0]
    pems = b"".join(Path(f).read_bytes() for f in dict.fromkeys(ca_files))
    bundle = Path(ca_files[0]).parent / f"ca-bundle-{hashlib.sha256(pems).hexdigest()[:12]}.pem"
    if not bundle.exists():
        bundle.write_bytes(pems)
    return str(bundle)


def app_settings(*ready_lines: Mapping[str, Any], storage: str | None = None, **extra: str) -> dict[str, str]:
    """Settings for the emulators whose ready lines are given, plus Table Storage and any extras."""
    env: dict[str, str] = {}
    for info in ready_lines:
        env.update(SETTINGS_OF[info["service"]](info))
    ca_files = [str(info["ca_file"]) for info in ready_lines if info.get("ca_file")]
    if ca_files:
        env["SYNC_CA_FILE"] = ca_bundle(ca_files)
    if storage is not None:
        env["SYNC_STORAGE_CONNECTION"] = storage
    return {**env, **extra}
