"""The person fields the sync owns (behaviour §4): the Dynamics id and type written on every
person it syncs, so links can be rebuilt from Marketo, and the flag set when the Dynamics
record is deleted. Created through the lead-fields API when Marketo lacks them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sync.connectors.marketo.persons import PersonApi
from sync.connectors.marketo.policy import Refusal
from sync.mapping.file import PersonFields


@dataclass(frozen=True)
class OwnedField:
    name: str
    display_name: str
    data_type: str


def owned_fields(fields: PersonFields) -> list[OwnedField]:
    return [
        OwnedField(fields.id, "Dynamics Id", "string"),
        OwnedField(fields.type, "Dynamics Entity Type", "string"),
        OwnedField(fields.deleted, "Dynamics Is Deleted", "boolean"),
    ]


def ensure_owned_fields(
    persons: PersonApi, fields: PersonFields, described: Collection[str] | None = None
) -> list[str]:
    """Create the owned fields Marketo lacks; returns the names created (empty when all exist).
    `described`: the person fields as the caller just read them (the engine's start), so they
    are not described twice. Raises when Marketo refuses one (the API user's role needs
    Read-Write Schema Custom Field)."""
    existing = described if described is not None else persons.describe().fields
    missing = [f for f in owned_fields(fields) if f.name not in existing]
    if not missing:
        return []
    specs = [{"name": f.name, "displayName": f.display_name, "dataType": f.data_type} for f in missing]
    results = persons.create_fields(specs)
    refused = [
        (f.name, r.reason.message if r.reason else r.status)
        for f, r in zip(missing, results, strict=True)
        if not r.ok and r.refusal is not Refusal.ALREADY_EXISTS  # another process made it at the same moment
    ]
    if refused:
        names = ", ".join(f"{name} ({why})" for name, why in refused)
        raise PermissionError(
            f"Marketo refused to create the person fields {names}; give the API user's role "
            "'Read-Write Schema Custom Field', or create them in Admin > Field Management"
        )
    raced = [f.name for f, r in zip(missing, results, strict=True) if not r.ok]
    if raced and not set(raced) <= set(persons.describe().fields):
        raise RuntimeError(f"Marketo said the person fields {', '.join(raced)} exist but does not describe them")
    return [f.name for f, r in zip(missing, results, strict=True) if r.ok]


def id_is_lookup(persons: PersonApi, fields: PersonFields) -> bool:
    """Whether Marketo takes the Dynamics id field as a lookupField (describe2 lists it as searchable
    on its own): read again once the sync made its fields."""
    return any(names == (fields.id,) for names in persons.describe().searchable)
