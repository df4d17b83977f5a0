"""Marketo's schema and messages as data: standard person fields, Lead Database object types,
error codes and record-level reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from emulators.marketo.engagement import CHANGE_SCORE as CHANGE_SCORE
from emulators.marketo.engagement import ENGAGEMENT_TYPES


@dataclass(frozen=True)
class FieldDef:
    name: str
    display_name: str
    data_type: str  # string, email, phone, text, integer, float, currency, boolean, date, datetime, url
    length: int | None = None
    read_only: bool = False
    searchable: bool = False
    custom: bool = False


def _f(name: str, display: str, data_type: str = "string", length: int | None = 255, **kw: bool) -> FieldDef:
    return FieldDef(
        name, display, data_type, length if data_type in ("string", "email", "phone", "url") else None, **kw
    )


STANDARD_PERSON_FIELDS: Final[tuple[FieldDef, ...]] = (
    _f("id", "Id", "integer", read_only=True, searchable=True),
    _f("email", "Email Address", "email", searchable=True),
    _f("salutation", "Salutation"),
    _f("firstName", "First Name"),
    _f("middleName", "Middle Name"),
    _f("lastName", "Last Name"),
    _f("title", "Job Title"),
    _f("phone", "Phone Number", "phone"),
    _f("mobilePhone", "Mobile Phone Number", "phone"),
    _f("fax", "Fax Number", "phone"),
    _f("address", "Address", "text"),
    _f("city", "City"),
    _f("state", "State"),
    _f("postalCode", "Postal Code"),
    _f("country", "Country"),
    _f("company", "Company Name"),
    _f("website", "Website", "url"),
    _f("industry", "Industry"),
    _f("annualRevenue", "Annual Revenue", "currency"),
    _f("numberOfEmployees", "Num Employees", "integer"),
    _f("leadSource", "Person Source"),
    _f("leadStatus", "Lead Status"),
    _f("rating", "Lead Rating"),
    _f("mktoPersonNotes", "Person Notes", "text"),
    _f("unsubscribed", "Unsubscribed", "boolean"),
    _f("doNotCall", "Do Not Call", "boolean"),
    _f("dateOfBirth", "Date of Birth", "date"),
    _f("externalCompanyId", "External Company Id", searchable=True),
    _f("externalSalesPersonId", "External Sales Person Id", searchable=True),
    _f("leadPartitionId", "Lead Partition Id", "integer", read_only=True),
    _f("leadScore", "Lead Score", "score"),
    # Sales Insight's fields: system managed, read-only through the API (engagement.py)
    _f("priority", "Priority", "integer", read_only=True),
    _f("relativeScore", "Relative Score", "integer", read_only=True),
    _f("urgency", "Urgency", "float", read_only=True),
    _f("msiLastInterestingMomentType", "Last Interesting Moment Type", read_only=True),
    _f("msiLastInterestingMomentDesc", "Last Interesting Moment Description", read_only=True),
    _f("msiLastInterestingMomentSource", "Last Interesting Moment Source", read_only=True),
    _f("msiLastInterestingMomentDate", "Last Interesting Moment Date", "datetime", read_only=True),
    _f("createdAt", "Created At", "datetime", read_only=True),
    _f("updatedAt", "Updated At", "datetime", read_only=True),
)

DEFAULT_QUERY_FIELDS: Final = ("id", "updatedAt", "lastName", "email", "createdAt", "firstName")
CUSTOM_FIELD_TYPES: Final = frozenset(
    {"string", "email", "phone", "text", "integer", "float", "currency", "boolean", "date", "datetime", "url", "score"}
)


@dataclass(frozen=True)
class ObjectType:
    """A Lead Database object other than persons (companies, opportunities, …, custom objects)."""

    name: str  # the route segment and the `GET data/{name}` collection
    id_field: str  # "id" (integer) or "marketoGUID"
    dedupe_fields: tuple[str, ...]
    fields: tuple[FieldDef, ...]
    searchable: tuple[tuple[str, ...], ...]
    required: tuple[str, ...] = ()
    display_name: str = ""
    relationships: tuple[dict[str, object], ...] = field(default_factory=tuple)


def _fields(*specs: tuple[str, str]) -> tuple[FieldDef, ...]:
    return tuple(_f(name, name, dtype) for name, dtype in specs)


_AUDIT = _fields(("createdAt", "datetime"), ("updatedAt", "datetime"))

COMPANY = ObjectType(
    name="companies",
    id_field="id",
    dedupe_fields=("externalCompanyId",),
    searchable=(("externalCompanyId",), ("id",), ("company",)),
    display_name="Company",
    fields=(
        _f("id", "Id", "integer", read_only=True),
        *_fields(
            ("externalCompanyId", "string"),
            ("company", "string"),
            ("billingStreet", "string"),
            ("billingCity", "string"),
            ("billingState", "string"),
            ("billingPostalCode", "string"),
            ("billingCountry", "string"),
            ("mainPhone", "phone"),
            ("annualRevenue", "currency"),
            ("industry", "string"),
            ("sicCode", "string"),
            ("website", "url"),
            ("numberOfEmployees", "integer"),
            ("mktoCompanyNotes", "text"),
            ("externalSalesPersonId", "string"),
        ),
        *_AUDIT,
    ),
)
OPPORTUNITY = ObjectType(
    name="opportunities",
    id_field="marketoGUID",
    dedupe_fields=("externalOpportunityId",),
    searchable=(
        ("externalOpportunityId",),
        ("marketoGUID",),
        ("externalCompanyId",),
        ("externalSalesPersonId",),
    ),
    required=("name",),
    display_name="Opportunity",
    fields=(
        _f("marketoGUID", "Marketo GUID", read_only=True),
        *_fields(
            ("externalOpportunityId", "string"),
            ("name", "string"),
            ("description", "text"),
            ("stage", "string"),
            ("probability", "integer"),
            ("closeDate", "date"),
            ("amount", "currency"),
            ("expectedRevenue", "currency"),
            ("isWon", "boolean"),
            ("isClosed", "boolean"),
            ("externalCompanyId", "string"),
            ("externalSalesPersonId", "string"),
        ),
        *_AUDIT,
    ),
)
OPPORTUNITY_ROLE = ObjectType(
    name="opportunities/roles",
    id_field="marketoGUID",
    dedupe_fields=("externalOpportunityId", "leadId", "role"),
    searchable=(
        ("marketoGUID",),
        ("externalOpportunityId", "leadId", "role"),
        ("externalOpportunityId",),
        ("leadId",),
    ),
    required=("externalOpportunityId", "leadId", "role"),
    display_name="Opportunity Role",
    fields=(
        _f("marketoGUID", "Marketo GUID", read_only=True),
        *_fields(
            ("externalOpportunityId", "string"),
            ("leadId", "integer"),
            ("role", "string"),
            ("isPrimary", "boolean"),
        ),
        *_AUDIT,
    ),
)
SALES_PERSON = ObjectType(
    name="salespersons",
    id_field="id",
    dedupe_fields=("externalSalesPersonId",),
    searchable=(("externalSalesPersonId",), ("id",), ("email",)),
    display_name="Sales Person",
    fields=(
        _f("id", "Id", "integer", read_only=True),
        *_fields(
            ("externalSalesPersonId", "string"),
            ("email", "email"),
            ("firstName", "string"),
            ("lastName", "string"),
            ("title", "string"),
            ("phone", "phone"),
            ("mobilePhone", "phone"),
            ("fax", "phone"),
        ),
        *_AUDIT,
    ),
)
STANDARD_OBJECT_TYPES: Final = (COMPANY, OPPORTUNITY, OPPORTUNITY_ROLE, SALES_PERSON)

# Response-level errors: code → message template (Marketo sends the code as a quoted string).
ERRORS: Final[dict[str, str]] = {
    "600": "Access token not specified",
    "601": "Access token invalid",
    "602": "Access token expired",
    "603": "Access denied",
    "604": "Request time-out",
    "605": "HTTP Method not supported",
    "606": "Max rate limit '{calls}' exceeded with in '{window}' secs",
    "607": "Daily quota reached",
    "608": "API Temporarily Unavailable",
    "609": "Invalid JSON",
    "610": "Requested resource not found",
    "611": "System error",
    "612": "Invalid Content Type",
    "615": "Concurrent access limit '{concurrency}' reached",
    "701": "{detail} cannot be blank",
    "702": "No data found for given search scenario",
    "703": "The feature is not enabled for the subscription",
    "709": "{detail}",
    "710": "Parent folder not found",
    "1003": "{detail}",
    "1011": "Field '{detail}' not supported",  # a lookup field or filterType that is not searchable
    "1016": "Too many imports",
    "1029": "{detail}",
}

# Record-level reasons.
REASONS: Final[dict[str, str]] = {
    "1003": "{detail}",
    "1004": "{detail} not found",
    "1005": "{detail} already exists",
    "1006": "Field '{detail}' not found",
    "1007": "Multiple lead match lookup criteria",
    "1009": "Partition '{detail}' not found",
    "1011": "Field '{detail}' not supported",
    "1013": "Object not found",
    "1036": "Duplicate lead in input",
}

ACTIVITY_NEW_LEAD: Final = 12
ACTIVITY_CHANGE_DATA_VALUE: Final = 13
ACTIVITY_DELETE_LEAD: Final = 37
# Describe Activity Types: the types this emulator records, with the attributes it writes
# (names and data types as Marketo's own describe lists them).
ACTIVITY_TYPES: Final[tuple[dict[str, Any], ...]] = (
    {
        "id": ACTIVITY_NEW_LEAD,
        "name": "New Lead",
        "description": "New person/record is added to the lead database",
        "primaryAttribute": {"name": "Lead ID", "dataType": "integer"},
        "attributes": [
            {"name": "Created Date", "dataType": "date"},
            {"name": "Source Type", "dataType": "string"},
        ],
    },
    {
        "id": ACTIVITY_CHANGE_DATA_VALUE,
        "name": "Change Data Value",
        "description": "Changed attribute value for a person",
        "primaryAttribute": {"name": "Attribute Name", "dataType": "integer"},
        "attributes": [
            {"name": "New Value", "dataType": "string"},
            {"name": "Old Value", "dataType": "string"},
            {"name": "Reason", "dataType": "string"},
            {"name": "Source", "dataType": "string"},
        ],
    },
    {
        "id": 104,
        "name": "Change Status in Progression",
        "description": "Change a person's program status",
        "primaryAttribute": {"name": "Program ID", "dataType": "integer"},
        "attributes": [
            {"name": "Acquired By", "dataType": "boolean"},
            {"name": "New Status ID", "dataType": "integer"},
            {"name": "Old Status ID", "dataType": "integer"},
            {"name": "New Status", "dataType": "string"},
            {"name": "Old Status", "dataType": "string"},
            {"name": "Program Member ID", "dataType": "integer"},
            {"name": "Reason", "dataType": "string"},
            {"name": "Success", "dataType": "boolean"},
        ],
    },
    {
        "id": ACTIVITY_DELETE_LEAD,
        "name": "Delete Lead",
        "description": "Delete person from the lead database",
        "primaryAttribute": {"name": "Lead ID", "dataType": "integer"},
        "attributes": [{"name": "Source", "dataType": "string"}],
    },
    *ENGAGEMENT_TYPES,
)
DELETED_LEAD_RETENTION_S: Final = 14 * 24 * 3600
MAX_BATCH: Final = 300
MAX_BODY_BYTES: Final = 1024 * 1024
MAX_URI_BYTES: Final = 8 * 1024
