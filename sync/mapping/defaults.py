"""The default field mapping, as data: the native Dynamics sync's defaults
(`../shared/reference/default-field-mapping.md`) in Marketo REST names.

Keyed by the tables `sync/objects.py` maps field by field (a test keeps the two in step).
Each row maps one Dynamics column to one Marketo field. Types are not written here: they come
from Dataverse metadata and Marketo describe when the mapping is resolved, so a row is checked
against the real schemas like any row of a mapping file. Keys (the Dynamics id as Marketo's
external id) and fields computed from several columns are the registry's, not rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sync.mapping.types import FieldDirection, OptionValue, Winner

B, M = FieldDirection.BOTH, FieldDirection.TO_MARKETO


@dataclass(frozen=True)
class FieldRule:
    dynamics: str  # column logical name (lookups by their column name: ownerid, not _ownerid_value)
    marketo: str
    direction: FieldDirection = B
    option_value: OptionValue = OptionValue.LABEL
    lookup_target: str | None = None  # a lookup only counts when it points at this table
    winner: Winner | None = None  # None: the object's winner


_PERSON: Final = (
    FieldRule("salutation", "salutation"),
    FieldRule("firstname", "firstName"),
    FieldRule("middlename", "middleName"),
    FieldRule("lastname", "lastName"),
    FieldRule("emailaddress1", "email"),
    FieldRule("jobtitle", "title"),
    FieldRule("telephone1", "phone"),
    FieldRule("mobilephone", "mobilePhone"),
    FieldRule("address1_line1", "address"),
    FieldRule("address1_city", "city"),
    FieldRule("address1_stateorprovince", "state"),
    FieldRule("address1_country", "country"),
    FieldRule("address1_postalcode", "postalCode"),
    FieldRule("statecode", "leadStatus", M),  # state changes in Dynamics go through qualification
    FieldRule("description", "mktoPersonNotes"),
    FieldRule("donotphone", "doNotCall"),
    FieldRule("donotbulkemail", "unsubscribed"),
    FieldRule("ownerid", "externalSalesPersonId", M),
)

DEFAULT_FIELDS: Final[dict[str, tuple[FieldRule, ...]]] = {
    "lead": (
        *_PERSON,
        FieldRule("fax", "fax"),
        FieldRule("leadsourcecode", "leadSource"),
        FieldRule("leadqualitycode", "rating"),
        FieldRule("companyname", "company"),
        FieldRule("revenue", "annualRevenue"),
        FieldRule("parentaccountid", "externalCompanyId", M, lookup_target="account"),
    ),
    "contact": (
        *_PERSON,
        FieldRule("parentcustomerid", "externalCompanyId", M, lookup_target="account"),
    ),
    "account": (
        FieldRule("name", "company", M),
        FieldRule("address1_line1", "billingStreet", M),
        FieldRule("address1_city", "billingCity", M),
        FieldRule("address1_stateorprovince", "billingState", M),
        FieldRule("address1_postalcode", "billingPostalCode", M),
        FieldRule("address1_country", "billingCountry", M),
        FieldRule("telephone1", "mainPhone", M),
        FieldRule("revenue", "annualRevenue", M),
        FieldRule("industrycode", "industry", M),
        FieldRule("sic", "sicCode", M),
        FieldRule("websiteurl", "website", M),
        FieldRule("numberofemployees", "numberOfEmployees", M),
        FieldRule("description", "mktoCompanyNotes", M),
        FieldRule("ownerid", "externalSalesPersonId", M),
    ),
    "opportunity": (
        FieldRule("name", "name", M),
        FieldRule("description", "description", M),
        FieldRule("statecode", "stage", M),
        FieldRule("closeprobability", "probability", M),
        FieldRule("estimatedvalue", "amount", M),
        FieldRule("customerid", "externalCompanyId", M, lookup_target="account"),
        FieldRule("ownerid", "externalSalesPersonId", M),
    ),
    "systemuser": (
        FieldRule("internalemailaddress", "email", M),
        FieldRule("firstname", "firstName", M),
        FieldRule("lastname", "lastName", M),
        FieldRule("title", "title", M),
        FieldRule("address1_telephone1", "phone", M),
        FieldRule("mobilephone", "mobilePhone", M),
        FieldRule("address1_fax", "fax", M),
    ),
    "team": (
        FieldRule("name", "lastName", M),
        FieldRule("emailaddress", "email", M),
    ),
}
