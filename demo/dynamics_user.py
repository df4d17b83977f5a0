"""What people do by hand in Dynamics that the sync itself never does: create a record with no
key of its own, delete one, qualify a lead. The demo's edits and the tests' worlds act through
this, as a salesperson would through the app; the deployed sync has no use for it."""

from __future__ import annotations

import re
from typing import Any, Final

from sync.connectors.dataverse.client import DataverseClient
from sync.connectors.dataverse.errors import DataverseError
from sync.connectors.dataverse.metadata import TableDefinition

_GUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class DynamicsUser:
    def __init__(self, client: DataverseClient) -> None:
        self.client = client

    def create(self, table: TableDefinition, columns: dict[str, Any]) -> str:
        """A new row; its id, from the OData-EntityId header Dataverse answers with."""
        response = self.client.request("POST", table.entity_set, json=columns)
        match = _GUID.search(response.headers.get("OData-EntityId", ""))
        if match is None:
            raise DataverseError(response.status_code, "", "create answered without an OData-EntityId header")
        return match.group(0).lower()

    def delete(self, table: TableDefinition, record_id: str) -> None:
        self.client.request("DELETE", f"{table.entity_set}({record_id})")

    def qualify_lead(
        self,
        lead_id: str,
        *,
        account: bool = True,
        contact: bool = True,
        opportunity: bool = False,
        status: int = 3,
    ) -> list[dict[str, Any]]:
        """Qualify a lead; returns the created records as {"@odata.type": ..., "<table>id": ...}."""
        body = self.client.request(
            "POST",
            f"leads({lead_id})/Microsoft.Dynamics.CRM.QualifyLead",
            json={
                "CreateAccount": account,
                "CreateContact": contact,
                "CreateOpportunity": opportunity,
                "Status": status,
                "SuppressDuplicateDetection": True,
            },
        ).json()
        return list(body.get("value", []))
