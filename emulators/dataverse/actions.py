"""Bound actions: CreateMultiple / UpdateMultiple / UpsertMultiple on a table (one bad record
fails the call, as on standard tables), QualifyLead on a lead, AddMemberList and AddItemCampaign
on a marketing list (`marketing.py`)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.dataverse import marketing
from emulators.dataverse.catalogue import TableDef
from emulators.dataverse.core import API, ENTITY_REF, api
from emulators.dataverse.models import DataverseError, not_found
from emulators.dataverse.wire import bad_request, json_reply, parse_payload
from emulators.dataverse.writes import DataverseWrites


class DataverseActions(DataverseWrites):
    @api("/<set:entity_set>/Microsoft.Dynamics.CRM.<action>", "POST")
    @api("/<set:entity_set>(<key:key>)/Microsoft.Dynamics.CRM.<action>", "POST")
    def on_action(self, request: Request, user: str, entity_set: str, action: str, key: str | None = None) -> Response:
        table = self.table_of(entity_set)
        body = self._body(request)
        if action == "QualifyLead" and table.logical_name == "lead" and key:
            return self._qualify(request, key, body or {}, user)
        if key is None and action in ("CreateMultiple", "UpdateMultiple", "UpsertMultiple"):
            return self._multiple(request, table, action, body, user)
        marketing_action = marketing.ACTIONS.get((table.logical_name, action))
        if key and marketing_action is not None:
            return self._marketing(request, table, action, key, body, user, marketing_action)
        raise DataverseError(
            404, "0x80060888", f"Resource not found for the segment 'Microsoft.Dynamics.CRM.{action}'."
        )

    def _marketing(
        self, request: Request, table: TableDef, action: str, key: str, body: Any, user: str, run: Any
    ) -> Response:
        self.pause("write")
        with self.lock, self.org.transaction():
            record_id = self.resolve_key(table, key)
            if record_id is None:
                raise not_found(table.logical_name, key)
            answer = run(self.org, record_id, body, user)
        base = f"{self._base(request)}{API}/$metadata"
        if action == "AddItemCampaign":
            return json_reply(
                {"@odata.context": f"{base}#campaignitems/$entity", "campaignitemid": answer["campaignitemid"]}
            )
        return json_reply({"@odata.context": f"{base}#Microsoft.Dynamics.CRM.{action}Response", **answer})

    def _multiple(self, request: Request, table: TableDef, action: str, body: Any, user: str) -> Response:
        targets = body.get("Targets") if isinstance(body, dict) else None
        if not isinstance(targets, list) or not targets:
            raise bad_request(f"{action} needs a non-empty 'Targets' array.")
        self.pause("write_multiple", len(targets))
        ids, results = [], []
        with self.lock, self.org.transaction():  # on standard tables one bad record fails the whole call
            for target in targets:
                if not isinstance(target, dict) or "@odata.type" not in target:
                    raise bad_request('Each target needs "@odata.type": "Microsoft.Dynamics.CRM.<table>".')
                odata_id = target.get("@odata.id")
                values = parse_payload(self.org, table, target)
                record_id = values.pop(table.primary_id, None)
                if odata_id:
                    match = ENTITY_REF.match(str(odata_id).rsplit("/", 1)[-1])
                    record_id = (
                        self.resolve_key(table, match.group("key")) if match and match.group("key") else record_id
                    )
                existing = self.org.get(table.logical_name, record_id) if record_id else None
                if action == "CreateMultiple":
                    ids.append(self.org.create(table.logical_name, values, user, record_id)[table.primary_id])
                elif action == "UpdateMultiple":
                    if existing is None:
                        raise not_found(table.logical_name, str(record_id))
                    self._check_writable(table, existing, values)
                    self.org.update(table.logical_name, str(record_id), values, user)
                else:
                    if existing is None:
                        row = self.org.create(table.logical_name, values, user, record_id)
                    else:
                        self._check_writable(table, existing, values)
                        row = self.org.update(table.logical_name, str(record_id), values, user)
                    results.append(
                        {
                            "RecordCreated": existing is None,
                            "Target": {
                                "@odata.type": f"#Microsoft.Dynamics.CRM.{table.logical_name}",
                                table.primary_id: row[table.primary_id],
                            },
                        }
                    )
        context = f"{self._base(request)}{API}/$metadata#Microsoft.Dynamics.CRM.{action}Response"
        if action == "CreateMultiple":
            return json_reply({"@odata.context": context, "Ids": ids})
        if action == "UpsertMultiple":
            return json_reply({"@odata.context": context, "Results": results})
        return Response(status=204, headers={"OData-Version": "4.0"})

    def _qualify(self, request: Request, key: str, body: dict[str, Any], user: str) -> Response:
        created: list[dict[str, Any]] = []
        with self.lock, self.org.transaction():
            lead_id = self.resolve_key(self.org.table("lead").definition, key)
            lead = self.org.get("lead", lead_id) if lead_id else None
            if lead is None:
                raise not_found("lead", key)
            if lead.get("statecode") != 0:
                raise DataverseError(400, "0x8004d2b2", "The lead is closed. Only an open lead can be qualified.")
            owner = lead.get("ownerid")
            copy = {
                k: lead.get(k)
                for k in (
                    "address1_line1",
                    "address1_city",
                    "address1_stateorprovince",
                    "address1_postalcode",
                    "address1_country",
                    "telephone1",
                )
            }
            origin = ("lead", lead["leadid"])
            account = contact = None
            if body.get("CreateAccount"):
                account = self.org.create(
                    "account",
                    {
                        **copy,
                        "name": lead.get("companyname") or lead.get("fullname"),
                        "originatingleadid": origin,
                        "ownerid": owner,
                    },
                    user,
                )
                created.append({"@odata.type": "#Microsoft.Dynamics.CRM.account", "accountid": account["accountid"]})
            if body.get("CreateContact"):
                person = {
                    k: lead.get(k)
                    for k in (
                        "salutation",
                        "firstname",
                        "middlename",
                        "lastname",
                        "emailaddress1",
                        "jobtitle",
                        "mobilephone",
                        "fax",
                        "donotphone",
                        "donotbulkemail",
                    )
                }
                contact = self.org.create(
                    "contact",
                    {
                        **copy,
                        **person,
                        "originatingleadid": origin,
                        "ownerid": owner,
                        "parentcustomerid": ("account", account["accountid"]) if account else None,
                    },
                    user,
                )
                created.append({"@odata.type": "#Microsoft.Dynamics.CRM.contact", "contactid": contact["contactid"]})
            if body.get("CreateOpportunity"):
                customer = (
                    ("account", account["accountid"])
                    if account
                    else (("contact", contact["contactid"]) if contact else None)
                )
                opportunity = self.org.create(
                    "opportunity",
                    {
                        "name": lead.get("subject") or lead.get("fullname") or "Opportunity",
                        "customerid": customer,
                        "parentaccountid": ("account", account["accountid"]) if account else None,
                        "parentcontactid": ("contact", contact["contactid"]) if contact else None,
                        "originatingleadid": origin,
                        "ownerid": owner,
                    },
                    user,
                )
                created.append(
                    {
                        "@odata.type": "#Microsoft.Dynamics.CRM.opportunity",
                        "opportunityid": opportunity["opportunityid"],
                    }
                )
            self.org.update(
                "lead",
                lead["leadid"],
                {
                    "statecode": 1,
                    "statuscode": int(body.get("Status", 3)),
                    "parentaccountid": ("account", account["accountid"]) if account else lead.get("parentaccountid"),
                    "parentcontactid": ("contact", contact["contactid"]) if contact else lead.get("parentcontactid"),
                },
                user,
            )
        return json_reply(
            {
                "@odata.context": f"{self._base(request)}{API}/$metadata"
                "#Collection(Microsoft.Dynamics.CRM.crmbaseentity)",
                "value": created,
            }
        )
