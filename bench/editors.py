"""People changing records during the incremental benchmark: salespeople in Dynamics (Web API)
and marketers in Marketo (REST), on their own connections so the sync's call counts stay its
own; and the check that each change arrived on the other side (read from the emulators' data,
which costs the sync nothing)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.marketo.connection import MarketoConnection
from sync.settings import Settings


@dataclass(frozen=True)
class Change:
    key: tuple[str, str]  # (table, Dynamics id)
    side: str  # where it was made: "dynamics" or "marketo"
    value: str
    at: float  # epoch seconds when the write was done


class Editors:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dynamics = DataverseConnection.from_settings(settings.dataverse)
        self.marketo = MarketoConnection.from_settings(settings.marketo)
        self.tables = {t: self.dynamics.metadata.describe(t) for t in ("contact", "lead")}
        persons = self._data(settings.marketo.base_url, "lead")
        self.people = sorted(
            (str(p["dynamicsEntityType"]), str(p["dynamicsId"]), int(p["id"]))
            for p in persons
            if p.get("dynamicsId") and p.get("dynamicsEntityType") in self.tables
        )

    def _data(self, base: str, name: str) -> list[dict[str, Any]]:
        ca = self.settings.marketo.ca_file
        answer = requests.get(f"{base}/_emulator/data/{name}", verify=str(ca) if ca else True, timeout=120)
        answer.raise_for_status()
        return list(answer.json()["rows"])

    def change(self, fraction: float, cycle: int) -> list[Change]:
        count = max(2, int(len(self.people) * fraction))
        start = (cycle * count) % len(self.people)
        chosen = [self.people[(start + i) % len(self.people)] for i in range(count)]
        changes: list[Change] = []
        in_dynamics, in_marketo = chosen[::2], chosen[1::2]
        for table in self.tables:
            updates = [(dyn_id, {"jobtitle": f"D{cycle}-{dyn_id[:8]}"}) for t, dyn_id, _ in in_dynamics if t == table]
            if updates:
                self.dynamics.writer.update_many(self.tables[table], updates)
                done = time.time()
                changes += [Change((table, i), "dynamics", v["jobtitle"], done) for i, v in updates]
        edits = [{"id": person, "title": f"M{cycle}-{dyn_id[:8]}"} for _, dyn_id, person in in_marketo]
        self.marketo.persons.upsert(edits, action="updateOnly", lookup_field="id")
        done = time.time()
        changes += [Change((t, d), "marketo", f"M{cycle}-{d[:8]}", done) for t, d, _ in in_marketo]
        return changes

    def not_arrived(self, changes: list[Change]) -> set[tuple[str, str]]:
        """The changes the other side does not show yet."""
        persons = {str(p.get("dynamicsId")): p for p in self._data(self.settings.marketo.base_url, "lead")}
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for table in self.tables:
            for row in self._data(self.settings.dataverse.url, table):
                rows[(table, str(row[f"{table}id"]).lower())] = row
        missing = set()
        for change in changes:
            table, dyn_id = change.key
            if change.side == "dynamics":
                shown = persons.get(dyn_id.lower(), {}).get("title")
            else:
                shown = rows.get((table, dyn_id.lower()), {}).get("jobtitle")
            if shown != change.value:
                missing.add(change.key)
        return missing

    def close(self) -> None:
        self.dynamics.close()
        self.marketo.close()
