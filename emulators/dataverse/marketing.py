"""The marketing tables the Sales / Marketing solution adds, as the Web API exposes them
(../shared/reference/dataverse-campaigns.md): `campaign` (its code generated when left empty),
`list` (a static or dynamic marketing list of one member type), `listmember`, `campaignitem`
(a list attached to a campaign), `campaignresponse` (an activity: its customer is an activity
party, written by deep insert through `campaignresponse_activity_parties`) and `activityparty`.

Their actions: `lists(<id>)/Microsoft.Dynamics.CRM.AddMemberList` `{"EntityId": <id>}` answering
`AddMemberListResponse {"Id": <listmemberid>}`, and
`lists(<id>)/Microsoft.Dynamics.CRM.AddItemCampaign` `{"Campaign": {campaign}}` answering the
campaign item. A member is taken out with `DELETE listmembers(<id>)` (the documented fallback;
RemoveMemberList's Web API shape is unconfirmed). What the service refuses is refused here: a
member of another type than the list's, a locked or inactive list, a party of a kind a campaign
response does not take. Adding a member twice answers the member already there (unconfirmed
for the service; the sync never relies on it: it keeps the member ids it made).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Final

from emulators.dataverse.catalogue import YES_NO, Column, TableDef, common_columns, stamp_columns, text_column
from emulators.dataverse.models import DataverseError, Organization, Row, not_found

CAMPAIGN_TYPES: Final = ((1, "Advertisement"), (2, "Direct Marketing"), (3, "Event"), (4, "Co-branding"), (5, "Other"))
CAMPAIGN_STATUSES: Final = (
    (0, "Proposed"),
    (1, "Ready To Launch"),
    (2, "Launched"),
    (3, "Completed"),
    (4, "Canceled"),
    (5, "Suspended"),
    (6, "Inactive"),
)
MEMBER_TYPES: Final = {1: "account", 2: "contact", 4: "lead"}  # list.createdfromcode → the members' table
CUSTOMER_PARTY: Final = 11  # ActivityParty.ParticipationTypeMask: Customer
PARTIES_OF: Final = {"campaignresponse": "campaignresponse_activity_parties"}  # activity → its parties' nav
_PARTY_MASKS: Final = {CUSTOMER_PARTY: ("account", "contact", "lead"), 1: ("account", "contact", "systemuser")}


def _dates(*names: str) -> tuple[Column, ...]:
    return tuple(Column(n, "DateTime", date_only=True) for n in names)


CAMPAIGN = TableDef(
    "campaign",
    "campaigns",
    "campaignid",
    "name",
    display="Campaign",
    columns=(
        Column("campaignid", "Uniqueidentifier"),
        text_column("name", 128),
        text_column("codename", 32),
        Column("typecode", "Picklist", options=CAMPAIGN_TYPES),
        Column("statecode", "State", options=((0, "Active"), (1, "Inactive"))),
        Column("statuscode", "Status", options=CAMPAIGN_STATUSES),
        *_dates("proposedstart", "proposedend", "actualstart", "actualend"),
        Column("description", "Memo", 2000),
        Column("objective", "Memo", 2000),
        text_column("message", 256),
        text_column("promotioncodename", 128),
        Column("istemplate", "Boolean", options=YES_NO),
        Column("budgetedcost", "Money"),
        Column("expectedrevenue", "Money"),
        *common_columns(),
    ),
)
LIST = TableDef(
    "list",
    "lists",
    "listid",
    "listname",
    display="Marketing List",
    columns=(
        Column("listid", "Uniqueidentifier"),
        text_column("listname", 128),
        Column("type", "Boolean", options=((0, "Static"), (1, "Dynamic"))),
        Column("createdfromcode", "Picklist", options=((1, "Account"), (2, "Contact"), (4, "Lead"))),
        Column("membercount", "Integer", read_only=True),
        Column("lockstatus", "Boolean", options=YES_NO),
        Column("statecode", "State", options=((0, "Active"), (1, "Inactive"))),
        Column("statuscode", "Status", options=((0, "Active"), (1, "Inactive"))),
        text_column("purpose", 512),
        text_column("source", 128),
        Column("description", "Memo", 2000),
        *common_columns(),
    ),
)
LISTMEMBER = TableDef(
    "listmember",
    "listmembers",
    "listmemberid",
    "name",
    display="Marketing List Member",
    columns=(
        Column("listmemberid", "Uniqueidentifier"),
        Column("listid", "Lookup", targets=("list",)),
        Column("entityid", "Lookup", targets=("account", "contact", "lead")),
        Column("entitytype", "EntityName"),
        text_column("name", 100),
        *stamp_columns(),
    ),
)
CAMPAIGNITEM = TableDef(
    "campaignitem",
    "campaignitems",
    "campaignitemid",
    "name",
    display="Campaign Item",
    columns=(
        Column("campaignitemid", "Uniqueidentifier"),
        Column("campaignid", "Lookup", targets=("campaign",)),
        Column("entityid", "Uniqueidentifier"),
        Column("entitytype", "EntityName"),
        text_column("name", 100),
        *stamp_columns(),
    ),
)
CAMPAIGNRESPONSE = TableDef(
    "campaignresponse",
    "campaignresponses",
    "activityid",
    "subject",
    display="Campaign Response",
    columns=(
        Column("activityid", "Uniqueidentifier"),
        text_column("subject", 200),
        Column(
            "regardingobjectid",
            "Lookup",
            targets=("campaign", "bulkoperation"),
            navigation_suffix="_campaignresponse",
        ),
        Column(
            "responsecode",
            "Picklist",
            options=((1, "Interested"), (2, "Not Interested"), (3, "Do Not Send Marketing Materials"), (4, "Error")),
        ),
        Column(
            "channeltypecode",
            "Picklist",
            options=((1, "Email"), (2, "Phone"), (3, "Fax"), (4, "Letter"), (5, "Appointment"), (6, "Others")),
        ),
        Column("receivedon", "DateTime", date_only=True),
        Column("description", "Memo", 2000),
        text_column("promotioncodename", 250),
        text_column("category", 250),
        Column("statecode", "State", options=((0, "Open"), (1, "Closed"), (2, "Canceled"))),
        Column("statuscode", "Status", options=((1, "Open"), (2, "Closed"), (3, "Canceled"))),
        *common_columns(),
    ),
)
ACTIVITYPARTY = TableDef(
    "activityparty",
    "activityparties",
    "activitypartyid",
    "partyid",
    display="Activity Party",
    change_tracking=False,
    columns=(
        Column("activitypartyid", "Uniqueidentifier"),
        Column("activityid", "Lookup", targets=("campaignresponse", "task")),
        Column("partyid", "Lookup", targets=("account", "contact", "lead", "systemuser")),
        Column("participationtypemask", "Picklist", options=((1, "Sender"), (11, "Customer"))),
        *stamp_columns(),
    ),
)
MARKETING_TABLES: Final = (CAMPAIGN, LIST, LISTMEMBER, CAMPAIGNITEM, CAMPAIGNRESPONSE, ACTIVITYPARTY)
_DEFAULT_STATUS: Final = {"campaign": 0, "list": 0}  # their first status is 0, not the usual 1


def _error(message: str, code: str = "0x80040203", status: int = 400) -> DataverseError:
    return DataverseError(status, code, message)


def prepare_create(org: Organization, table: str, values: Row, rng: random.Random | None = None) -> None:
    """What the service fills in or refuses on a create of a marketing table."""
    if table in _DEFAULT_STATUS and values.get("statuscode") is None:
        values["statuscode"] = _DEFAULT_STATUS[table]
    if table == "campaign" and not values.get("codename"):
        draw = rng or random.SystemRandom()
        number = len(org.table("campaign").rows) + 1000
        suffix = "".join(draw.choice("BCDFGHJKLMNPQRSTVWXYZ0123456789") for _ in range(6))
        values["codename"] = f"CMP-{number:05d}-{suffix}"
    if table == "list":
        if values.get("createdfromcode") not in MEMBER_TYPES:
            raise _error("A marketing list needs createdfromcode: 1 (account), 2 (contact) or 4 (lead).", "0x80040218")
        values.setdefault("type", False)
        values.setdefault("lockstatus", False)
        values["membercount"] = 0


def parties(org: Organization, activity: str, payload: dict[str, Any]) -> list[tuple[str, str, int]]:
    """The activity parties a deep insert carries, as (table, id, mask); taken out of the payload."""
    nav = PARTIES_OF.get(activity)
    given = payload.pop(nav, None) if nav else None
    if given is None:
        return []
    if not isinstance(given, list):
        raise _error(f"'{nav}' takes an array of activity parties.", "0x80048d19")
    found: list[tuple[str, str, int]] = []
    for party in given:
        mask = party.get("participationtypemask") if isinstance(party, dict) else None
        binds = [(k, v) for k, v in (party or {}).items() if k.startswith("partyid_") and k.endswith("@odata.bind")]
        if mask not in _PARTY_MASKS or len(binds) != 1:
            raise _error(
                "Each activity party needs one partyid_<table>@odata.bind and a participationtypemask a "
                f"{activity} takes (11 Customer, 1 Sender).",
                "0x80048d19",
            )
        target = binds[0][0][len("partyid_") : -len("@odata.bind")]
        record_id = str(binds[0][1]).rsplit("(", 1)[-1].rstrip(")").lower()
        if target not in _PARTY_MASKS[mask]:
            raise _error(f"A party of type {mask} on a {activity} cannot be a {target}.", "0x80048d19")
        if org.get(target, record_id) is None:
            raise not_found(target, record_id)
        found.append((target, record_id, mask))
    return found


def write_parties(org: Organization, activity: str, activity_id: str, found: list[tuple[str, str, int]]) -> None:
    for target, record_id, mask in found:
        org.create(
            "activityparty",
            {"activityid": (activity, activity_id), "partyid": (target, record_id), "participationtypemask": mask},
            None,
        )


def add_member_list(org: Organization, list_id: str, body: Any, caller: str) -> dict[str, Any]:
    """AddMemberList: the member's list member id (the one already there when it is a member)."""
    marketing_list = org.get("list", list_id)
    if marketing_list is None:
        raise not_found("list", list_id)
    entity_id = str((body or {}).get("EntityId") or "").lower() if isinstance(body, dict) else ""
    if not entity_id:
        raise _error("AddMemberList needs EntityId: the id of the account, contact or lead to add.", "0x80048d19")
    if marketing_list.get("statecode") == 1:
        raise _error("The marketing list is inactive: members cannot be added.")
    if marketing_list.get("lockstatus"):
        raise _error("The marketing list is locked: no more members can be added.")
    if marketing_list.get("type"):
        raise _error("Members cannot be added to a dynamic marketing list; its query picks them.")
    table = MEMBER_TYPES[int(marketing_list["createdfromcode"])]
    member = org.get(table, entity_id)
    if member is None:
        raise _error(
            f"The {table} with id {entity_id} does not exist; this list takes {table}s only.", "0x80040217", 404
        )
    for row in org.table("listmember").rows.values():
        if row["listid"] == ("list", marketing_list["listid"]) and row["entityid"] == (table, entity_id):
            return {"Id": row["listmemberid"]}
    name = str(member.get(org.table(table).definition.primary_name) or "")[:100]
    made = org.create(
        "listmember",
        {
            "listid": ("list", marketing_list["listid"]),
            "entityid": (table, entity_id),
            "entitytype": table,
            "name": name,
        },
        caller,
    )
    org.update("list", marketing_list["listid"], {"membercount": int(marketing_list.get("membercount") or 0) + 1}, None)
    return {"Id": made["listmemberid"]}


def add_item_campaign(org: Organization, list_id: str, body: Any, caller: str) -> Row:
    """AddItemCampaign bound to a list: the campaign item attaching it (the one already there)."""
    marketing_list = org.get("list", list_id)
    if marketing_list is None:
        raise not_found("list", list_id)
    campaign = (body or {}).get("Campaign") if isinstance(body, dict) else None
    campaign_id = str((campaign or {}).get("campaignid") or "").lower() if isinstance(campaign, dict) else ""
    if not campaign_id:
        raise _error(
            'AddItemCampaign needs Campaign: {"@odata.type": "Microsoft.Dynamics.CRM.campaign", "campaignid": ...}.',
            "0x80048d19",
        )
    if org.get("campaign", campaign_id) is None:
        raise not_found("campaign", campaign_id)
    for row in org.table("campaignitem").rows.values():
        if row["campaignid"] == ("campaign", campaign_id) and row["entityid"] == marketing_list["listid"]:
            return row
    return org.create(
        "campaignitem",
        {
            "campaignid": ("campaign", campaign_id),
            "entityid": marketing_list["listid"],
            "entitytype": "list",
            "name": str(marketing_list.get("listname") or "")[:100],
        },
        caller,
    )


def member_removed(org: Organization, table: str, row: Row | None) -> None:
    """A list member deleted: its list counts one fewer."""
    if table == "listmember" and row is not None:
        marketing_list = org.get("list", row["listid"][1])
        if marketing_list is not None:
            count = max(0, int(marketing_list.get("membercount") or 0) - 1)
            org.update("list", marketing_list["listid"], {"membercount": count}, None)


ACTIONS: Final[dict[tuple[str, str], Callable[[Organization, str, Any, str], Any]]] = {
    ("list", "AddMemberList"): add_member_list,
    ("list", "AddItemCampaign"): add_item_campaign,
}
