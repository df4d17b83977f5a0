"""docs/reliability.md is what the suite does: generated from the catalogue, every check it names
exists, and every reliability test is named in it."""

from __future__ import annotations

import ast
import re

from tests.reliability.catalogue import DOC, ROOT, SECTIONS, render

CHECKS = [c for faults in SECTIONS.values() for f in faults for c in f.checks]


def _test_functions(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


def test_the_reliability_page_is_generated_from_the_catalogue() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "run: python -m tests.reliability.catalogue"


def test_every_check_the_page_names_exists() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    missing = []
    for check in CHECKS:
        if check.startswith("make "):
            target = check.split()[1]
            if not re.search(rf"^{target}:", makefile, re.MULTILINE) or not re.search(
                rf"^test:.*\b{target}\b", makefile, re.MULTILINE
            ):
                missing.append(check)
            continue
        path, _, name = check.partition("::")
        if not (ROOT / path).is_file() or name not in _test_functions(path):
            missing.append(check)
    assert not missing


def test_every_reliability_test_is_on_the_page() -> None:
    named = {tuple(c.split("::")) for c in CHECKS if "::" in c}
    unlisted = [
        f"{path.name}::{name}"
        for path in sorted((ROOT / "tests" / "reliability").glob("test_*.py"))
        if path.name != "test_catalogue.py"
        for name in _test_functions(str(path.relative_to(ROOT)))
        if (str(path.relative_to(ROOT)), name) not in named
    ]
    assert not unlisted
