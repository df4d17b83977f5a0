"""The plug-in registration tables a webhook is registered in, as the Web API exposes them
(../shared/reference/dataverse-webhooks.md §1-3): `serviceendpoint` (contract 8 is a webhook;
`authvalue` can be written, never read), `sdkmessage` and `sdkmessagefilter` (seeded: Create,
Update and Delete on every table that takes custom steps), `sdkmessageprocessingstep` (its
`eventhandler` a plug-in type or a service endpoint), `asyncoperation` (the system jobs that
record each delivery).

What a write must satisfy is checked here, as Dataverse refuses it: a webhook's URL on the
default port of its scheme (80 / 443; loopback hosts excepted, so tests and the demo can listen on
any port, the one deviation); an asynchronous step only at the post-operation stage. The emulator
runs asynchronous webhook steps only: a synchronous one is refused with a message that says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

from emulators.dataverse.catalogue import Column, TableDef, stamp_columns, text_column
from emulators.dataverse.models import DataverseError, Organization, Row

WEBHOOK_CONTRACT: Final = 8
POST_OPERATION: Final = 40
ASYNCHRONOUS: Final = 1
MESSAGES: Final = ("Create", "Update", "Delete", "Retrieve", "RetrieveMultiple", "Associate", "Disassociate")
STEP_MESSAGES: Final = ("Create", "Update", "Delete")  # the ones seeded with a filter per table
NOT_STEPPABLE: Final = frozenset({"teammembership"})  # intersect tables: Associate / Disassociate
NOT_UPDATED: Final = frozenset({"listmember"})  # Create, Delete, RetrieveMultiple only: no Update message
_NAMESPACE: Final = uuid.UUID("9b4f1e0c-3a2d-4c5b-8e6f-7a8b9c0d1e2f")


SERVICEENDPOINT = TableDef(
    "serviceendpoint",
    "serviceendpoints",
    "serviceendpointid",
    "name",
    display="Service Endpoint",
    change_tracking=False,
    columns=(
        Column("serviceendpointid", "Uniqueidentifier"),
        text_column("name", 256),
        Column("description", "Memo", 2000),
        Column(
            "contract",
            "Picklist",
            options=(
                (1, "OneWay"),
                (2, "Queue"),
                (3, "Rest"),
                (4, "TwoWay"),
                (5, "Topic"),
                (6, "Queue (Persistent)"),
                (7, "Event Hub"),
                (8, "Webhook"),
                (9, "Event Grid"),
                (10, "Managed Data Lake"),
            ),
        ),
        text_column("url", 2000),
        Column(
            "authtype",
            "Picklist",
            options=(
                (1, "ACS"),
                (2, "SAS Key"),
                (3, "SAS Token"),
                (4, "Webhook Key"),
                (5, "Http Header"),
                (6, "Http Query String"),
                (7, "Connection String"),
                (8, "Access Key"),
            ),
        ),
        Column("authvalue", "String", max_length=2048, write_only=True),
        Column("isauthvalueset", "Boolean", read_only=True),
        Column("messageformat", "Picklist", options=((1, "Binary XML"), (2, "Json"), (3, "Text XML"))),
        Column("connectionmode", "Picklist", options=((1, "Normal"), (2, "Federated"))),
        Column("userclaim", "Picklist", options=((1, "None"), (2, "UserId"), (3, "UserInfo"))),
        *stamp_columns(),
    ),
)
PLUGINTYPE = TableDef(
    "plugintype",
    "plugintypes",
    "plugintypeid",
    "name",
    display="Plug-in Type",
    change_tracking=False,
    columns=(
        Column("plugintypeid", "Uniqueidentifier"),
        text_column("name", 256),
        text_column("typename", 256),
        Column("versionnumber", "BigInt", read_only=True),
    ),
)
SDKMESSAGE = TableDef(
    "sdkmessage",
    "sdkmessages",
    "sdkmessageid",
    "name",
    display="Sdk Message",
    change_tracking=False,
    columns=(
        Column("sdkmessageid", "Uniqueidentifier"),
        text_column("name", 256),
        Column("isprivate", "Boolean", read_only=True),
        Column("versionnumber", "BigInt", read_only=True),
    ),
)
SDKMESSAGEFILTER = TableDef(
    "sdkmessagefilter",
    "sdkmessagefilters",
    "sdkmessagefilterid",
    "sdkmessagefilterid",
    display="Sdk Message Filter",
    change_tracking=False,
    columns=(
        Column("sdkmessagefilterid", "Uniqueidentifier"),
        Column("sdkmessageid", "Lookup", targets=("sdkmessage",), read_only=True),
        text_column("primaryobjecttypecode", 128),  # EntityName in the metadata: a logical name
        text_column("secondaryobjecttypecode", 128),
        Column("iscustomprocessingstepallowed", "Boolean", read_only=True),
        Column("isvisible", "Boolean", read_only=True),
        Column("versionnumber", "BigInt", read_only=True),
    ),
)
SDKMESSAGEPROCESSINGSTEP = TableDef(
    "sdkmessageprocessingstep",
    "sdkmessageprocessingsteps",
    "sdkmessageprocessingstepid",
    "name",
    display="Sdk Message Processing Step",
    change_tracking=False,
    columns=(
        Column("sdkmessageprocessingstepid", "Uniqueidentifier"),
        text_column("name", 256),
        Column("description", "Memo", 2000),
        Column("sdkmessageid", "Lookup", targets=("sdkmessage",)),
        Column("sdkmessagefilterid", "Lookup", targets=("sdkmessagefilter",)),
        Column("eventhandler", "Lookup", targets=("plugintype", "serviceendpoint")),
        Column("stage", "Picklist", options=((10, "Pre-validation"), (20, "Pre-operation"), (40, "Post-operation"))),
        Column("mode", "Picklist", options=((0, "Synchronous"), (1, "Asynchronous"))),
        Column("rank", "Integer"),
        Column("filteringattributes", "Memo", 100_000),
        Column("asyncautodelete", "Boolean"),
        Column("supporteddeployment", "Picklist", options=((0, "Server Only"), (1, "Outlook Client"), (2, "Both"))),
        Column("invocationsource", "Picklist", options=((-1, "Internal"), (0, "Parent"), (1, "Child"))),
        Column("statecode", "State", options=((0, "Enabled"), (1, "Disabled"))),
        Column("statuscode", "Status", options=((1, "Enabled"), (2, "Disabled"))),
        *stamp_columns(),
    ),
)
ASYNCOPERATION = TableDef(
    "asyncoperation",
    "asyncoperations",
    "asyncoperationid",
    "name",
    display="System Job",
    change_tracking=False,
    columns=(
        Column("asyncoperationid", "Uniqueidentifier"),
        text_column("name", 256),
        Column("operationtype", "Picklist", options=((1, "System Event"),)),
        text_column("messagename", 160),
        text_column("primaryentitytype", 128),
        Column("owningextensionid", "Lookup", targets=("sdkmessageprocessingstep",), read_only=True),
        Column("correlationid", "Uniqueidentifier", read_only=True),
        Column("statecode", "State", options=((0, "Ready"), (1, "Suspended"), (2, "Locked"), (3, "Completed"))),
        Column(
            "statuscode",
            "Status",
            options=((0, "Waiting For Resources"), (20, "In Progress"), (30, "Succeeded"), (31, "Failed")),
        ),
        Column("message", "Memo", 10_000),
        Column("friendlymessage", "Memo", 10_000),
        Column("errorcode", "Integer"),
        Column("completedon", "DateTime", read_only=True),
        *stamp_columns(),
    ),
)
REGISTRATION_TABLES: Final = (SERVICEENDPOINT, PLUGINTYPE, SDKMESSAGE, SDKMESSAGEFILTER, SDKMESSAGEPROCESSINGSTEP)
TABLES: Final = (*REGISTRATION_TABLES, ASYNCOPERATION)
OWN: Final = frozenset(t.logical_name for t in TABLES)


def _id(*parts: str) -> str:
    """Stable ids, so a message's id is the same in every run of the emulator (as in one org)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def seed_messages(org: Organization, tables: Iterable[str]) -> None:
    """The messages, and a filter for Create, Update and Delete on every table that takes steps."""
    for name in MESSAGES:
        org.create("sdkmessage", {"name": name, "isprivate": False}, None, _id("message", name))
    seed_filters(org, tables)


def seed_filters(org: Organization, tables: Iterable[str]) -> None:
    """Create, Update and Delete filters of tables (a table made later gets its own)."""
    for table in tables:
        if table in OWN or table in NOT_STEPPABLE:
            continue
        for name in STEP_MESSAGES:
            if name == "Update" and table in NOT_UPDATED:
                continue
            values = {
                "sdkmessageid": ("sdkmessage", _id("message", name)),
                "primaryobjecttypecode": table,
                "secondaryobjecttypecode": "none",
                "iscustomprocessingstepallowed": True,
                "isvisible": True,
            }
            org.create("sdkmessagefilter", values, None, _id("filter", name, table))


def _refuse(message: str) -> DataverseError:
    return DataverseError(400, "0x80040203", message)


def check_write(org: Organization, table: str, values: Row, before: Row | None) -> None:
    """What Dataverse refuses on these tables, with its kind of message."""
    after = {**(before or {}), **values}
    if table == "serviceendpoint" and after.get("contract") == WEBHOOK_CONTRACT:
        url = str(after.get("url") or "")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _refuse(f"The webhook URL '{url}' is not an absolute http or https URL.")
        default = {"http": 80, "https": 443}[parts.scheme]
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.port not in (None, default) and not loopback:
            raise _refuse("Registered WebHooks support only port 80 for HTTP and port 443 for HTTPS.")
        if after.get("authtype") not in (4, 5, 6):
            raise _refuse("A webhook's authtype must be 4 (WebhookKey), 5 (HttpHeader) or 6 (HttpQueryString).")
    if table == "sdkmessageprocessingstep":
        for column in ("name", "sdkmessageid", "eventhandler"):
            if not after.get(column):
                raise _refuse(f"Required field '{column}' is missing.")
        if after.get("mode") == ASYNCHRONOUS and after.get("stage") != POST_OPERATION:
            raise _refuse("Asynchronous steps are supported only in the post-operation stage (40).")
        handler = after["eventhandler"]
        if handler[0] == "serviceendpoint" and after.get("mode", 0) != ASYNCHRONOUS:
            raise _refuse(
                "This emulator runs asynchronous webhook steps only (mode 1, stage 40); "
                "a synchronous webhook step is not emulated."
            )
