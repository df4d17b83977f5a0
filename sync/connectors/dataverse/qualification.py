"""Lead qualification as Dataverse records it: a contact created by QualifyLead points back at its
lead through originatingleadid. The engine asks this when a contact arrives, to relink the lead's
Marketo person instead of creating a second one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from sync.connectors.dataverse.client import DataverseClient

IDS_PER_QUERY: Final = 40  # keeps the $filter well inside URL limits


class QualificationReader:
    def __init__(self, client: DataverseClient) -> None:
        self.client = client

    def originating_leads(self, contact_ids: Iterable[str]) -> dict[str, str]:
        """contact id → the lead it was qualified from, for the contacts that have one."""
        ids = list(dict.fromkeys(i.lower() for i in contact_ids))
        found: dict[str, str] = {}
        for start in range(0, len(ids), IDS_PER_QUERY):
            params = {
                "$select": "contactid,_originatingleadid_value",
                "$filter": " or ".join(f"contactid eq {i}" for i in ids[start : start + IDS_PER_QUERY]),
            }
            for body in self.client.read_pages("contacts", params=params):
                for row in body.get("value", []):
                    if row.get("_originatingleadid_value"):
                        found[str(row["contactid"])] = str(row["_originatingleadid_value"])
        return found

    def is_closed(self, lead_id: str) -> bool:
        """Qualified or disqualified leads are read-only in Dataverse: never write to them."""
        row = self.client.get_json(f"leads({lead_id})", params={"$select": "statecode"})
        return int(row.get("statecode") or 0) != 0
