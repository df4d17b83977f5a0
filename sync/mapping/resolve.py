"""Defaults + the mapping file + both schemas → the mapping the engine runs, or every problem.

Pure: the schemas come in as data (Dataverse table definitions and option labels, Marketo
describe results), read by the caller. Each row is checked like the others, default or not: the
Dynamics column and the Marketo field exist (else the closest names are offered), their types
are compatible, the direction is possible for the object, and a read-only target is never
written.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from sync.connectors.dataverse.metadata import TableDefinition
from sync.mapping.defaults import DEFAULT_FIELDS, FieldRule
from sync.mapping.file import CustomTableEntry, FieldEntry, MappingError, MappingFile, PersonFields
from sync.mapping.own_objects import OWN_OBJECTS
from sync.mapping.transforms import ValueSpec
from sync.mapping.types import COMPATIBLE_MARKETO_TYPES, FieldDirection, FieldType, LookupValue, Winner, field_type
from sync.objects import MAPPED_TABLES, custom_target, target_label


@dataclass(frozen=True)
class MarketoField:
    name: str
    data_type: str
    length: int | None = None
    updateable: bool = True


@dataclass(frozen=True)
class Schemas:
    """What the two systems say of themselves, read once at start."""

    tables: Mapping[str, TableDefinition]
    option_labels: Mapping[str, Mapping[str, Mapping[int, str]]]
    marketo: Mapping[str, Mapping[str, MarketoField]]  # target → fields
    marketo_dedupe: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    person_lookups: tuple[str, ...] = ()  # person fields Marketo takes as a lookupField (searchable alone)


@dataclass(frozen=True)
class FieldMapping:
    dynamics: str
    marketo: str
    direction: FieldDirection
    winner: Winner
    spec: ValueSpec
    lookup_target: str | None = None

    @cached_property  # read for every field of every record: computed once
    def reference(self) -> bool:
        return self.spec.type in (FieldType.LOOKUP, FieldType.OWNER)

    @cached_property
    def property_name(self) -> str:
        """The Web API property that carries the column: lookups come as _<column>_value."""
        return f"_{self.dynamics}_value" if self.reference else self.dynamics


@dataclass(frozen=True)
class TableMapping:
    table: str
    target: str
    fields: tuple[FieldMapping, ...]
    winner: Winner
    filter_column: str | None  # None when the table has no such column

    def columns(self) -> list[str]:
        names = [f.property_name for f in self.fields]
        if self.filter_column:
            names.append(self.filter_column)
        return list(dict.fromkeys(names))

    def to_marketo_fields(self) -> tuple[FieldMapping, ...]:
        return self._to_marketo

    @cached_property
    def _to_marketo(self) -> tuple[FieldMapping, ...]:
        return tuple(f for f in self.fields if f.direction.to_marketo)


@dataclass(frozen=True)
class CustomTableMapping:
    mapping: TableMapping
    object_name: str
    key_field: str
    person_column: str | None
    person_field: str


@dataclass(frozen=True)
class ResolvedMapping:
    tables: dict[str, TableMapping]  # standard tables by logical name
    custom: tuple[CustomTableMapping, ...]
    person_fields: PersonFields
    delete_persons: bool
    team_member_object: str | None  # None when Marketo has no such custom object
    id_is_lookup: bool = True  # Marketo takes the Dynamics id field as a lookupField
    campaign_object: str | None = None  # None when Marketo has no such custom object (or it is switched off)
    campaign_member_object: str | None = None  # likewise: where a person's campaign memberships show

    def table(self, name: str) -> TableMapping:
        return self.tables[name]


def closest(name: str, candidates: Iterable[str]) -> str:
    found = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f"; closest: {', '.join(found)}" if found else ""


def _rules(table: str, file: MappingFile, extra: dict[str, list[FieldRule]]) -> list[FieldRule | FieldEntry]:
    entry = file.entry(table)
    rows = [*DEFAULT_FIELDS[table], *extra.get(table, [])]
    defaults = [r for r in rows if entry is None or r.marketo not in entry.exclude]
    overridden = {f.marketo for f in entry.fields} if entry else set()
    return [*(r for r in defaults if r.marketo not in overridden), *(entry.fields if entry else [])]


class _Resolver:
    def __init__(self, file: MappingFile, schemas: Schemas) -> None:
        self.file, self.schemas = file, schemas
        self.problems: list[str] = []

    def field(
        self,
        where: str,
        table: TableDefinition,
        target: str,
        rule: FieldRule | FieldEntry,
        two_way: bool,
        winner: Winner,
    ) -> FieldMapping | None:
        direction = rule.direction or (FieldDirection.BOTH if two_way else FieldDirection.TO_MARKETO)
        label = f"{where}: {rule.dynamics} → {rule.marketo}"
        column = table.columns.get(rule.dynamics)
        marketo = self.schemas.marketo.get(target, {}).get(rule.marketo)
        if column is None:
            self.problems.append(
                f"{label}: Dynamics table '{table.logical_name}' has no column '{rule.dynamics}'"
                f"{closest(rule.dynamics, table.columns)}"
            )
        if marketo is None:
            self.problems.append(
                f"{label}: Marketo {target_label(target)} has no field '{rule.marketo}'"
                f"{closest(rule.marketo, self.schemas.marketo.get(target, {}))}"
            )
        if column is None or marketo is None:
            return None
        kind = field_type(column.attribute_type, column.behavior)
        if kind is None:
            self.problems.append(f"{label}: columns of type {column.attribute_type} cannot be mapped")
            return None
        if marketo.data_type not in COMPATIBLE_MARKETO_TYPES[kind]:
            allowed = ", ".join(sorted(COMPATIBLE_MARKETO_TYPES[kind]))
            self.problems.append(
                f"{label}: a {column.attribute_type} column cannot go into a Marketo {marketo.data_type} field "
                f"(compatible Marketo types: {allowed})"
            )
            return None
        if direction.to_dynamics and not two_way:
            self.problems.append(
                f"{label}: direction {direction.value} is not possible; {where} syncs one way, "
                "Dynamics → Marketo (use to_marketo)"
            )
            return None
        if direction.to_marketo and not marketo.updateable:
            self.problems.append(f"{label}: the Marketo field is read-only; use direction to_dynamics")
            return None
        if direction.to_dynamics and not column.writable:
            self.problems.append(f"{label}: the Dynamics column is read-only; use direction to_marketo")
            return None
        lookup_value = getattr(rule, "lookup_value", LookupValue.ID)
        lookup_target = rule.lookup_target
        if direction.to_dynamics and kind is FieldType.OWNER:
            self.problems.append(
                f"{label}: owners are changed in Dynamics through the 'change owner' flow action, not the mapping; "
                "use direction to_marketo"
            )
            return None
        if direction.to_dynamics and kind is FieldType.LOOKUP:
            if lookup_value is LookupValue.NAME or len(column.targets) != 1:
                how = (
                    "by name"
                    if lookup_value is LookupValue.NAME
                    else f"to several tables ({', '.join(column.targets)})"
                )
                self.problems.append(f"{label}: a lookup {how} cannot be written back; use direction to_marketo")
                return None
            lookup_target = lookup_target or column.targets[0]
        spec = ValueSpec(
            kind,
            f"{rule.dynamics} → {rule.marketo}",
            marketo.data_type,
            marketo.length,
            dict(self.schemas.option_labels.get(table.logical_name, {}).get(rule.dynamics, {})),
            rule.option_value,
            lookup_value,
        )
        return FieldMapping(rule.dynamics, rule.marketo, direction, rule.winner or winner, spec, lookup_target)

    def table_mapping(
        self,
        where: str,
        table_name: str,
        target: str,
        rules: list[FieldRule | FieldEntry],
        two_way: bool,
        winner: Winner,
    ) -> TableMapping | None:
        table = self.schemas.tables.get(table_name)
        if table is None:
            self.problems.append(
                f"{where}: Dataverse has no table '{table_name}'{closest(table_name, self.schemas.tables)}"
            )
            return None
        if target not in self.schemas.marketo:
            self.problems.append(f"{where}: Marketo has no {target_label(target)}")
            return None
        fields = [self.field(where, table, target, rule, two_way, winner) for rule in rules]
        sources = [f.dynamics for f in fields if f is not None and f.direction.to_dynamics]
        for twice in sorted({c for c in sources if sources.count(c) > 1}):
            self.problems.append(f"{where}: column '{twice}' is written from two Marketo fields; keep one")
        name = self.file.sync_filter_column
        filter_column = name if name and name in table.columns else None
        return TableMapping(table_name, target, tuple(f for f in fields if f), winner, filter_column)

    def custom_table(self, entry: CustomTableEntry, index: int) -> CustomTableMapping | None:
        where = f"custom_tables[{index}] ({entry.table})"
        target = custom_target(entry.marketo_object)
        mapping = self.table_mapping(where, entry.table, target, list(entry.fields), False, Winner.DYNAMICS)
        if mapping is None:
            return None
        fields = self.schemas.marketo[target]
        dedupe = self.schemas.marketo_dedupe.get(target, ())
        if entry.key not in fields or (dedupe and entry.key not in dedupe):
            self.problems.append(
                f"{where}: key '{entry.key}' is not a dedupe field of {entry.marketo_object} "
                f"(its dedupe fields: {', '.join(dedupe) or 'none'})"
            )
        if entry.person is not None:
            column = self.schemas.tables[entry.table].columns.get(entry.person)
            if column is None or not column.targets:
                self.problems.append(
                    f"{where}: person '{entry.person}' is not a lookup column of {entry.table}"
                    f"{closest(entry.person, self.schemas.tables[entry.table].columns)}"
                )
            elif entry.person_field not in fields:
                self.problems.append(
                    f"{where}: {entry.marketo_object} has no field '{entry.person_field}' to link the person"
                )
        return CustomTableMapping(mapping, entry.marketo_object, entry.key, entry.person, entry.person_field)


def resolve(
    file: MappingFile, schemas: Schemas, source: str = "(defaults)", extra: dict[str, list[FieldRule]] | None = None
) -> ResolvedMapping:
    """The runnable mapping; MappingError listing every problem when there is any. `extra`: default
    rows that apply only where the org has their columns (engagement's scores), by table."""
    resolver = _Resolver(file, schemas)
    tables: dict[str, TableMapping] = {}
    for table_name, (spec, stream) in MAPPED_TABLES.items():
        entry = file.entry(table_name)
        winner = entry.winner if entry is not None and entry.winner else spec.winner
        mapping = resolver.table_mapping(
            f"objects.{table_name}",
            table_name,
            stream.target,
            _rules(table_name, file, extra or {}),
            spec.two_way,
            winner,
        )
        if mapping is not None:
            tables[table_name] = mapping
    custom = [resolver.custom_table(entry, n) for n, entry in enumerate(file.custom_tables)]
    present: dict[str, str] = {}  # the sync's own objects Marketo has
    for own in OWN_OBJECTS:
        name = getattr(file, own.setting)
        if not name or custom_target(name) not in schemas.marketo:
            continue
        present[own.setting] = name
        missing = [f for f in own.fields if f not in schemas.marketo[custom_target(name)]]
        if missing:
            resolver.problems.append(
                f"{own.setting}: {name} lacks the fields {', '.join(missing)}; "
                f"give it {', '.join(own.fields)} (dedupe: {own.dedupe}), or set {own.setting}: null"
            )
    if resolver.problems:
        raise MappingError(source, resolver.problems)
    return ResolvedMapping(
        tables,
        tuple(c for c in custom if c is not None),
        file.person_fields,
        file.delete_persons,
        present.get("team_member_object"),
        file.person_fields.id in schemas.person_lookups,
        present.get("campaign_object"),
        present.get("campaign_member_object"),
    )
