"""Random work on both sides between sync cycles — creates, edits, deletes and lead qualifications
in Dynamics; edits and deletions in Marketo — with a model of what every field must hold once a
cycle has run: the last edit when one side edited a field, the winner's when both did (contacts:
Dynamics; leads: Marketo). Driven through the services' own APIs, as people would, so the sync
under test can run in other processes (the crash tests, `make soak`)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from demo.dynamics_user import DynamicsUser
from emulators.launch import RunningEmulator
from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.dataverse.metadata import TableDefinition
from sync.connectors.marketo.connection import MarketoConnection
from sync.settings import Settings
from tests.emulator_support import control

FIELDS: Final = {"jobtitle": "title", "telephone1": "phone"}  # Dynamics column → Marketo field, both ways
WINNER: Final = {"contact": "dynamics", "lead": "marketo"}
VALUES: Final = ("Alpha", "Beta", "Gamma", "Delta", "Épsilon", "Zeta 🚀", "Eta", "Theta")


@dataclass
class Record:
    table: str
    id: str
    values: dict[str, str | None] = field(default_factory=dict)  # what the policy says each field holds
    edits: dict[str, dict[str, str]] = field(default_factory=dict)  # since the last cycle: field → side → value
    deleted: bool = False
    person_deleted: bool = False  # its person was deleted in Marketo and the record has not changed since
    qualified: bool = False  # a lead qualified into a contact (the contact's values are not modelled)
    person: int | None = None  # a qualified lead's person, which its contact must now hold
    pushed: set[str] = field(default_factory=set)  # Dynamics edits a crashed run wrote to Marketo since the last cycle
    history: list[str] = field(default_factory=list)  # what happened to it, for a failure's message


@dataclass
class Round:
    """What one round of work did, for the log of a soak or a crash test."""

    created: int = 0
    edited_in_dynamics: int = 0
    deleted_in_dynamics: int = 0
    qualified: int = 0
    edited_in_marketo: int = 0
    deleted_in_marketo: int = 0


class BothSides:
    def __init__(self, settings: Settings, dataverse: RunningEmulator, marketo: RunningEmulator, rng: random.Random):
        self.dataverse, self.marketo, self.rng = dataverse, marketo, rng
        self.dynamics = DataverseConnection.from_settings(settings.dataverse)
        self.persons_api = MarketoConnection.from_settings(settings.marketo)
        self.user = DynamicsUser(self.dynamics.client)
        self.tables: dict[str, TableDefinition] = {t: self.dynamics.metadata.describe(t) for t in WINNER}
        self.records: list[Record] = []
        self.serial = 0

    def close(self) -> None:
        self.dynamics.close()
        self.persons_api.close()

    # Dynamics

    def create(self, table: str) -> Record:
        self.serial += 1
        record = Record(table, "", dict.fromkeys(FIELDS))
        record.id = self.user.create(
            self.tables[table], {"lastname": f"Worker {self.serial}", "emailaddress1": f"w{self.serial}@example.com"}
        )
        self.records.append(record)
        return record

    def live(self, table: str | None = None) -> list[Record]:
        return [r for r in self.records if not (r.deleted or r.qualified) and table in (None, r.table)]

    def _other(self, current: Any) -> str:
        """A value other than the field's current one: writing what a field holds changes nothing."""
        return self.rng.choice([v for v in VALUES if v != current])

    def _edit_in_dynamics(self, record: Record) -> None:
        column = self.rng.choice(sorted(FIELDS))
        value = self._other(record.edits.get(column, {}).get("dynamics", record.values.get(column)))
        self.dynamics.writer.update(self.tables[record.table], record.id, {column: value})
        record.edits.setdefault(column, {})["dynamics"] = value
        record.history.append(f"dynamics {column}={value}")
        record.person_deleted = False  # a Dynamics change makes it a person again

    def _qualify(self, lead: Record, persons: dict[str, dict[str, Any]]) -> None:
        created = self.user.qualify_lead(lead.id, account=False, contact=True)
        contact = next(str(c["contactid"]) for c in created if str(c["@odata.type"]).endswith("contact"))
        lead.qualified = True
        self.records.append(Record("contact", contact, qualified=True, person=int(persons[lead.id.lower()]["id"])))

    # Marketo

    def persons(self) -> dict[str, dict[str, Any]]:
        rows = control(self.marketo, "GET", "data/lead")["rows"]
        return {str(p["dynamicsId"]): p for p in rows if p.get("dynamicsId")}

    def _edit_in_marketo(self, record: Record, person: dict[str, Any]) -> None:
        column = self.rng.choice(sorted(FIELDS))
        value = self._other(person.get(FIELDS[column]))
        self.persons_api.persons.upsert(
            [{"id": person["id"], FIELDS[column]: value}], action="updateOnly", lookup_field="id"
        )
        record.edits.setdefault(column, {})["marketo"] = value
        record.history.append(f"marketo {column}={value}")

    def _delete_in_marketo(self, record: Record, person: dict[str, Any]) -> None:
        self.persons_api.persons.delete([int(person["id"])])
        record.person_deleted = True
        record.history.append("person deleted in marketo")
        record.edits = {c: {"dynamics": s["dynamics"]} for c, s in record.edits.items() if "dynamics" in s}

    # a round

    def work(self, size: int) -> Round:
        """About `size` changes, on both sides, in random order of kinds."""
        done = Round()
        for _ in range(max(1, size // 10)):
            self.create(self.rng.choice(sorted(WINNER)))
            done.created += 1
        persons = self.persons()
        linked = [r for r in self.live() if not r.person_deleted and r.id.lower() in persons]
        self.rng.shuffle(linked)
        for record in linked[: size // 3]:
            self._edit_in_marketo(record, persons[record.id.lower()])
            done.edited_in_marketo += 1
        for record in self.rng.sample(self.live(), min(len(self.live()), size // 3)):
            self._edit_in_dynamics(record)
            done.edited_in_dynamics += 1
        untouched = [r for r in linked if not r.edits]
        for record in untouched[: max(1, size // 30)]:
            self._delete_in_marketo(record, persons[record.id.lower()])
            done.deleted_in_marketo += 1
        for lead in [r for r in self.live("lead") if r.id.lower() in persons and not r.person_deleted][:1]:
            self._qualify(lead, persons)
            done.qualified += 1
        for record in self.rng.sample(self.live(), min(len(self.live()), max(1, size // 30))):
            self.user.delete(self.tables[record.table], record.id)
            record.deleted = True
            done.deleted_in_dynamics += 1
        return done

    def settle(self) -> None:
        """A cycle of every object ran to its end: the model takes in what the policy says."""
        for record in self.records:
            for column, sides in record.edits.items():
                record.values[column] = sides[WINNER[record.table]] if len(sides) == 2 else next(iter(sides.values()))
            if record.edits:
                record.history.append(f"cycle: {record.values}")
            record.edits = {}

    # checks

    def check(self) -> dict[str, int]:
        """Nothing lost, nothing duplicated, every field as the policy says; what was checked."""
        rows = control(self.marketo, "GET", "data/lead")["rows"]
        counted = Counter(str(p["dynamicsId"]) for p in rows if p.get("dynamicsId"))
        twice = [k for k, n in counted.items() if n > 1]
        assert not twice, f"Dynamics records with two persons: {twice[:5]}"
        persons = {str(p["dynamicsId"]): p for p in rows if p.get("dynamicsId")}
        dynamics = {str(r[f"{t}id"]): r for t in WINNER for r in control(self.dataverse, "GET", f"data/{t}")["rows"]}
        checked = Counter[str]()
        for record in self.records:
            person = persons.get(record.id.lower())
            if record.deleted:
                assert person is None or person.get("dynamicsIsDeleted") is True, f"{record.id}: not flagged deleted"
                checked["deleted"] += 1
                continue
            if record.qualified and record.table == "lead":
                continue  # its contact holds the person now
            if record.person_deleted:
                assert person is None, f"{record.id}: its deleted person came back unasked"
                checked["person deleted"] += 1
                continue
            assert person is not None, f"{record.table} {record.id} has no Marketo person: lost"
            if record.qualified:
                assert int(person["id"]) == record.person, f"contact {record.id} did not take over its lead's person"
                checked["qualified"] += 1
                continue
            row = dynamics[record.id]
            for column, marketo_field in FIELDS.items():
                story = f"{record.table} {record.id} {column}: Dynamics {row.get(column)!r}, Marketo "
                story += f"{person.get(marketo_field)!r}, expected {record.values.get(column)!r}; {record.history}"
                assert person.get(marketo_field) == row.get(column), f"the sides differ: {story}"
                assert row.get(column) == record.values.get(column), f"a change was lost: {story}"
            checked["fields"] += 1
        return dict(checked)
