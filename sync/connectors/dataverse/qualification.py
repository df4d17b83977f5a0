"""Lead qualification as Dataverse records it: a contact created by QualifyLead points back at its
lead through originatingleadid. The engine asks this when a contact arrives, to relink the lead's
Marketo person instead of creating a second one."""

from __future__ import annotations

from collections.abc import Iterable

from sync.connectors.dataverse.client import DataverseClient
from sync.connectors.dataverse.metadata import TableDefinition
from sync.connectors.dataverse.rows import RowReader

CONTACTS = TableDefinition("contact", "contacts", "contactid")


class QualificationReader:
    def __init__(self, client: DataverseClient) -> None:
        self.client = client
        self.rows = RowReader(client)

    def originating_leads(self, contact_ids: Iterable[str]) -> dict[str, str]:
        """contact id → the lead it was qualified from, for the contacts that have one."""
        rows = self.rows.by_ids(CONTACTS, contact_ids, ["_originatingleadid_value"])
        return {
            str(r["contactid"]): str(r["_originatingleadid_value"]) for r in rows if r.get("_originatingleadid_value")
        }

    def is_closed(self, lead_id: str) -> bool:
        """Qualified or disqualified leads are read-only in Dataverse: never write to them."""
        row = self.client.get_json(f"leads({lead_id})", params={"$select": "statecode"})
        return int(row.get("statecode") or 0) != 0
