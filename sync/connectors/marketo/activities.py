"""Changes since a point in time: lead changes (activity types 12 new lead and 13 data value
change) and deleted leads (37), read page by page after a paging token."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sync.connectors.http.paging import marketo_more_result
from sync.connectors.marketo.client import MarketoClient
from sync.connectors.marketo.envelope import Envelope

PAGE_SIZE: Final = 300


@dataclass(frozen=True)
class ActivityPage:
    """One page; `next_token` is where to resume (Marketo always returns one), `more` whether to.
    A page may be empty and still have more: each call scans a fixed slice of the activity log."""

    activities: list[dict[str, Any]]
    next_token: str
    more: bool

    @classmethod
    def of(cls, envelope: Envelope, token: str) -> ActivityPage:
        return cls(envelope.result, envelope.next_page_token or token, envelope.more_result)


class ActivityApi:
    def __init__(self, client: MarketoClient) -> None:
        self.client = client

    def paging_token(self, since: datetime) -> str:
        moment = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        envelope = self.client.read("/rest/v1/activities/pagingtoken.json", {"sinceDatetime": moment})
        if not envelope.next_page_token:
            raise ValueError("Marketo returned no paging token")
        return envelope.next_page_token

    def read_changes(self, token: str, fields: Sequence[str]) -> Iterator[ActivityPage]:
        """Lead changes after `token`, only the `fields` asked for, until Marketo has no more."""
        if not fields:
            raise ValueError("lead changes need at least one field (Marketo requires `fields`)")
        params = {"fields": ",".join(fields), "batchSize": PAGE_SIZE}
        return self._pages("/rest/v1/activities/leadchanges.json", params, token)

    def read_activities(self, token: str, type_ids: Sequence[int]) -> Iterator[ActivityPage]:
        """Activities of up to 10 types in one stream (`activities.json`): one call carries new
        persons, data value changes and deletions together. A data value change names its field
        by id (primaryAttributeValueId; see PersonApi.field_ids) and carries New / Old Value."""
        params = {"activityTypeIds": ",".join(map(str, type_ids)), "batchSize": PAGE_SIZE}
        return self._pages("/rest/v1/activities.json", params, token)

    def read_deletes(self, token: str) -> Iterator[ActivityPage]:
        """Persons deleted after `token` (Marketo keeps these 14 days)."""
        return self._pages("/rest/v1/activities/deletedleads.json", {"batchSize": PAGE_SIZE}, token)

    def _pages(self, path: str, params: dict[str, Any], token: str) -> Iterator[ActivityPage]:
        for envelope in self.client.read_pages(path, params, next_cursor=marketo_more_result, token=token):
            yield ActivityPage.of(envelope, token)
            token = envelope.next_page_token or token
