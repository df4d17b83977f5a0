"""Which pipelines each object runs, assembled from the resolved mapping, the table definitions
and the Marketo connection (see the table in `pipelines.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sync.connectors.dataverse.metadata import TableDefinition
from sync.connectors.marketo.connection import MarketoConnection
from sync.engine.person_merge import PersonMerge
from sync.engine.person_target import PersonTarget
from sync.engine.pipelines import (
    OPPORTUNITY_COLUMNS,
    Extras,
    Pipeline,
    company_extras,
    custom_decide,
    custom_references,
    customer_decide,
    customer_references,
    mapped,
    opportunity_extras,
    originating_lead_references,
    person_extras,
    sales_person_extras,
    stakeholder_decide,
    stakeholder_references,
    taking_over,
    team_member_decide,
    with_columns,
)
from sync.engine.targets import LeadDatabaseTarget, OpportunityRoleTarget
from sync.mapping.resolve import ResolvedMapping
from sync.objects import PERSON_TABLES, SyncObject

STAKEHOLDER_COLUMNS = ("_record1id_value", "_record2id_value", "_record2roleid_value", "statecode")

# One-way objects with mapped fields: (object, Dynamics table, Marketo target, the pipeline's own
# fields, extra columns those need).
ONE_WAY: Final[tuple[tuple[SyncObject, str, str, Extras, tuple[str, ...]], ...]] = (
    (SyncObject.SYSTEMUSER, "systemuser", "salesperson", sales_person_extras("systemuserid"), ()),
    (SyncObject.TEAM, "team", "salesperson", sales_person_extras("teamid"), ()),
    (SyncObject.ACCOUNT, "account", "company", company_extras, ()),
    (SyncObject.OPPORTUNITY, "opportunity", "opportunity", opportunity_extras, OPPORTUNITY_COLUMNS),
)


def build_pipelines(
    mapping: ResolvedMapping,
    tables: Mapping[str, TableDefinition],
    marketo: MarketoConnection,
    merger: PersonMerge,
) -> dict[SyncObject, list[Pipeline]]:
    m = mapping.tables
    targets = {
        "salesperson": LeadDatabaseTarget("salesperson", marketo.sales_persons, "externalSalesPersonId"),
        "company": LeadDatabaseTarget("company", marketo.companies, "externalCompanyId"),
        "opportunity": LeadDatabaseTarget("opportunity", marketo.opportunities, "externalOpportunityId"),
    }
    persons = PersonTarget(marketo.persons, mapping.person_fields, merger, mapping.delete_persons)
    roles = OpportunityRoleTarget(marketo.opportunity_roles)
    out: dict[SyncObject, list[Pipeline]] = {obj: [] for obj in SyncObject}

    for obj, table, target, extras, columns in ONE_WAY:
        out[obj].append(
            Pipeline(
                obj, table, tables[table], with_columns(m[table], *columns), targets[target], mapped(m[table], extras)
            )
        )
    if mapping.team_member_object is not None and "teammembership" in tables:
        members = LeadDatabaseTarget(
            "teammember", marketo.custom_object(mapping.team_member_object), "teamMembershipId"
        )
        out[SyncObject.TEAM].append(
            Pipeline(
                SyncObject.TEAM,
                "teammembership",
                tables["teammembership"],
                ("teamid", "systemuserid"),
                members,
                team_member_decide,
            )
        )
    for obj in PERSON_TABLES:
        name = obj.value
        decide = mapped(m[name], person_extras(name, mapping.person_fields))
        contact = obj is SyncObject.CONTACT
        pipeline = Pipeline(
            obj,
            name,
            tables[name],
            with_columns(m[name], "statecode", *(["_originatingleadid_value"] if contact else [])),
            persons,
            taking_over(decide) if contact else decide,
            originating_lead_references if contact else (lambda row: []),
            keeps_synced=True,
            indexed=True,
        )
        persons.bind(pipeline, m[name])
        out[obj].append(pipeline)
    if "connection" in tables:
        out[SyncObject.OPPORTUNITY_ROLE].append(
            Pipeline(
                SyncObject.OPPORTUNITY_ROLE,
                "connection",
                tables["connection"],
                STAKEHOLDER_COLUMNS,
                roles,
                stakeholder_decide,
                stakeholder_references,
                keeps_synced=True,
            )
        )
    out[SyncObject.OPPORTUNITY_ROLE].append(
        Pipeline(
            SyncObject.OPPORTUNITY_ROLE,
            "opportunitycustomer",
            tables["opportunity"],
            ("_customerid_value",),
            roles,
            customer_decide,
            customer_references,
            keeps_synced=True,
        )
    )
    for custom in mapping.custom:
        definition = tables[custom.mapping.table]
        out[SyncObject.CUSTOM].append(
            Pipeline(
                SyncObject.CUSTOM,
                custom.mapping.table,
                definition,
                with_columns(custom.mapping, *([f"_{custom.person_column}_value"] if custom.person_column else [])),
                LeadDatabaseTarget(
                    f"customobject:{custom.object_name}", marketo.custom_object(custom.object_name), custom.key_field
                ),
                custom_decide(
                    custom.mapping, definition.primary_id, custom.key_field, custom.person_column, custom.person_field
                ),
                custom_references(custom.person_column),
            )
        )
    return out
