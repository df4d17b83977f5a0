"""Making a person for a Dynamics record that no email can find again: a record without an email,
or one whose email other records' persons already hold (it gets its own person, behaviour §4).

Every person carries its record's Dynamics id, so when Marketo takes that field as a lookupField
(its describe lists it as searchable) the person is created `createOrUpdate` by it: a call
repeated after a lost answer finds what the first one made. When Marketo does not take it, the
only create is `createDuplicate`, which a repeat would make twice; so each call of up to 300 is
made at most once, and a call whose answer was lost (a dropped connection, a gateway's 5xx after
the work) is settled by reading what it made: the New Person activities since just before it,
and those persons' Dynamics ids (one paging-token call, a page per 300 activities, a query per
300 persons). Only the records it did not make are created again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sync.connectors.http.failures import OutcomeUnknown
from sync.connectors.marketo.activities import NEW_PERSON, ActivityApi
from sync.connectors.marketo.batching import chunks
from sync.connectors.marketo.envelope import RecordResult
from sync.connectors.marketo.persons import PersonApi
from sync.mapping.file import PersonFields

SETTLE_MARGIN: Final = timedelta(minutes=1)  # read new persons from this long before the lost call


class PersonMaker:
    def __init__(self, persons: PersonApi, activities: ActivityApi, fields: PersonFields, id_is_lookup: bool) -> None:
        self.persons, self.activities, self.fields, self.id_is_lookup = persons, activities, fields, id_is_lookup

    def create(self, records: Sequence[dict[str, Any]]) -> list[RecordResult]:
        """One result per record, in order; each record holds its Dynamics id field."""
        if not records:
            return []
        if self.id_is_lookup:
            return self.persons.upsert(records, action="createOrUpdate", lookup_field=self.fields.id)
        return [result for chunk in chunks(records) for result in self._once(chunk)]

    def _once(self, chunk: Sequence[dict[str, Any]]) -> list[RecordResult]:
        before = self.persons.client.server_now()
        try:
            return self.persons.create_once(chunk)
        except OutcomeUnknown:
            made = self._made_since(before, {str(r[self.fields.id]) for r in chunk})
        left = [r for r in chunk if str(r[self.fields.id]) not in made]
        again = iter(self.persons.create_once(left) if left else [])
        return [
            RecordResult(status="created", id=made[key]) if (key := str(r[self.fields.id])) in made else next(again)
            for r in chunk
        ]

    def _made_since(self, before: datetime, ids: set[str]) -> dict[str, int]:
        """The persons made since `before` carrying these Dynamics ids (the oldest of each)."""
        token = self.activities.paging_token(before - SETTLE_MARGIN)
        new = [a["leadId"] for page in self.activities.read_activities(token, [NEW_PERSON]) for a in page.activities]
        made: dict[str, int] = {}
        for person in self.persons.query("id", [str(i) for i in new], ["id", self.fields.id]) if new else []:
            key = str(person.get(self.fields.id) or "")
            if key in ids:
                made[key] = min(made.get(key, int(person["id"])), int(person["id"]))
        return made
