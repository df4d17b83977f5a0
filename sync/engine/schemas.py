"""Reading both systems' schemas once at start (I/O at the edge): Dataverse table definitions and
option labels, Marketo describe results for every target the mapping may write."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.dataverse.errors import DataverseError
from sync.connectors.dataverse.metadata import TableDefinition
from sync.connectors.marketo.connection import MarketoConnection
from sync.connectors.marketo.errors import MarketoFatal
from sync.connectors.marketo.lead_database import LeadDatabaseApi
from sync.mapping.file import MappingFile
from sync.mapping.resolve import MarketoField, Schemas
from sync.objects import MAPPED_TABLES, PERSON_TARGET, STANDARD_TABLES, STANDARD_TARGETS, custom_target


def _fields(described: dict[str, Any]) -> dict[str, MarketoField]:
    return {
        f["name"]: MarketoField(
            f["name"], f.get("dataType", "string"), f.get("length"), bool(f.get("updateable", True))
        )
        for f in described.get("fields", [])
    }


def _describe_tables(dataverse: DataverseConnection, names: Iterable[str]) -> dict[str, TableDefinition]:
    tables: dict[str, TableDefinition] = {}
    for name in dict.fromkeys(names):
        with contextlib.suppress(DataverseError):  # a missing table is reported by the mapping's validation
            tables[name] = dataverse.metadata.describe(name)
    return tables


def read_schemas(dataverse: DataverseConnection, marketo: MarketoConnection, file: MappingFile) -> Schemas:
    custom_tables = [c.table for c in file.custom_tables]
    tables = _describe_tables(dataverse, [*STANDARD_TABLES, *custom_tables])
    labels = {
        name: dataverse.metadata.option_labels(name) for name in (*MAPPED_TABLES, *custom_tables) if name in tables
    }
    person = marketo.persons.describe()
    targets: dict[str, dict[str, MarketoField]] = {
        PERSON_TARGET: {
            name: MarketoField(name, f.dataType, f.length, f.updateable) for name, f in person.fields.items()
        }
    }
    dedupe: dict[str, tuple[str, ...]] = {}
    apis: dict[str, LeadDatabaseApi] = {target: marketo.lead_database(target) for target in STANDARD_TARGETS}
    custom_objects = [c.marketo_object for c in file.custom_tables]
    optional = (file.team_member_object, file.campaign_object, file.campaign_member_object)
    custom_objects += [name for name in optional if name]
    apis.update({custom_target(name): marketo.custom_object(name) for name in dict.fromkeys(custom_objects)})
    for target, api in apis.items():
        try:
            described = api.describe()
        except MarketoFatal:
            continue  # a custom object Marketo lacks: the mapping's validation names it
        targets[target] = _fields(described)
        dedupe[target] = tuple(described.get("dedupeFields") or ())
    lookups = tuple(names[0] for names in person.searchable if len(names) == 1)
    return Schemas(tables, labels, targets, dedupe, lookups)
