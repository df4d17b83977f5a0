"""The tables the sync touches, as data: columns with Dataverse attribute types, option sets with
labels, lookup targets, keys and change tracking. Custom tables load from a JSON file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

LOOKUP_TYPES: Final = frozenset({"Lookup", "Customer", "Owner"})
OPTION_TYPES: Final = frozenset({"Picklist", "State", "Status"})


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Dataverse AttributeType: String, Memo, Integer, BigInt, Decimal, Double, Money, Boolean,
    #            DateTime, Picklist, MultiSelectPicklist, State, Status, Lookup, Customer, Owner, Uniqueidentifier
    max_length: int | None = None
    options: tuple[tuple[int, str], ...] = ()
    targets: tuple[str, ...] = ()  # lookup target tables
    read_only: bool = False
    write_only: bool = False  # IsValidForRead false: taken on writes, never returned (a webhook's authvalue)
    display: str = ""
    date_only: bool = False  # DateTime: shown as a date (Format DateOnly), as opportunities' close dates
    behavior: str = "UserLocal"  # DateTime: DateTimeBehavior (UserLocal, DateOnly, TimeZoneIndependent)
    navigation_suffix: str = ""  # an activity's regarding lookup: regardingobjectid_contact_task ("_task")

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def lookup_property(self) -> str:
        """The Web API property holding a lookup's id: `_parentcustomerid_value`."""
        return f"_{self.name}_value"

    def navigation_property(self, target: str) -> str:
        """A lookup's single-valued navigation property to one target table (named per target
        when the lookup has several: `parentcustomerid_account`; an activity's regarding lookup
        after the activity as well: `regardingobjectid_contact_task`)."""
        if len(self.targets) > 1 or self.navigation_suffix:
            return f"{self.name}_{target}{self.navigation_suffix}"
        return self.name

    def label_of(self, value: int) -> str | None:
        return next((label for v, label in self.options if v == value), None)


@dataclass(frozen=True)
class TableDef:
    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    columns: tuple[Column, ...]
    change_tracking: bool = True
    display: str = ""
    keys: tuple[tuple[str, ...], ...] = ()
    schema_name: str = ""  # as created through the metadata endpoints (metadata_writes.py); "" for standard tables
    is_activity: bool = False
    columns_by_name: dict[str, Column] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.columns_by_name.update({c.name: c for c in self.columns})

    def column(self, name: str) -> Column | None:
        return self.columns_by_name.get(name)


def text_column(name: str, length: int = 100) -> Column:
    return Column(name, "String", max_length=length)


YES_NO = ((0, "No"), (1, "Yes"))
STATE_ACTIVE = ((0, "Active"), (1, "Inactive"))


def stamp_columns() -> tuple[Column, ...]:
    """When a row was made and changed, and its version: on every table, owned or not."""
    return (
        Column("createdon", "DateTime", read_only=True),
        Column("modifiedon", "DateTime", read_only=True),
        Column("versionnumber", "BigInt", read_only=True),
    )


def common_columns(owner: bool = True) -> tuple[Column, ...]:
    cols = [
        *stamp_columns(),
        Column("createdby", "Lookup", targets=("systemuser",), read_only=True),
        Column("modifiedby", "Lookup", targets=("systemuser",), read_only=True),
        Column("new_synctomkto", "Boolean", options=YES_NO),
    ]
    if owner:
        cols.append(Column("ownerid", "Owner", targets=("systemuser", "team")))
    return tuple(cols)


def _person() -> tuple[Column, ...]:
    """The columns lead and contact share (the native sync maps both to the same person fields)."""
    return (
        text_column("salutation", 100),
        text_column("firstname", 50),
        text_column("middlename", 50),
        text_column("lastname", 50),
        Column("fullname", "String", 160, read_only=True),
        text_column("emailaddress1", 100),
        text_column("jobtitle", 100),
        text_column("telephone1", 50),
        text_column("mobilephone", 20),
        text_column("fax", 50),
    )


def _contact_preferences() -> tuple[Column, ...]:
    return (Column("donotphone", "Boolean", options=YES_NO), Column("donotbulkemail", "Boolean", options=YES_NO))


def _active_state() -> tuple[Column, ...]:
    return (
        Column("statecode", "State", options=STATE_ACTIVE),
        Column("statuscode", "Status", options=((1, "Active"), (2, "Inactive"))),
    )


def _merge(table: str) -> tuple[Column, ...]:
    """Lead, contact and account can be merged: the loser keeps merged=true and points at its master."""
    return (
        Column("merged", "Boolean", options=YES_NO, read_only=True),
        Column("masterid", "Lookup", targets=(table,), read_only=True),
    )


def _address() -> tuple[Column, ...]:
    return (
        text_column("address1_line1", 250),
        text_column("address1_city", 80),
        text_column("address1_stateorprovince", 50),
        text_column("address1_postalcode", 20),
        text_column("address1_country", 80),
    )


LEAD = TableDef(
    "lead",
    "leads",
    "leadid",
    "fullname",
    display="Lead",
    columns=(
        Column("leadid", "Uniqueidentifier"),
        text_column("subject", 300),
        *_person(),
        text_column("companyname", 100),
        *_address(),
        Column("description", "Memo", 2000),
        Column("revenue", "Money"),
        *_contact_preferences(),
        Column(
            "leadsourcecode",
            "Picklist",
            options=(
                (1, "Advertisement"),
                (2, "Employee Referral"),
                (3, "External Referral"),
                (4, "Partner"),
                (8, "Web"),
                (10, "Other"),
            ),
        ),
        Column("leadqualitycode", "Picklist", options=((1, "Hot"), (2, "Warm"), (3, "Cold"))),
        Column("statecode", "State", options=((0, "Open"), (1, "Qualified"), (2, "Disqualified"))),
        Column(
            "statuscode",
            "Status",
            options=(
                (1, "New"),
                (2, "Contacted"),
                (3, "Qualified"),
                (4, "Lost"),
                (5, "Cannot Contact"),
                (6, "No Longer Interested"),
                (7, "Canceled"),
            ),
        ),
        Column("parentaccountid", "Lookup", targets=("account",)),
        Column("parentcontactid", "Lookup", targets=("contact",)),
        Column("customerid", "Customer", targets=("account", "contact")),
        *_merge("lead"),
        *common_columns(),
    ),
)
CONTACT = TableDef(
    "contact",
    "contacts",
    "contactid",
    "fullname",
    display="Contact",
    columns=(
        Column("contactid", "Uniqueidentifier"),
        *_person(),
        *_address(),
        Column("description", "Memo", 2000),
        *_contact_preferences(),
        Column("parentcustomerid", "Customer", targets=("account", "contact")),
        Column("originatingleadid", "Lookup", targets=("lead",)),
        Column("birthdate", "DateTime", date_only=True, behavior="DateOnly"),
        *_active_state(),
        *_merge("contact"),
        *common_columns(),
    ),
)
ACCOUNT = TableDef(
    "account",
    "accounts",
    "accountid",
    "name",
    display="Account",
    columns=(
        Column("accountid", "Uniqueidentifier"),
        text_column("name", 160),
        *_address(),
        text_column("telephone1", 50),
        Column("revenue", "Money"),
        text_column("sic", 20),
        text_column("websiteurl", 200),
        Column("numberofemployees", "Integer"),
        Column("description", "Memo", 2000),
        Column(
            "industrycode",
            "Picklist",
            options=(
                (1, "Accounting"),
                (7, "Consulting"),
                (13, "Financial"),
                (25, "Manufacturing"),
                (33, "Retail"),
                (37, "Software"),
            ),
        ),
        Column("primarycontactid", "Lookup", targets=("contact",)),
        Column("originatingleadid", "Lookup", targets=("lead",)),
        *_active_state(),
        *_merge("account"),
        *common_columns(),
    ),
)
OPPORTUNITY = TableDef(
    "opportunity",
    "opportunities",
    "opportunityid",
    "name",
    display="Opportunity",
    columns=(
        Column("opportunityid", "Uniqueidentifier"),
        text_column("name", 300),
        Column("description", "Memo", 2000),
        Column("closeprobability", "Integer"),
        Column("estimatedvalue", "Money"),
        Column("estimatedclosedate", "DateTime", date_only=True),
        Column("actualclosedate", "DateTime", date_only=True),
        Column("customerid", "Customer", targets=("account", "contact")),
        Column("parentaccountid", "Lookup", targets=("account",)),
        Column("parentcontactid", "Lookup", targets=("contact",)),
        Column("originatingleadid", "Lookup", targets=("lead",)),
        Column("statecode", "State", options=((0, "Open"), (1, "Won"), (2, "Lost"))),
        Column(
            "statuscode",
            "Status",
            options=((1, "In Progress"), (2, "On Hold"), (3, "Won"), (4, "Canceled"), (5, "Out-Sold")),
        ),
        *common_columns(),
    ),
)
CONNECTION_ROLE = TableDef(
    "connectionrole",
    "connectionroles",
    "connectionroleid",
    "name",
    display="Connection Role",
    columns=(
        Column("connectionroleid", "Uniqueidentifier"),
        text_column("name", 100),
        Column(
            "category",
            "Picklist",
            options=(
                (1, "Business"),
                (2, "Family"),
                (3, "Social"),
                (4, "Sales"),
                (5, "Other"),
                (1000, "Stakeholder"),
                (1001, "Sales Team"),
            ),
        ),
        *common_columns(owner=False),
    ),
)
CONNECTION = TableDef(
    "connection",
    "connections",
    "connectionid",
    "name",
    display="Connection",
    columns=(
        Column("connectionid", "Uniqueidentifier"),
        Column("name", "String", 500, read_only=True),
        Column("record1id", "Lookup", targets=("opportunity", "account", "contact", "lead")),
        Column("record2id", "Lookup", targets=("contact", "account", "systemuser", "lead")),
        Column("record1roleid", "Lookup", targets=("connectionrole",)),
        Column("record2roleid", "Lookup", targets=("connectionrole",)),
        Column("ismaster", "Boolean", options=YES_NO, read_only=True),
        Column("description", "Memo", 2000),
        Column("statecode", "State", options=STATE_ACTIVE),
        *common_columns(),
    ),
)
SYSTEMUSER = TableDef(
    "systemuser",
    "systemusers",
    "systemuserid",
    "fullname",
    display="User",
    columns=(
        Column("systemuserid", "Uniqueidentifier"),
        text_column("firstname", 64),
        text_column("lastname", 64),
        Column("fullname", "String", 200, read_only=True),
        text_column("internalemailaddress", 100),
        text_column("title", 128),
        text_column("address1_telephone1", 64),
        text_column("mobilephone", 64),
        text_column("address1_fax", 64),
        Column("applicationid", "Uniqueidentifier"),
        Column("isdisabled", "Boolean", options=YES_NO),
        *common_columns(owner=False),
    ),
)
TEAM = TableDef(
    "team",
    "teams",
    "teamid",
    "name",
    display="Team",
    columns=(
        Column("teamid", "Uniqueidentifier"),
        text_column("name", 160),
        text_column("emailaddress", 100),
        Column("description", "Memo", 2000),
        Column(
            "teamtype",
            "Picklist",
            options=((0, "Owner"), (1, "Access"), (2, "Security Group"), (3, "Office Group")),
        ),
        *common_columns(owner=False),
    ),
)
TEAMMEMBERSHIP = TableDef(
    "teammembership",
    "teammemberships",
    "teammembershipid",
    "teammembershipid",
    display="Team Membership",
    columns=(
        Column("teammembershipid", "Uniqueidentifier"),
        Column("teamid", "Uniqueidentifier"),
        Column("systemuserid", "Uniqueidentifier"),
        Column("versionnumber", "BigInt", read_only=True),
    ),
)
TASK_REGARDING: Final = ("lead", "contact", "account", "opportunity")
TASK = TableDef(
    "task",
    "tasks",
    "activityid",
    "subject",
    display="Task",
    columns=(
        Column("activityid", "Uniqueidentifier"),
        text_column("subject", 200),
        Column("description", "Memo", 2000),
        Column("scheduledend", "DateTime"),
        Column("regardingobjectid", "Lookup", targets=TASK_REGARDING, navigation_suffix="_task"),
        Column("statecode", "State", options=((0, "Open"), (1, "Completed"), (2, "Canceled"))),
        *common_columns(),
    ),
)
STANDARD_TABLES: Final = (
    LEAD,
    CONTACT,
    ACCOUNT,
    OPPORTUNITY,
    CONNECTION_ROLE,
    CONNECTION,
    SYSTEMUSER,
    TEAM,
    TEAMMEMBERSHIP,
    TASK,
)
