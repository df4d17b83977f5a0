"""Reading a mapping file: JSON or YAML by its suffix, then the schema. Every problem is reported
at once, each naming where it is (line and column for syntax, the key path for the schema) and
how to fix it; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import ValidationError

from sync.mapping.schema import CustomTableEntry, FieldEntry, MappingFile, ObjectEntry, PersonFields

SUFFIXES: Final = {".json": "JSON", ".yaml": "YAML", ".yml": "YAML"}


class MappingError(Exception):
    """The mapping cannot be used; `problems` lists each problem with its fix."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source, self.problems = source, problems
        lines = "\n".join(f"  - {p}" for p in problems)
        plural = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"The field mapping {source} has {len(problems)} {plural}:\n{lines}")


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _allowed(error: dict[str, Any]) -> str:
    expected = str((error.get("ctx") or {}).get("expected", ""))
    return expected.replace("'", "")


def _describe(error: dict[str, Any], known_keys: dict[str, list[str]]) -> str:
    where, kind, given = _where(tuple(error["loc"])), error["type"], error.get("input")
    if kind == "extra_forbidden":
        parent = ".".join(str(p) for p in error["loc"][:-1] if not isinstance(p, int))
        allowed = ", ".join(known_keys.get(parent.rsplit(".", 1)[-1] if parent else "", []))
        return f"{where}: unknown key; allowed here: {allowed}" if allowed else f"{where}: unknown key"
    if kind in ("enum", "literal_error"):
        return f"{where}: {given!r} is not allowed; use one of {_allowed(error)}"
    if kind == "missing":
        return f"{where}: is missing"
    if kind in ("string_too_short",):
        return f"{where}: must not be empty"
    return f"{where}: {error['msg']} (got {given!r})"


def _known_keys() -> dict[str, list[str]]:
    return {
        "": list(MappingFile.model_fields),
        "fields": list(FieldEntry.model_fields),
        "custom_tables": list(CustomTableEntry.model_fields),
        "person_fields": list(PersonFields.model_fields),
        **{name: list(ObjectEntry.model_fields) for name in ("lead", "contact", "account", "opportunity")},
        **{name: list(ObjectEntry.model_fields) for name in ("systemuser", "team")},
    }


def parse_mapping(text: str, source: str, syntax: str) -> MappingFile:
    """Mapping text in JSON or YAML → the validated file; MappingError with every problem."""
    try:
        raw = json.loads(text) if syntax == "JSON" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise MappingError(source, [f"line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError(source, [f"{where}not valid YAML ({problem})"]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise MappingError(source, [f"the file must hold a mapping of keys (got a {type(raw).__name__})"])
    try:
        return MappingFile.model_validate(raw)
    except ValidationError as exc:
        keys = _known_keys()
        problems = [_describe(dict(e), keys) for e in exc.errors(include_url=False)]
        raise MappingError(source, problems) from None


def load_mapping(path: Path | None) -> MappingFile:
    """The mapping file at `path` (SYNC_MAPPING_FILE), or the defaults alone when there is none."""
    if path is None:
        return MappingFile()
    syntax = SUFFIXES.get(path.suffix.lower())
    if syntax is None:
        raise MappingError(str(path), [f"unknown file type {path.suffix!r}; name it .json, .yaml or .yml"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(str(path), [f"cannot be read ({exc})"]) from None
    return parse_mapping(text, str(path), syntax)
