"""Table and column metadata (EntityDefinitions / Attributes): entity set names, primary ids,
change tracking, column types and option-set labels, for validating the mapping at start."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from sync.connectors.dataverse.client import DataverseClient
from sync.connectors.dataverse.errors import DataverseError


@dataclass(frozen=True)
class ColumnDefinition:
    logical_name: str
    attribute_type: str
    writable: bool
    max_length: int | None = None
    targets: tuple[str, ...] = ()
    behavior: str | None = None  # a DateTime column's DateTimeBehavior: UserLocal, DateOnly, TimeZoneIndependent


@dataclass(frozen=True)
class TableDefinition:
    """A Dataverse table: the three names every call needs (logical name, entity set, primary
    id), and what `describe` learns of it (change tracking, columns). One type for both uses."""

    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str = ""
    change_tracking: bool = True
    columns: dict[str, ColumnDefinition] = field(default_factory=dict, compare=False)


DERIVED_PROPERTIES: Final = (
    ("StringAttributeMetadata", "MaxLength"),
    ("MemoAttributeMetadata", "MaxLength"),
    ("LookupAttributeMetadata", "Targets"),  # Customer and Owner columns are lookups too
    ("DateTimeAttributeMetadata", "DateTimeBehavior"),  # a date-only column is a date, not a moment
)


class MetadataReader:
    def __init__(self, client: DataverseClient) -> None:
        self.client = client
        self._cache: dict[str, TableDefinition] = {}

    def describe(self, logical_name: str) -> TableDefinition:
        """One call for the table and its columns' common properties, then one per derived type
        whose own properties the sync needs (strings' and memos' MaxLength, lookups' Targets, dates'
        DateTimeBehavior):
        Dataverse resolves `$select` against AttributeMetadata and refuses those without a cast."""
        if logical_name not in self._cache:
            try:
                body = self.client.get_json(
                    f"EntityDefinitions(LogicalName='{logical_name}')",
                    params={
                        "$select": (
                            "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,ChangeTrackingEnabled"
                        ),
                        "$expand": "Attributes($select=LogicalName,AttributeType,IsValidForUpdate)",
                    },
                )
            except DataverseError as error:
                if error.status == 404:
                    raise DataverseError(404, error.code, f"Dataverse has no table '{logical_name}'") from error
                raise
            derived: dict[str, dict[str, Any]] = {}
            for cast, wanted in DERIVED_PROPERTIES:
                for attribute in self._attributes(logical_name, cast, ("LogicalName", wanted)):
                    derived.setdefault(attribute["LogicalName"], {})[wanted] = attribute.get(wanted)
            columns = {}
            for a in body.get("Attributes", []):
                extra = derived.get(a["LogicalName"], {})
                length = extra.get("MaxLength")
                behavior = (extra.get("DateTimeBehavior") or {}).get("Value")
                columns[a["LogicalName"]] = ColumnDefinition(
                    a["LogicalName"],
                    a["AttributeType"],
                    bool(a.get("IsValidForUpdate")),
                    int(length) if isinstance(length, int) else None,
                    tuple(str(t) for t in extra.get("Targets") or ()),
                    str(behavior) if behavior else None,
                )
            self._cache[logical_name] = TableDefinition(
                body["LogicalName"],
                body["EntitySetName"],
                body["PrimaryIdAttribute"],
                body.get("PrimaryNameAttribute", ""),
                bool(body["ChangeTrackingEnabled"]),
                columns,
            )
        return self._cache[logical_name]

    def forget(self, logical_name: str) -> None:
        """Describe the table afresh next time (its columns changed: setup made some)."""
        self._cache.pop(logical_name, None)

    def _attributes(self, logical_name: str, cast: str, select: tuple[str, ...]) -> list[dict[str, Any]]:
        body = self.client.get_json(
            f"EntityDefinitions(LogicalName='{logical_name}')/Attributes/Microsoft.Dynamics.CRM.{cast}",
            params={"$select": ",".join(select)},
        )
        return list(body.get("value", []))

    def record_counts(self, logical_names: list[str]) -> dict[str, int]:
        """Rows per table (RetrieveTotalRecordCount: a snapshot up to a day old), for progress."""
        listed = ",".join(f"'{name}'" for name in logical_names)
        body = self.client.get_json("RetrieveTotalRecordCount(EntityNames=@p1)", params={"@p1": f"[{listed}]"})
        counts = body.get("EntityRecordCountCollection") or {}
        return dict(zip(counts.get("Keys", []), (int(v) for v in counts.get("Values", [])), strict=False))

    def option_labels(self, logical_name: str) -> dict[str, dict[int, str]]:
        """Picklist, state and status columns → {value: label}."""
        labels: dict[str, dict[int, str]] = {}
        for cast in ("PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata"):
            body = self.client.get_json(
                f"EntityDefinitions(LogicalName='{logical_name}')/Attributes/Microsoft.Dynamics.CRM.{cast}",
                params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
            )
            for attribute in body.get("value", []):
                options = (attribute.get("OptionSet") or {}).get("Options") or []
                labels[attribute["LogicalName"]] = {
                    int(o["Value"]): str(((o.get("Label") or {}).get("UserLocalizedLabel") or {}).get("Label", ""))
                    for o in options
                }
        return labels
