"""The deployed app is the tree `.funcignore` leaves: it must import and index without emulators/,
tests/, bench/ or demo/, which never ship."""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {
    "DATAVERSE_URL": "https://contoso.crm.dynamics.com",
    "MARKETO_BASE_URL": "https://123-ABC-456.mktorest.com",
    "MARKETO_CLIENT_ID": "client",
    "MARKETO_CLIENT_SECRET": "secret",
    "SYNC_STORAGE_CONNECTION": "UseDevelopmentStorage=true",
}
IMPORT_EVERYTHING = """
import importlib, importlib.util, os, pkgutil, sys
checkout = os.environ["CHECKOUT"]
for absent in ("emulators", "tests", "bench", "demo"):
    spec = importlib.util.find_spec(absent)  # (site-packages may hold some library's own "tests")
    places = [] if spec is None else [spec.origin or "", *(spec.submodule_search_locations or [])]
    ours = (os.path.join(os.getcwd(), absent), os.path.join(checkout, absent))
    assert not [p for p in places if p.startswith(ours)], absent + " is importable"
import function_app
import sync
names = [m.name for m in pkgutil.walk_packages(sync.__path__, "sync.") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print(len(names), "modules")
"""


def _deployed_files() -> list[Path]:
    """Every file of the checkout but what .funcignore excludes (a pattern matches any path part)."""
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".funcignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(name: str) -> bool:
        return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)

    kept = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not ignored(d)]
        kept += [Path(folder, f).relative_to(ROOT) for f in files if not ignored(f)]
    return kept


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("deployed")
    for path in _deployed_files():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, target / path)
    return target


def _run(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",) and not k.startswith(("SYNC_", "MARKETO_"))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=tree,
        env={**env, **SETTINGS, "CHECKOUT": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deployed_tree_leaves_out_every_development_folder(deployed: Path) -> None:
    top = {p.name for p in deployed.iterdir()}
    assert {"function_app.py", "host.json", "requirements.txt", "sync"} <= top
    assert not top & {"emulators", "tests", "bench", "demo", "docs", "infra", "tools", "local.settings.sample.json"}


def test_the_deployed_tree_imports_every_module_without_the_emulators(deployed: Path) -> None:
    result = _run(deployed, "-c", IMPORT_EVERYTHING)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[0]) > 30


def test_the_cli_in_the_deployed_tree_says_the_demo_is_not_part_of_it(deployed: Path) -> None:
    result = _run(deployed, "-m", "sync", "demo")
    assert result.returncode == 2
    assert "run `make demo` in a checkout" in result.stdout


@pytest.mark.parametrize("module", ["emulators.launch", "tests.conftest", "bench", "demo.run"])
def test_lint_refuses_an_import_of_a_development_folder_from_the_app(module: str) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "--stdin-filename", "sync/engine_example.py", "-"],
        cwd=ROOT,
        input=f"import {module}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "TID251" in result.stdout and "the deployed app ships without it" in result.stdout
