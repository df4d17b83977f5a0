"""`GET /api/data/v9.2/$metadata`: the CSDL document (OData v4 EDMX) of the emulated tables.

Shaped as Dataverse's (Web API EntityTypes, Properties and Navigation Properties docs): schema
`Microsoft.Dynamics.CRM` aliased `mscrm`; the abstract `crmbaseentity` every table inherits
from, `crmmodelbaseentity` and the open `expando`; per table its key, one property per column
(`_<lookup>_value` as `Edm.Guid` for lookups, which also get a navigation property per target,
named as the emulator binds them), and an entity set in the `System` container. Only the
tables the emulator has are described; Dataverse's document also holds its complex types,
enums, functions and actions, which no client of this product reads.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from emulators.dataverse.catalogue import Column, TableDef

EDM_TYPES = {
    "String": "Edm.String",
    "Memo": "Edm.String",
    "MultiSelectPicklist": "Edm.String",
    "Integer": "Edm.Int32",
    "Picklist": "Edm.Int32",
    "State": "Edm.Int32",
    "Status": "Edm.Int32",
    "BigInt": "Edm.Int64",
    "Decimal": "Edm.Decimal",
    "Money": "Edm.Decimal",
    "Double": "Edm.Double",
    "Boolean": "Edm.Boolean",
    "DateTime": "Edm.DateTimeOffset",
    "Uniqueidentifier": "Edm.Guid",
    "EntityName": "Edm.String",
}
_FACETS = {
    "Edm.String": ' Unicode="false"',
    "Edm.Decimal": ' Scale="Variable"',
    "Edm.DateTimeOffset": ' Precision="0"',
}


def _property(column: Column) -> str:
    if column.is_lookup:
        return f'<Property Name="{column.lookup_property}" Type="Edm.Guid" />'
    edm = "Edm.Date" if column.type == "DateTime" and column.behavior == "DateOnly" else EDM_TYPES[column.type]
    return f"<Property Name={quoteattr(column.name)} Type={quoteattr(edm)}{_FACETS.get(edm, '')} />"


def _navigations(column: Column, known: set[str]) -> list[str]:
    return [
        f"<NavigationProperty Name={quoteattr(column.navigation_property(target))} "
        f'Type="mscrm.{target if target in known else "crmbaseentity"}" />'
        for target in column.targets
    ]


def entity_type(table: TableDef, known: set[str]) -> str:
    parts = [f'<Key><PropertyRef Name="{table.primary_id}" /></Key>']
    columns = list(table.columns)
    if not table.column(table.primary_id):
        parts.append(f'<Property Name="{table.primary_id}" Type="Edm.Guid" />')
    parts += [_property(c) for c in columns]
    parts += [nav for c in columns if c.is_lookup for nav in _navigations(c, known)]
    body = "".join(parts)
    return f'<EntityType Name="{table.logical_name}" BaseType="mscrm.crmbaseentity">{body}</EntityType>'


def document(tables: list[TableDef]) -> str:
    known = {t.logical_name for t in tables}
    types = "".join(entity_type(t, known) for t in tables)
    sets = "".join(
        f'<EntitySet Name="{t.entity_set}" EntityType="Microsoft.Dynamics.CRM.{t.logical_name}" />' for t in tables
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
        '<edmx:Reference Uri="http://vocabularies.odata.org/OData.Community.Keys.V1.xml">'
        '<edmx:Include Namespace="OData.Community.Keys.V1" Alias="Keys" />'
        "</edmx:Reference>"
        "<edmx:DataServices>"
        '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        '<EntityType Name="crmbaseentity" Abstract="true" />'
        '<EntityType Name="crmmodelbaseentity" Abstract="true" />'
        '<EntityType Name="expando" BaseType="mscrm.crmbaseentity" OpenType="true" />'
        f'{types}<EntityContainer Name="System">{sets}</EntityContainer>'
        "</Schema></edmx:DataServices></edmx:Edmx>"
    )
