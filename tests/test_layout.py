"""The README's layout is true to the tree: every module of `sync/` is named in the entry of
its folder, so a reader finds where a behaviour lives from the layout."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _layout_entries() -> dict[str, str]:
    """Each entry of the layout block: its path (first column) → its whole text."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    entries: dict[str, str] = {}
    current = ""
    for line in block.splitlines():
        if line and not line[0].isspace():
            current = line.split()[0]
            entries[current] = line[len(current) :]
        elif current:
            entries[current] += " " + line.strip()
    return entries


def _entry_for(module: Path, entries: dict[str, str]) -> tuple[str, str]:
    """The most specific entry covering the module: its own path, else its nearest folder's."""
    relative = module.relative_to(ROOT).as_posix()
    candidates = [path for path in entries if relative == path or relative.startswith(path.rstrip("/") + "/")]
    assert candidates, f"{relative} is under no entry of the README's layout"
    path = max(candidates, key=len)
    return path, entries[path]


def test_every_module_of_sync_is_named_in_the_readme_layout() -> None:
    entries = _layout_entries()
    unnamed = []
    for module in sorted((ROOT / "sync").rglob("*.py")):
        if module.name in ("__init__.py", "__main__.py"):
            continue
        path, text = _entry_for(module, entries)
        if path != module.relative_to(ROOT).as_posix() and not re.search(rf"\b{module.stem}\b", text):
            unnamed.append(f"{module.relative_to(ROOT)} (entry {path})")
    assert unnamed == []


def test_the_layout_names_no_module_that_is_gone() -> None:
    entries = _layout_entries()
    named_files = [path for path in entries if path.endswith(".py")]
    assert [path for path in named_files if not (ROOT / path).is_file()] == []
