"""The campaign members the sync added (Marketo's Add to Campaign): only those may its Remove take
out, so a member added in Dynamics stays whatever Marketo does. PartitionKey = the campaign id,
RowKey = "<lead|contact>~<record id>": a campaign's members are one partition query.

Crash order: the row is written *pending* (no member id) before the member is added, and gets
the member id after. A crash between leaves a pending row: the retry adopts the member it finds
in the list (the sync's own, since the row was written only when the record was not a member),
or adds it. Without the pending row a member added just before a crash could not be told from
one a user added, and would stay forever.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from sync.store.keys import escape_key
from sync.store.tables import StoreTables, Table


@dataclass(frozen=True)
class CampaignMember:
    campaign_id: str
    table: str  # lead or contact
    record_id: str
    list_id: str
    member_id: str | None  # None: pending (being added)
    person_id: int
    added_at: datetime


class CampaignMemberStore:
    def __init__(self, tables: StoreTables, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._tables = tables
        self._table = tables.client(Table.CAMPAIGN_MEMBERS)
        self._clock = clock

    @staticmethod
    def _keys(campaign_id: str, table: str, record_id: str) -> tuple[str, str]:
        return escape_key(campaign_id.lower()), escape_key(f"{table}~{record_id.lower()}")

    def get(self, campaign_id: str, table: str, record_id: str) -> CampaignMember | None:
        partition, row = self._keys(campaign_id, table, record_id)
        try:
            entity = self._table.get_entity(partition, row)
        except ResourceNotFoundError:
            return None
        return CampaignMember(
            campaign_id.lower(),
            table,
            record_id.lower(),
            str(entity["list_id"]),
            str(entity["member_id"]) if entity.get("member_id") else None,
            int(entity["person_id"]),
            entity["added_at"],
        )

    def put(self, member: CampaignMember) -> None:
        partition, row = self._keys(member.campaign_id, member.table, member.record_id)
        entity = {
            "PartitionKey": partition,
            "RowKey": row,
            "list_id": member.list_id,
            "member_id": member.member_id or "",
            "person_id": member.person_id,
            "added_at": member.added_at,
        }
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        self._tables.wrote(Table.CAMPAIGN_MEMBERS)

    def delete(self, campaign_id: str, table: str, record_id: str) -> None:
        partition, row = self._keys(campaign_id, table, record_id)
        with contextlib.suppress(ResourceNotFoundError):
            self._table.delete_entity(partition, row)
            self._tables.wrote(Table.CAMPAIGN_MEMBERS)

    def now(self) -> datetime:
        return self._clock()
