"""Activities since a point in time (new persons 12, data value changes 13, deletions 37, and any
other type), read page by page after a paging token."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sync.connectors.http.paging import marketo_more_result
from sync.connectors.marketo.client import MarketoClient
from sync.connectors.marketo.envelope import Envelope

PAGE_SIZE: Final = 300
# Activity types (Describe Activity Types): a person made, a field's value changed, a person deleted.
NEW_PERSON: Final = 12
VALUE_CHANGE: Final = 13
DELETION: Final = 37


@dataclass(frozen=True)
class ActivityPage:
    """One page; `next_token` is where to resume (Marketo always returns one), `more` whether to.
    A page may be empty and still have more: each call scans the next 300 activities of every
    type (Adobe KB ka-29362), so reading costs a call per 300 activities of the whole log, whatever
    the types asked for."""

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

    def read_activities(self, token: str, type_ids: Sequence[int]) -> Iterator[ActivityPage]:
        """Activities of up to 10 types in one stream (`activities.json`): one call carries new
        persons, data value changes and deletions together. A data value change names its field
        by id (primaryAttributeValueId; see PersonApi.field_ids) and carries New / Old Value."""
        params = {"activityTypeIds": ",".join(map(str, type_ids)), "batchSize": PAGE_SIZE}
        return self._pages("/rest/v1/activities.json", params, token)

    def _pages(self, path: str, params: dict[str, Any], token: str) -> Iterator[ActivityPage]:
        for envelope in self.client.read_pages(path, params, next_cursor=marketo_more_result, token=token):
            yield ActivityPage.of(envelope, token)
            token = envelope.next_page_token or token
