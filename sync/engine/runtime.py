"""The engine of one process: connections, store, the validated mapping and each object's
pipelines, made once at start (the Functions worker keeps it; the CLI makes it per command).

Start-up checks what it can before any record moves: the mapping file parses, every mapped
field exists on both sides with compatible types, and the person fields the sync owns exist
in Marketo (created when missing). A problem stops the start with every problem listed.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.dataverse.metadata import TableDefinition
from sync.connectors.marketo.batching import MAX_RECORDS
from sync.connectors.marketo.connection import MarketoConnection
from sync.engine.catalogue import build_pipelines
from sync.engine.engagement_plan import EngagementPlan, resolve_engagement
from sync.engine.org_identity import check_organization
from sync.engine.owned_fields import ensure_owned_fields, id_is_lookup
from sync.engine.page import PageCopier
from sync.engine.person_merge import PersonMerge
from sync.engine.pipelines import Pipeline
from sync.engine.response_rules import ResponseRule, resolve_response_rules
from sync.engine.schemas import read_schemas
from sync.engine.shared_limits import SharedMarketoLimits, join_shared_limits
from sync.engine.streams import StreamReader
from sync.log_redaction import redact_secrets
from sync.mapping.file import load_mapping
from sync.mapping.resolve import ResolvedMapping, resolve
from sync.objects import PERSON_TARGET, SyncObject
from sync.settings import Settings
from sync.store import SyncStore
from sync.store.holders import process_owner
from sync.telemetry import log_usage

USAGE_KEY = "marketo_usage"
log = logging.getLogger(__name__)


def record_usage(store: SyncStore, total: int, budget: int) -> None:
    """Marketo's count of today's calls, kept for the status page (which reads the store only)."""
    store.meta.put(USAGE_KEY, json.dumps({"total": total, "budget": budget, "at": datetime.now(UTC).isoformat()}))
    log_usage(total, budget)


@dataclass
class Engine:
    settings: Settings
    store: SyncStore
    dataverse: DataverseConnection
    marketo: MarketoConnection
    mapping: ResolvedMapping
    tables: dict[str, TableDefinition]
    pipelines: dict[SyncObject, list[Pipeline]]
    merger: PersonMerge
    owner: str = field(default_factory=process_owner)
    shares: SharedMarketoLimits | None = None  # this process's part of Marketo's limits
    response_rules: dict[int, ResponseRule] = field(default_factory=dict)  # program id → its campaign response rule
    engagement: EngagementPlan | None = None  # scores and the timeline (engagement_plan.py)

    @classmethod
    def start(cls, settings: Settings, *, store: SyncStore | None = None, read_only: bool = False) -> Engine:
        """`read_only`: for a preview, which writes nowhere — the person fields the sync owns are
        not created in Marketo, nor the Dataverse organisation recorded in the store."""
        redact_secrets(settings)
        store = store or SyncStore.from_settings(settings.storage)
        # A page fills Marketo's concurrency exactly once (300 records a call, one call a slot):
        # a 5,000-row page was 17 calls, two waves of ten with the second one's slots half idle.
        page_size = MAX_RECORDS * settings.marketo.max_concurrency
        dataverse = DataverseConnection.from_settings(settings.dataverse, page_size=page_size)
        marketo = MarketoConnection.from_settings(settings.marketo)
        shares = join_shared_limits(store.marketo_shares, marketo.client.limiter, settings.marketo.shared_limits)
        owner = shares.owner if shares else f"{process_owner()}:{uuid.uuid4().hex[:6]}"
        try:
            file = load_mapping(settings.sync.mapping_file)
            schemas = read_schemas(dataverse, marketo, file)
            source = str(settings.sync.mapping_file) if settings.sync.mapping_file else "(defaults)"
            rules = resolve_response_rules(file.campaign_responses, marketo, dataverse, source)
            prefix = settings.dataverse.publisher_prefix
            engagement = resolve_engagement(file.engagement, prefix, schemas, dataverse, marketo, bool(rules))
            mapping = resolve(file, schemas, source, engagement.score_rules)
            described = schemas.marketo.get(PERSON_TARGET)
            created = [] if read_only else ensure_owned_fields(marketo.persons, mapping.person_fields, described)
            if created:
                log.info("created the person fields the sync owns in Marketo: %s", ", ".join(created))
                mapping = replace(mapping, id_is_lookup=id_is_lookup(marketo.persons, mapping.person_fields))
            if not read_only:
                check_organization(store, dataverse)
        except BaseException:
            if shares is not None:
                shares.close()
            dataverse.close()
            marketo.close()
            raise
        marketo.client.on_usage = lambda total: record_usage(store, total, settings.marketo.daily_call_budget)
        merger = PersonMerge(marketo.persons, dataverse, mapping.person_fields, dict(schemas.tables))
        pipelines = build_pipelines(mapping, dict(schemas.tables), marketo, merger)
        return cls(
            settings,
            store,
            dataverse,
            marketo,
            mapping,
            dict(schemas.tables),
            pipelines,
            merger,
            owner,
            shares,
            rules,
            engagement,
        )

    def copier(self) -> PageCopier:
        return PageCopier(self.store, StreamReader(self.dataverse))

    def close(self) -> None:
        if self.shares is not None:
            self.shares.close()
        self.dataverse.close()
        self.marketo.close()
