"""The registry of synced objects: one row each, in full-copy order. Data, read everywhere an
object's facts are needed instead of each module keeping its own list: the mapping (which tables
take field rows, their Marketo targets, directions and winners), the schema reading at start
(which tables and Marketo objects to describe), the engine's catalogue (one pipeline per stream),
the check, settings (one schedule per object) and the Functions layer (one timer per object).

Adding a standard object is one row here plus its default field rows in `mapping/defaults.py`.

Leads and contacts flow both ways. Dynamics → Marketo is read per table (`lead`, `contact`);
Marketo → Dynamics is one stream, Marketo's person activity log, read by `person` for both:
one call a minute carries every change of every person, where a reader per table would pay twice.
Its full copy is only the position it starts from, taken before leads and contacts are copied so
that Marketo edits made during their copy are merged afterwards.

Order: owners and companies before the persons and opportunities that point at them; leads
before contacts, because a contact made by qualifying a lead takes over the lead's Marketo
person, which must exist by then (behaviour §4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sync.mapping.types import Winner


class SyncObject(StrEnum):
    """One incremental timer and one checkpoint per member; the value names them everywhere."""

    SYSTEMUSER = "systemuser"
    TEAM = "team"
    ACCOUNT = "account"
    PERSON = "person"
    LEAD = "lead"
    CONTACT = "contact"
    OPPORTUNITY = "opportunity"
    OPPORTUNITY_ROLE = "opportunityrole"
    CAMPAIGN = "campaign"
    CUSTOM = "custom"
    ENGAGEMENT = "engagement"


class Direction(StrEnum):
    DYNAMICS_TO_MARKETO = "dynamics_to_marketo"
    MARKETO_TO_DYNAMICS = "marketo_to_dynamics"


D2M: Final = Direction.DYNAMICS_TO_MARKETO
M2D: Final = Direction.MARKETO_TO_DYNAMICS


class Shape(StrEnum):
    """How a stream's rows become Marketo records; the engine's catalogue has one builder each."""

    RECORD = "record"  # mapped fields, the key field holding the row's id, computed fields
    PERSON = "person"  # a lead or contact ↔ a Marketo person, both ways (three-way merge)
    TEAM_MEMBER = "team_member"  # a team membership → the team-member custom object
    STAKEHOLDER = "stakeholder"  # an opportunity's connection to a contact → an opportunity role
    CUSTOMER = "customer"  # an opportunity's customer contact → its primary opportunity role
    CAMPAIGN = "campaign"  # a Dynamics campaign → the campaign custom object (its fixed fields)
    CAMPAIGN_MEMBER = "campaign_member"  # a member of a campaign's list → the campaign member object, on the person


MAPPED_SHAPES: Final = frozenset({Shape.RECORD, Shape.PERSON})
Computed = Callable[[Mapping[str, Any]], dict[str, Any]]

# Marketo's side of links (MarketoRef.object): the targets the rows below write.
PERSON_TARGET: Final = "person"
TEAM_MEMBER_TARGET: Final = "teammember"  # the custom object the mapping names (team_member_object)
TEAM_MEMBER_FIELDS: Final = ("teamMembershipId", "teamId", "systemUserId")
# a person's campaign memberships, on the person in Marketo (dedupe: listMemberId; leadId links it)
CAMPAIGN_MEMBER_FIELDS: Final = (
    "listMemberId",
    "leadId",
    "campaignId",
    "campaignName",
    "listName",
    "memberStatus",
    "changedBy",
    "changedAt",
)
CAMPAIGN_MEMBER_TARGET: Final = "campaignmember"  # the custom object campaign_member_object names
CAMPAIGN_TARGET: Final = "campaign"  # the custom object the mapping names (campaign_object)
# the campaign custom object's fields (dedupe: campaignId), each with the campaign column it holds
CAMPAIGN_FIELDS: Final = {
    "campaignId": "campaignid",
    "campaignName": "name",
    "campaignCode": "codename",
    "campaignStatus": "statuscode",
    "campaignType": "typecode",
    "proposedStart": "proposedstart",
    "proposedEnd": "proposedend",
    "actualStart": "actualstart",
    "actualEnd": "actualend",
    "ownerId": "_ownerid_value",
}


CUSTOM_OBJECT: Final = "customobject:"


def custom_target(object_name: str) -> str:
    """The target (and link object) of a Marketo custom object."""
    return f"{CUSTOM_OBJECT}{object_name}"


def target_label(target: str) -> str:
    """A target as people name it: 'person', 'custom object dynamicsProject_c'."""
    return target.replace(CUSTOM_OBJECT, "custom object ")


def opportunity_state(row: Mapping[str, Any]) -> dict[str, Any]:
    """Won / closed from the opportunity's state, and the close date that applies."""
    state = row.get("statecode")
    closed = state in (1, 2)
    close = row.get("actualclosedate") if closed and row.get("actualclosedate") else row.get("estimatedclosedate")
    return {"isWon": state == 1, "isClosed": closed, "closeDate": str(close)[:10] if close else None}


@dataclass(frozen=True)
class Stream:
    """One Dynamics table read for an object, written to one kind of Marketo record."""

    table: str  # the Dynamics table (logical name)
    target: str  # the Marketo object written
    shape: Shape = Shape.RECORD
    key: str | None = None  # the Marketo field that receives the row's id (its dedupe field)
    columns: tuple[str, ...] = ()  # read besides the mapped columns: for computed fields and decisions
    computed: Computed | None = None  # Marketo fields computed from several columns (pure)
    takes_over: str | None = None  # a record qualified from a linked row of this table takes its person
    name: str = ""  # the stream's name in cursors, links and errors, when not the table's

    @property
    def stream(self) -> str:
        return self.name or self.table

    @property
    def mapped(self) -> bool:
        """Mapped field by field (defaults and the mapping file's `objects`)."""
        return self.shape in MAPPED_SHAPES


@dataclass(frozen=True)
class ObjectSpec:
    object: SyncObject
    streams: tuple[Stream, ...]
    direction: Direction = D2M
    two_way: bool = False  # mapped fields flow both ways (else Dynamics → Marketo only)
    winner: Winner = Winner.DYNAMICS  # who wins a field both sides changed (two-way objects)


_SALES_PERSON: Final = "salesperson"
_ROLE: Final = "opportunityrole"

REGISTRY: Final[tuple[ObjectSpec, ...]] = (
    ObjectSpec(SyncObject.SYSTEMUSER, (Stream("systemuser", _SALES_PERSON, key="externalSalesPersonId"),)),
    ObjectSpec(
        SyncObject.TEAM,
        (
            Stream("team", _SALES_PERSON, key="externalSalesPersonId"),  # so team-owned records have an owner
            Stream(
                "teammembership",
                TEAM_MEMBER_TARGET,
                Shape.TEAM_MEMBER,
                key="teamMembershipId",
                columns=("teamid", "systemuserid"),
            ),
        ),
    ),
    ObjectSpec(SyncObject.ACCOUNT, (Stream("account", "company", key="externalCompanyId"),)),
    ObjectSpec(SyncObject.PERSON, (), direction=M2D),  # Marketo's activity log, for leads and contacts
    ObjectSpec(
        SyncObject.LEAD,
        (Stream("lead", PERSON_TARGET, Shape.PERSON, columns=("statecode",)),),
        two_way=True,
        winner=Winner.MARKETO,
    ),
    ObjectSpec(
        SyncObject.CONTACT,
        (
            Stream(
                "contact",
                PERSON_TARGET,
                Shape.PERSON,
                columns=("statecode", "_originatingleadid_value"),
                takes_over="lead",
            ),
        ),
        two_way=True,
        winner=Winner.DYNAMICS,
    ),
    ObjectSpec(
        SyncObject.OPPORTUNITY,
        (
            Stream(
                "opportunity",
                "opportunity",
                key="externalOpportunityId",
                columns=("statecode", "actualclosedate", "estimatedclosedate"),
                computed=opportunity_state,
            ),
        ),
    ),
    ObjectSpec(
        SyncObject.OPPORTUNITY_ROLE,
        (
            Stream(
                "connection",
                _ROLE,
                Shape.STAKEHOLDER,
                columns=("_record1id_value", "_record2id_value", "_record2roleid_value", "statecode"),
            ),
            Stream("opportunity", _ROLE, Shape.CUSTOMER, columns=("_customerid_value",), name="opportunitycustomer"),
        ),
    ),
    ObjectSpec(  # from the Sales / Marketing solution: an org without it has no campaign table
        SyncObject.CAMPAIGN,
        (
            Stream(
                "campaign",
                CAMPAIGN_TARGET,
                Shape.CAMPAIGN,
                key="campaignId",
                columns=(*CAMPAIGN_FIELDS.values(), "istemplate"),
            ),
            Stream(  # members added or removed in Dynamics through the campaigns' Mkto- lists
                "listmember",
                CAMPAIGN_MEMBER_TARGET,
                Shape.CAMPAIGN_MEMBER,
                key="listMemberId",
                columns=("_listid_value", "_entityid_value", "createdon"),
            ),
        ),
    ),
    ObjectSpec(SyncObject.CUSTOM, ()),  # one stream per custom table of the mapping file
    # Marketo's engagement activities → the Marketo activity table on the timeline (engagement_stream.py)
    ObjectSpec(SyncObject.ENGAGEMENT, (), direction=M2D),
)

# Dynamics tables the sync writes without reading them as a stream: the flow actions' tasks.
WRITTEN_TABLES: Final = ("task",)

FULL_COPY_ORDER: Final[tuple[SyncObject, ...]] = tuple(spec.object for spec in REGISTRY)
DIRECTIONS: Final[dict[SyncObject, tuple[Direction, ...]]] = {spec.object: (spec.direction,) for spec in REGISTRY}
# The Dynamics tables whose records are Marketo persons, both ways.
PERSON_TABLES: Final[tuple[SyncObject, ...]] = tuple(
    spec.object for spec in REGISTRY if any(s.shape is Shape.PERSON for s in spec.streams)
)
# Tables mapped field by field, by name (the mapping file's `objects` keys): their object and stream.
MAPPED_TABLES: Final[dict[str, tuple[ObjectSpec, Stream]]] = {
    stream.table: (spec, stream) for spec in REGISTRY for stream in spec.streams if stream.mapped
}
# The Dynamics tables the standard objects read: their changes are what the sync follows.
READ_TABLES: Final[tuple[str, ...]] = tuple(dict.fromkeys(s.table for spec in REGISTRY for s in spec.streams))
# Every Dynamics table the standard objects read or write (described at start, checked by `check`).
STANDARD_TABLES: Final[tuple[str, ...]] = tuple(
    dict.fromkeys([*(s.table for spec in REGISTRY for s in spec.streams), *WRITTEN_TABLES])
)
# Tables an org has only with a solution installed: their absence switches their object off.
OPTIONAL_TABLES: Final[tuple[str, ...]] = ("campaign", "listmember")
# The Marketo objects the standard objects write (besides persons and custom objects).
STANDARD_TARGETS: Final[tuple[str, ...]] = tuple(
    dict.fromkeys(
        s.target
        for spec in REGISTRY
        for s in spec.streams
        if s.target not in (PERSON_TARGET, TEAM_MEMBER_TARGET, CAMPAIGN_TARGET, CAMPAIGN_MEMBER_TARGET)
    )
)
