"""Table Storage: checkpoints, leases, links + fingerprints, sync errors, run history, what the
change routes heard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from azure.core.credentials import TokenCredential

from sync.settings import StorageSettings
from sync.store.bulk_emails import BulkEmailStore
from sync.store.campaign_members import CampaignMemberStore
from sync.store.checkpoints import CheckpointStore
from sync.store.errors import ErrorBackoff, ErrorStore
from sync.store.handover import Handover
from sync.store.intake import IntakeStore
from sync.store.journal import PageJournal
from sync.store.leases import LeaseStore
from sync.store.links import LinkStore
from sync.store.marketo_shares import MarketoShareStore
from sync.store.meta import MetaStore
from sync.store.notices import NoticeStore
from sync.store.previews import PreviewStore
from sync.store.rollups import RollupStore
from sync.store.runs import RunStore
from sync.store.tables import StoreTables, TimedTransport, service_client


class SyncStore:
    """Every store over one set of tables; `open` creates missing tables."""

    def __init__(
        self,
        tables: StoreTables,
        *,
        backoff: ErrorBackoff | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.tables = tables
        self.checkpoints = CheckpointStore(tables, clock)
        self.leases = LeaseStore(tables, clock)
        self.handover = Handover(tables)
        self.links = LinkStore(tables, clock)
        self.errors = ErrorStore(tables, backoff, clock)
        self.runs = RunStore(tables)
        self.notices = NoticeStore(tables, clock)
        self.meta = MetaStore(tables)
        self.marketo_shares = MarketoShareStore(tables, clock)
        self.journal = PageJournal(tables)
        self.bulk_emails = BulkEmailStore(tables)
        self.intake = IntakeStore(tables, clock)
        self.previews = PreviewStore(tables, clock)
        self.campaign_members = CampaignMemberStore(tables, clock)
        self.rollups = RollupStore(tables)

    @classmethod
    def open(
        cls,
        connection: str,
        prefix: str,
        *,
        credential: TokenCredential | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> SyncStore:
        transport = TimedTransport()
        tables = StoreTables(service_client(connection, credential, transport), prefix, transport)
        tables.ensure()
        return cls(tables, clock=clock)

    @classmethod
    def from_settings(cls, settings: StorageSettings) -> SyncStore:
        return cls.open(settings.connection.get_secret_value(), settings.table_prefix)
