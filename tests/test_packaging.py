"""What gets deployed: pinned runtime requirements, never the worker, and nothing dev-only."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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


def _imported_top_modules(paths: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _closure(distributions: set[str]) -> set[str]:
    """The distributions pip installs for these: each one's requirements, transitively (no extras)."""
    seen: set[str] = set()
    todo = [canonicalize_name(d) for d in distributions]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for requirement in metadata.requires(name) or []:
            parsed = Requirement(requirement)
            if parsed.marker is None or parsed.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(parsed.name))
    return seen


def test_every_library_the_deployed_app_imports_is_installed_by_the_runtime_requirements() -> None:
    """A library only a dev tool pulls in (numpy came with matplotlib) imports fine in tests and
    fails on Azure, where only requirements.txt is installed."""
    shipped = [ROOT / "function_app.py", *(ROOT / "sync").rglob("*.py")]
    ours = {"sync", "function_app"}
    third_party = {
        m for m in _imported_top_modules(shipped) - ours if m not in sys.stdlib_module_names and m != "__future__"
    }
    providers = metadata.packages_distributions()
    installed = _closure({r.split("==")[0].split("[")[0] for r in _requirements("requirements.txt")})
    missing = {
        m: providers.get(m) for m in third_party if not {canonicalize_name(d) for d in providers.get(m, [])} & installed
    }
    assert missing == {}, f"add these to requirements.txt: {missing}"
