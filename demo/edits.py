"""The changes the demo makes on both sides between the full copy and the incremental cycles,
as an admin, a salesperson and a marketer would: each one names the record, the Dynamics column
and Marketo field it touches, and what the sync should make of it (the rule of
`shared/spec/behaviour.md` it shows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from demo.dynamics_user import DynamicsUser
from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.marketo.connection import MarketoConnection


@dataclass(frozen=True)
class Edit:
    what: str  # what happened, in one line
    table: str  # the Dynamics table of the record the report follows
    record_id: str
    column: str  # the Dynamics column the report shows
    field: str  # the Marketo person field the report shows
    expect: str  # the rule: what the sync should make of it


class Editor:
    def __init__(self, dynamics: DataverseConnection, marketo: MarketoConnection) -> None:
        self.dynamics, self.marketo = dynamics, marketo
        self.user = DynamicsUser(dynamics.client)
        self.tables = {t: dynamics.metadata.describe(t) for t in ("contact", "lead", "account")}
        self._taken: dict[str, int] = {}

    def next_id(self, table: str) -> str:
        """A different existing record for each edit (the n-th of the table)."""
        n = self._taken.get(table, 0)
        self._taken[table] = n + 1
        body = self.dynamics.client.get_json(
            self.tables[table].entity_set, params={"$select": f"{table}id", "$top": str(n + 2), "$orderby": "createdon"}
        )
        return str(body["value"][n + 1][f"{table}id"])  # the first row of each table is the form-filler's

    def person_id(self, dynamics_id: str) -> int:
        found = self.marketo.persons.query("dynamicsId", [dynamics_id.lower()], ["id"])
        return int(found[0]["id"])

    def in_marketo(self, dynamics_id: str, **values: Any) -> None:
        person = self.person_id(dynamics_id)
        self.marketo.persons.upsert([{"id": person, **values}], action="updateOnly", lookup_field="id")

    def in_dynamics(self, table: str, record_id: str, values: dict[str, Any]) -> None:
        self.dynamics.writer.update(self.tables[table], record_id, values)


def make_edits(editor: Editor) -> list[Edit]:
    edits: list[Edit] = []
    contact = editor.next_id("contact")
    editor.in_dynamics("contact", contact, {"jobtitle": "Chief Demo Officer"})
    edits.append(
        Edit(
            "a salesperson changes a contact's job title in Dynamics",
            "contact",
            contact,
            "jobtitle",
            "title",
            "reaches Marketo in the next contact run",
        )
    )
    contact = editor.next_id("contact")
    editor.in_marketo(contact, city="Lisbon")
    edits.append(
        Edit(
            "a marketer changes a contact's city in Marketo",
            "contact",
            contact,
            "address1_city",
            "city",
            "reaches Dynamics in the next person run",
        )
    )
    contact = editor.next_id("contact")
    editor.in_marketo(contact, title="VP (typed in Marketo)")
    editor.in_dynamics("contact", contact, {"jobtitle": "VP (typed in Dynamics)"})
    edits.append(
        Edit(
            "both sides change one contact's job title",
            "contact",
            contact,
            "jobtitle",
            "title",
            "a conflict: Dynamics wins for contacts, on both sides",
        )
    )
    lead = editor.next_id("lead")
    editor.in_marketo(lead, company="Marketo Corp (typed in Marketo)")
    editor.in_dynamics("lead", lead, {"companyname": "Dynamics Ltd (typed in Dynamics)"})
    edits.append(
        Edit(
            "both sides change one lead's company",
            "lead",
            lead,
            "companyname",
            "company",
            "a conflict: Marketo wins for leads, on both sides",
        )
    )
    contact = editor.next_id("contact")
    editor.user.delete(editor.tables["contact"], contact)
    edits.append(
        Edit(
            "a contact is deleted in Dynamics",
            "contact",
            contact,
            "lastname",
            "dynamicsIsDeleted",
            "its Marketo person is kept and flagged dynamicsIsDeleted = true",
        )
    )
    lead = editor.next_id("lead")
    created = editor.user.qualify_lead(lead, account=False, contact=True)
    new_contact = next(str(c["contactid"]) for c in created if str(c["@odata.type"]).endswith("contact"))
    edits.append(
        Edit(
            "a lead is qualified in Dynamics (a contact is created from it)",
            "contact",
            new_contact,
            "lastname",
            "dynamicsEntityType",
            "the lead's Marketo person now belongs to the contact: no second person",
        )
    )
    account = editor.next_id("account")
    editor.user.delete(editor.tables["account"], account)
    edits.append(
        Edit(
            "an account is deleted in Dynamics", "account", account, "name", "company", "its Marketo company is deleted"
        )
    )
    return edits
