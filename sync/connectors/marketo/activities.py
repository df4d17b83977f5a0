"""Changes since a point in time: lead changes (activity types 12 and 13) and deleted leads (37),
read page by page after a paging token."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sync.connectors.marketo.client import MarketoClient


@dataclass(frozen=True)
class ActivityPage:
    """One page; `next_token` is where to resume (Marketo always returns one), `more` whether to."""

    activities: list[dict[str, Any]]
    next_token: str
    more: bool


class ActivityApi:
    def __init__(self, client: MarketoClient) -> None:
        self.client = client

    def paging_token(self, since: datetime) -> str:
        moment = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        envelope = self.client.call("GET", "/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": moment})
        if not envelope.next_page_token:
            raise ValueError("Marketo returned no paging token")
        return envelope.next_page_token

    def lead_changes(self, token: str, fields: Sequence[str], batch_size: int = 300) -> ActivityPage:
        if not fields:
            raise ValueError("lead changes need at least one field (Marketo requires `fields`)")
        envelope = self.client.call(
            "GET",
            "/rest/v1/activities/leadchanges.json",
            params={"nextPageToken": token, "fields": ",".join(fields), "batchSize": batch_size},
        )
        return ActivityPage(envelope.result, envelope.next_page_token or token, envelope.more_result)

    def deleted_leads(self, token: str, batch_size: int = 300) -> ActivityPage:
        envelope = self.client.call(
            "GET",
            "/rest/v1/activities/deletedleads.json",
            params={"nextPageToken": token, "batchSize": batch_size},
        )
        return ActivityPage(envelope.result, envelope.next_page_token or token, envelope.more_result)

    def iter_lead_changes(self, token: str, fields: Sequence[str]) -> Iterator[ActivityPage]:
        """Pages until Marketo says there are no more; a page may hold fewer than 300 and still have more."""
        while True:
            page = self.lead_changes(token, fields)
            yield page
            if not page.more:
                return
            token = page.next_token

    def iter_deleted_leads(self, token: str) -> Iterator[ActivityPage]:
        while True:
            page = self.deleted_leads(token)
            yield page
            if not page.more:
                return
            token = page.next_token
