"""Pipelines: one Dynamics table read for one object, turned into one kind of Marketo record. Which
pipelines there are is the registry's (`sync/objects.py`, one `Stream` each) plus the mapping
file's custom tables; `catalogue.py` builds them.

A pipeline decides, per row and without I/O, what the Marketo record is (`decide`), given the
Marketo ids of the persons the row refers to (`references`, looked up in the links first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sync.connectors.dataverse.metadata import TableDefinition
from sync.engine.plan import Decision, Pending, Skip, TakeOver
from sync.engine.targets import MarketoTarget
from sync.mapping.file import PersonFields
from sync.mapping.records import FORMATTED, LOOKUP_TABLE, Mapped, marketo_values, passes_filter
from sync.mapping.resolve import TableMapping
from sync.objects import CAMPAIGN_FIELDS, TEAM_MEMBER_FIELDS, Computed, SyncObject
from sync.store.links import DynamicsRef, Link

References = Mapping[DynamicsRef, Link]
Extras = Callable[[Mapping[str, Any]], dict[str, Any]]
CUSTOMER_ROLE: Final = "Customer"
STAKEHOLDER_ROLE: Final = "Stakeholder"
ACTIVE: Final = 0
ORIGINATING_LEAD: Final = "originatingleadid"  # the lookup QualifyLead sets on the records it makes


@dataclass(frozen=True)
class Pipeline:
    object: SyncObject
    stream: str  # the cursor's key, the links' table, the errors' table
    table: TableDefinition
    select: tuple[str, ...]
    target: MarketoTarget
    decide: Callable[[Mapping[str, Any], References], Decision]
    references: Callable[[Mapping[str, Any]], list[DynamicsRef]] = field(default=lambda row: [])
    keeps_synced: bool = False  # links keep the values written (persons: base of the merge; roles: old key)
    indexed: bool = False  # links are also found by Marketo id (two-way objects)

    def ref(self, record_id: str) -> DynamicsRef:
        return DynamicsRef(table=self.stream, id=record_id)

    def row_id(self, row: Mapping[str, Any]) -> str:
        return str(row[self.table.primary_id])


def _lookup(row: Mapping[str, Any], column: str) -> tuple[str | None, str | None]:
    """(id, table) of a lookup column in a Web API row."""
    value = row.get(f"_{column}_value")
    return (str(value).lower() if value else None), row.get(f"_{column}_value{LOOKUP_TABLE}")


def _person_id(refs: References, ref: DynamicsRef | None) -> int | None:
    link = refs.get(ref) if ref is not None else None
    return int(link.marketo.id) if link is not None and not (link.deleted or link.pending) else None


def mapped(table: TableMapping, extras: Extras) -> Callable[..., Decision]:
    """The mapped fields plus the pipeline's own (keys, computed fields); the sync filter first."""

    def decide(row: Mapping[str, Any], refs: References) -> Decision:
        if not passes_filter(row, table):
            return Skip.FILTERED
        values = marketo_values(row, table)
        return Mapped({**values.values, **extras(row)}, values.problems)

    return decide


def with_columns(table: TableMapping, *extra: str) -> tuple[str, ...]:
    """The mapped columns, the pipeline's own, and modifiedon (how old a change is: the lag)."""
    return tuple(dict.fromkeys([*table.columns(), *extra, "modifiedon"]))


# standard objects


def keyed(key: str, primary_id: str, computed: Computed | None) -> Extras:
    """The key field holding the row's id, and the fields computed from several columns."""
    return lambda row: {key: str(row[primary_id]), **(computed(row) if computed else {})}


def person_extras(table: str, primary_id: str, fields: PersonFields) -> Extras:
    """The person fields the sync owns: the record's id and table, and not deleted."""
    return lambda row: {fields.id: str(row[primary_id]).lower(), fields.type: table, fields.deleted: False}


def originating_lead_references(table: str) -> Callable[[Mapping[str, Any]], list[DynamicsRef]]:
    """The lead a row was qualified from (QualifyLead sets `originatingleadid`), as a reference."""

    def references(row: Mapping[str, Any]) -> list[DynamicsRef]:
        lead, _ = _lookup(row, ORIGINATING_LEAD)
        return [DynamicsRef(table=table, id=lead)] if lead else []

    return references


def taking_over(decide: Callable[[Mapping[str, Any], References], Decision], table: str) -> Callable[..., Decision]:
    """A contact qualified from a linked lead takes over the lead's person instead of making one."""

    def decide_contact(row: Mapping[str, Any], refs: References) -> Decision:
        decision = decide(row, refs)
        lead, _ = _lookup(row, ORIGINATING_LEAD)
        predecessor = refs.get(DynamicsRef(table=table, id=lead)) if lead else None
        if (
            isinstance(decision, Mapped)
            and predecessor is not None
            and not predecessor.deleted
            and not predecessor.qualified_into
        ):
            return TakeOver(decision, predecessor)
        return decision

    return decide_contact


def team_member_decide(row: Mapping[str, Any], refs: References) -> Decision:
    membership, team, user = TEAM_MEMBER_FIELDS
    return Mapped(
        {
            membership: str(row["teammembershipid"]),
            team: str(row["teamid"]).lower(),
            user: str(row["systemuserid"]).lower(),
        }
    )


def campaign_decide(row: Mapping[str, Any], refs: References) -> Decision:
    """A campaign's fixed fields: status and type by their labels (what a marketer reads), dates
    as dates, the owner by id; a template is not a campaign anyone runs."""
    if row.get("istemplate"):
        return Skip.FILTERED
    labelled = {"statuscode", "typecode"}
    values: dict[str, Any] = {}
    for name, column in CAMPAIGN_FIELDS.items():
        value = row.get(f"{column}{FORMATTED}") if column in labelled else row.get(column)
        if isinstance(value, str) and column in ("proposedstart", "proposedend", "actualstart", "actualend"):
            value = value[:10]
        values[name] = str(value).lower() if column in ("campaignid", "_ownerid_value") and value else value
    return Mapped(values)


CAMPAIGN_LISTS: Final = ("Mkto-leads-", "Mkto-contacts-")  # the native sync's names for a campaign's lists


def campaign_member_references(row: Mapping[str, Any]) -> list[DynamicsRef]:
    member, table = _lookup(row, "entityid")
    return [DynamicsRef(table=table, id=member)] if member and table in ("lead", "contact") else []


def campaign_member_decide(row: Mapping[str, Any], refs: References) -> Decision:
    """A member of one of the campaigns' lists, as the person's campaign membership in Marketo:
    added in Dynamics (a member the sync added was shown by its flow step already; the target
    creates only, so that stays). Members of other lists are not campaign memberships."""
    list_name = str(row.get(f"_listid_value{FORMATTED}") or "")
    prefix = next((p for p in CAMPAIGN_LISTS if list_name.startswith(p)), None)
    refs_of = campaign_member_references(row)
    if prefix is None or not refs_of:
        return Skip.FILTERED
    person = _person_id(refs, refs_of[0])
    if person is None:
        return Pending(f"{refs_of[0].table} {refs_of[0].id} is not in Marketo yet; its membership follows once it is")
    return Mapped(
        {
            "listMemberId": str(row["listmemberid"]).lower(),
            "leadId": person,
            "campaignName": list_name[len(prefix) :],
            "listName": list_name,
            "memberStatus": "added",
            "changedBy": "dynamics",
            "changedAt": row.get("createdon"),
        }
    )


# opportunity roles


def _contact_ref(contact_id: str | None) -> DynamicsRef | None:
    return DynamicsRef(table="contact", id=contact_id) if contact_id else None


def stakeholder_references(row: Mapping[str, Any]) -> list[DynamicsRef]:
    contact, table = _lookup(row, "record2id")
    return [DynamicsRef(table="contact", id=contact)] if contact and table == "contact" else []


def stakeholder_decide(row: Mapping[str, Any], refs: References) -> Decision:
    """A connection from an opportunity to a contact, with the contact's role on it."""
    opportunity, first = _lookup(row, "record1id")
    contact, second = _lookup(row, "record2id")
    if first != "opportunity" or second != "contact" or row.get("statecode", ACTIVE) != ACTIVE:
        return Skip.NOT_MINE
    person = _person_id(refs, _contact_ref(contact))
    if person is None:
        return Pending(f"contact {contact} is not in Marketo yet; the role follows once it is")
    role = row.get(f"_record2roleid_value{FORMATTED}") or STAKEHOLDER_ROLE
    return Mapped({"externalOpportunityId": opportunity, "leadId": person, "role": str(role), "isPrimary": False})


def customer_references(row: Mapping[str, Any]) -> list[DynamicsRef]:
    contact, table = _lookup(row, "customerid")
    return [DynamicsRef(table="contact", id=contact)] if contact and table == "contact" else []


def customer_decide(row: Mapping[str, Any], refs: References) -> Decision:
    """An opportunity whose customer is a contact: that contact is its primary role."""
    contact, table = _lookup(row, "customerid")
    if table != "contact" or not contact:
        return Skip.NOT_MINE
    person = _person_id(refs, _contact_ref(contact))
    if person is None:
        return Pending(f"customer contact {contact} is not in Marketo yet; the role follows once it is")
    opportunity = str(row["opportunityid"]).lower()
    return Mapped({"externalOpportunityId": opportunity, "leadId": person, "role": CUSTOMER_ROLE, "isPrimary": True})


# custom tables


def custom_references(person_column: str | None) -> Callable[[Mapping[str, Any]], list[DynamicsRef]]:
    def references(row: Mapping[str, Any]) -> list[DynamicsRef]:
        if person_column is None:
            return []
        person, table = _lookup(row, person_column)
        return [DynamicsRef(table=table, id=person)] if person and table in ("contact", "lead") else []

    return references


def custom_decide(
    table: TableMapping, primary: str, key_field: str, person_column: str | None, person_field: str
) -> Callable[[Mapping[str, Any], References], Decision]:
    def decide(row: Mapping[str, Any], refs: References) -> Decision:
        if not passes_filter(row, table):
            return Skip.FILTERED
        values = marketo_values(row, table)
        extras: dict[str, Any] = {key_field: str(row[primary]).lower()}
        if person_column is not None:
            person, kind = _lookup(row, person_column)
            if person:
                marketo = _person_id(refs, DynamicsRef(table=kind or "contact", id=person))
                if marketo is None:
                    return Pending(f"{kind} {person} is not in Marketo yet; the record follows once it is")
                extras[person_field] = marketo
        return Mapped({**values.values, **extras}, values.problems)

    return decide
