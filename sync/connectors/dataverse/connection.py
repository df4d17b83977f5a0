"""One Dataverse connection per process: credential, transport, concurrency, client and the APIs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sync.connectors.dataverse.auth import DataverseToken, credential_factory
from sync.connectors.dataverse.changes import ChangeReader, ModifiedOnReader
from sync.connectors.dataverse.client import DataverseClient
from sync.connectors.dataverse.concurrency import AdaptiveConcurrency
from sync.connectors.dataverse.metadata import MetadataReader
from sync.connectors.dataverse.qualification import QualificationReader
from sync.connectors.dataverse.writes import DataverseWriter
from sync.connectors.transport import HttpTransport
from sync.settings import Settings


@dataclass
class DataverseConnection:
    client: DataverseClient
    page_size: int = 5000

    @classmethod
    def from_settings(cls, settings: Settings, *, page_size: int = 5000, **client_options: Any) -> DataverseConnection:
        transport = HttpTransport(settings.sync_ca_file, pool_size=32)
        token = DataverseToken(credential_factory(settings), settings.dataverse_url)
        return cls(
            DataverseClient(settings.dataverse_url, token, transport, AdaptiveConcurrency(), **client_options),
            page_size,
        )

    @cached_property
    def changes(self) -> ChangeReader:
        return ChangeReader(self.client, self.page_size)

    @cached_property
    def modified_since(self) -> ModifiedOnReader:
        return ModifiedOnReader(self.client, self.page_size)

    @cached_property
    def writer(self) -> DataverseWriter:
        return DataverseWriter(self.client)

    @cached_property
    def qualification(self) -> QualificationReader:
        return QualificationReader(self.client)

    @cached_property
    def metadata(self) -> MetadataReader:
        return MetadataReader(self.client)

    def close(self) -> None:
        self.client.transport.close()
