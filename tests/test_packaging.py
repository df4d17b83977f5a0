"""What gets deployed: pinned runtime requirements, never the worker, and nothing dev-only."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _requirements(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith(("#", "-r"))]


def test_runtime_requirements_are_pinned_and_never_list_the_functions_worker() -> None:
    runtime = _requirements("requirements.txt")
    assert runtime
    assert [r for r in runtime if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][^\s]*", r)] == []
    assert not any(r.lower().startswith("azure-functions-worker") for r in runtime)


def test_emulator_and_test_libraries_stay_out_of_the_deployed_requirements() -> None:
    runtime = {r.split("==")[0].lower() for r in _requirements("requirements.txt")}
    assert not runtime & {
        "werkzeug",
        "pytest",
        "orjson",
        "jsonschema",
        "marketorestpython",
        "powerplatform-dataverse-client",
    }
    assert {
        "azure-functions",
        "azure-functions-durable",
        "azure-identity",
        "azure-data-tables",
        "requests",
        "pydantic",
    } <= runtime
