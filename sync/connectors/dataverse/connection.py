"""One Dataverse connection per process: credential, transport, concurrency, client and the APIs,
each API object made once (cached_property)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sync.connectors.dataverse.auth import DataverseToken, credential_factory
from sync.connectors.dataverse.changes import ChangeReader, ModifiedOnReader
from sync.connectors.dataverse.client import DataverseClient
from sync.connectors.dataverse.concurrency import AdaptiveConcurrency
from sync.connectors.dataverse.marketing_lists import MarketingLists
from sync.connectors.dataverse.metadata import MetadataReader
from sync.connectors.dataverse.rows import RowReader
from sync.connectors.dataverse.writes import DataverseWriter
from sync.connectors.http.retrying import RetryPolicy
from sync.connectors.transport import HttpTransport
from sync.settings import DataverseSettings


@dataclass
class DataverseConnection:
    client: DataverseClient
    page_size: int = 5000

    @classmethod
    def from_settings(
        cls, settings: DataverseSettings, *, page_size: int = 5000, retry: RetryPolicy | None = None
    ) -> DataverseConnection:
        transport = HttpTransport(settings.ca_file, pool_size=32)
        token = DataverseToken(credential_factory(settings), settings.url)
        client = DataverseClient(
            settings.url, token, transport, AdaptiveConcurrency(), retry=retry, call_deadline_s=settings.call_deadline_s
        )
        return cls(client, page_size)

    @cached_property
    def changes(self) -> ChangeReader:
        return ChangeReader(self.client, self.page_size)

    @cached_property
    def modified_since(self) -> ModifiedOnReader:
        return ModifiedOnReader(self.client, self.page_size)

    @cached_property
    def rows(self) -> RowReader:
        return RowReader(self.client)

    @cached_property
    def writer(self) -> DataverseWriter:
        return DataverseWriter(self.client)

    @cached_property
    def metadata(self) -> MetadataReader:
        return MetadataReader(self.client)

    @cached_property
    def marketing_lists(self) -> MarketingLists:
        return MarketingLists(self.client)

    def close(self) -> None:
        self.client.transport.close()
