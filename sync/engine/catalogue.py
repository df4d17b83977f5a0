"""Which pipelines each object runs, assembled from the resolved mapping, the table definitions
and the Marketo connection (see the table in `pipelines.py`)."""

from __future__ import annotations

from collections.abc import Mapping

from sync.connectors.dataverse.metadata import TableDefinition
from sync.connectors.marketo.connection import MarketoConnection
from sync.engine.person_target import PersonTarget
from sync.engine.pipelines import (
    OPPORTUNITY_COLUMNS,
    Pipeline,
    company_extras,
    custom_decide,
    custom_references,
    customer_decide,
    customer_references,
    mapped,
    opportunity_extras,
    person_extras,
    sales_person_extras,
    stakeholder_decide,
    stakeholder_references,
    team_member_decide,
    with_columns,
)
from sync.engine.targets import LeadDatabaseTarget, OpportunityRoleTarget
from sync.mapping.resolve import ResolvedMapping
from sync.objects import SyncObject

STAKEHOLDER_COLUMNS = ("_record1id_value", "_record2id_value", "_record2roleid_value", "statecode")


def build_pipelines(
    mapping: ResolvedMapping, tables: Mapping[str, TableDefinition], marketo: MarketoConnection
) -> dict[SyncObject, list[Pipeline]]:
    m = mapping.tables
    sales_persons = LeadDatabaseTarget("salesperson", marketo.sales_persons, "externalSalesPersonId")
    persons = PersonTarget(marketo.persons, mapping.person_fields, mapping.delete_persons)
    roles = OpportunityRoleTarget(marketo.opportunity_roles)
    out: dict[SyncObject, list[Pipeline]] = {obj: [] for obj in SyncObject}

    out[SyncObject.SYSTEMUSER].append(
        Pipeline(
            SyncObject.SYSTEMUSER,
            "systemuser",
            tables["systemuser"],
            with_columns(m["systemuser"]),
            sales_persons,
            mapped(m["systemuser"], sales_person_extras("systemuserid")),
        )
    )
    out[SyncObject.TEAM].append(
        Pipeline(
            SyncObject.TEAM,
            "team",
            tables["team"],
            with_columns(m["team"]),
            sales_persons,
            mapped(m["team"], sales_person_extras("teamid")),
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
    out[SyncObject.ACCOUNT].append(
        Pipeline(
            SyncObject.ACCOUNT,
            "account",
            tables["account"],
            with_columns(m["account"]),
            LeadDatabaseTarget("company", marketo.companies, "externalCompanyId"),
            mapped(m["account"], company_extras),
        )
    )
    for obj in (SyncObject.CONTACT, SyncObject.LEAD):
        name = obj.value
        out[obj].append(
            Pipeline(
                obj,
                name,
                tables[name],
                with_columns(m[name]),
                persons,
                mapped(m[name], person_extras(name, mapping.person_fields)),
                keeps_synced=True,
                indexed=True,
            )
        )
    out[SyncObject.OPPORTUNITY].append(
        Pipeline(
            SyncObject.OPPORTUNITY,
            "opportunity",
            tables["opportunity"],
            with_columns(m["opportunity"], *OPPORTUNITY_COLUMNS),
            LeadDatabaseTarget("opportunity", marketo.opportunities, "externalOpportunityId"),
            mapped(m["opportunity"], opportunity_extras),
        )
    )
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
        table = tables[custom.mapping.table]
        out[SyncObject.CUSTOM].append(
            Pipeline(
                SyncObject.CUSTOM,
                custom.mapping.table,
                table,
                with_columns(custom.mapping, *([f"_{custom.person_column}_value"] if custom.person_column else [])),
                LeadDatabaseTarget(
                    f"customobject:{custom.object_name}", marketo.custom_object(custom.object_name), custom.key_field
                ),
                custom_decide(
                    custom.mapping, table.primary_id, custom.key_field, custom.person_column, custom.person_field
                ),
                custom_references(custom.person_column),
            )
        )
    return out
