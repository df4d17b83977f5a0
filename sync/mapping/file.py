"""The mapping file (JSON or YAML): what an admin may write, as a pydantic schema, and reading it.
Every problem is reported at once, each naming where it is (line and column for syntax, the key
path for the schema) and how to fix it; never a traceback.

```yaml
sync_filter_column: new_synctomkto     # per-table boolean column; null turns the filter off
person_fields: {id: dynamicsId, type: dynamicsEntityType, deleted: dynamicsIsDeleted}
delete_persons: false                  # true: a deleted lead/contact deletes its Marketo person
objects:                               # the tables sync/objects.py maps field by field
  lead:
    winner: marketo                    # dynamics | marketo | newest
    exclude: [rating]                  # default rows to drop, by Marketo field
    fields:
      - {dynamics: new_industry, marketo: industry, direction: both, winner: newest}
  account:
    fields:
      - {dynamics: new_tier, marketo: tier_c, option_value: code}
custom_tables:
  - table: new_project
    marketo_object: dynamicsProject_c
    key: projectId                     # the Marketo dedupe field that receives the row's id
    person: new_contactid              # lookup to the contact (or lead) the object belongs to
    fields:
      - {dynamics: new_name, marketo: projectName}
engagement:                            # Marketo engagement in Dynamics (mapping/engagement.py)
  scores: true                         # scores and the last interesting moment onto leads and contacts
  timeline: true                       # activities as rows of the Marketo activity table
  types: {Visit Webpage: individual, Email Delivered: off}   # over the defaults: individual | rollup | off
```
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sync.mapping.engagement import DEFAULT_TYPES, Mode
from sync.mapping.types import FieldDirection, LookupValue, OptionValue, Winner
from sync.objects import MAPPED_TABLES

if TYPE_CHECKING:
    MappedTable = str
else:  # the registry's mapped tables, refused like any literal (pydantic lists the allowed ones)
    MappedTable = Literal[tuple(MAPPED_TABLES)]

SUFFIXES: Final = {".json": "JSON", ".yaml": "YAML", ".yml": "YAML"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldEntry(_Strict):
    dynamics: str = Field(min_length=1, description="Dynamics column logical name")
    marketo: str = Field(min_length=1, description="Marketo field REST name")
    direction: FieldDirection | None = None  # default: both for leads and contacts, else to_marketo
    winner: Winner | None = None
    option_value: OptionValue = OptionValue.LABEL
    lookup_value: LookupValue = LookupValue.ID
    lookup_target: str | None = None


class ObjectEntry(_Strict):
    winner: Winner | None = None
    exclude: list[str] = Field(default_factory=list)
    fields: list[FieldEntry] = Field(default_factory=list)


class CustomTableEntry(_Strict):
    table: str = Field(min_length=1)
    marketo_object: str = Field(min_length=1)
    key: str = Field(min_length=1)
    person: str | None = None
    person_field: str = "leadId"
    fields: list[FieldEntry] = Field(default_factory=list)


class CampaignResponseEntry(_Strict):
    """A Marketo program whose members' status changes become responses to a Dynamics campaign."""

    program: str | int  # the program's name, or its id
    campaign: str = Field(min_length=1)  # the campaign's id or its code (CMP-…)
    statuses: dict[str, str] = Field(min_length=1)  # program status → response code label, or "none"
    channel: str = "Others"  # the responses' channel (channeltypecode label)


class EngagementEntry(_Strict):
    scores: bool = True
    timeline: bool = True
    types: dict[str, Mode] = Field(default_factory=dict)  # Marketo activity type name → mode, over the defaults

    @field_validator("types", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        """YAML reads a bare `off` as false: it means off here."""
        return {k: Mode.OFF if v is False else v for k, v in value.items()} if isinstance(value, dict) else value

    def modes(self) -> dict[str, Mode]:
        """The activity types the timeline takes, each with its mode."""
        merged = {**DEFAULT_TYPES, **self.types} if self.timeline else {}
        return {name: mode for name, mode in merged.items() if mode is not Mode.OFF}


class PersonFields(_Strict):
    id: str = "dynamicsId"
    type: str = "dynamicsEntityType"
    deleted: str = "dynamicsIsDeleted"


class MappingFile(_Strict):
    version: Literal[1] = 1
    sync_filter_column: str | None = "new_synctomkto"
    person_fields: PersonFields = Field(default_factory=PersonFields)
    delete_persons: bool = False
    team_member_object: str | None = "dynamicsTeamMember_c"
    campaign_object: str | None = "dynamicsCampaign_c"
    campaign_member_object: str | None = "dynamicsCampaignMember_c"
    objects: dict[MappedTable, ObjectEntry] = Field(default_factory=dict)
    custom_tables: list[CustomTableEntry] = Field(default_factory=list)
    campaign_responses: list[CampaignResponseEntry] = Field(default_factory=list)
    engagement: EngagementEntry = Field(default_factory=lambda: EngagementEntry())

    def entry(self, table: str) -> ObjectEntry | None:
        return self.objects.get(table)


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
        **{name: list(ObjectEntry.model_fields) for name in MAPPED_TABLES},
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
