"""One Marketo connection per process: transport, token, limiter and client shared by every API,
each API object made once (cached_property)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sync.connectors.marketo.activities import ActivityApi
from sync.connectors.marketo.auth import MarketoToken
from sync.connectors.marketo.bulk import BulkPersonApi
from sync.connectors.marketo.client import MarketoClient
from sync.connectors.marketo.lead_database import LeadDatabaseApi
from sync.connectors.marketo.limiter import MarketoLimiter
from sync.connectors.marketo.persons import PersonApi
from sync.connectors.transport import HttpTransport
from sync.settings import Settings


@dataclass
class MarketoConnection:
    client: MarketoClient

    @classmethod
    def from_settings(cls, settings: Settings, **client_options: Any) -> MarketoConnection:
        transport = HttpTransport(settings.sync_ca_file, pool_size=settings.marketo_max_concurrency + 2)
        token = MarketoToken(
            transport, settings.marketo_base_url, settings.marketo_client_id, settings.marketo_client_secret
        )
        limiter = MarketoLimiter(
            settings.marketo_rate_limit_calls,
            settings.marketo_rate_limit_window_s,
            settings.marketo_max_concurrency,
            settings.marketo_daily_call_budget,
        )
        return cls(MarketoClient(settings.marketo_base_url, token, limiter, transport, **client_options))

    @cached_property
    def persons(self) -> PersonApi:
        return PersonApi(self.client)

    @cached_property
    def activities(self) -> ActivityApi:
        return ActivityApi(self.client)

    @cached_property
    def companies(self) -> LeadDatabaseApi:
        return LeadDatabaseApi(self.client, "companies")

    @cached_property
    def opportunities(self) -> LeadDatabaseApi:
        return LeadDatabaseApi(self.client, "opportunities")

    @cached_property
    def opportunity_roles(self) -> LeadDatabaseApi:
        return LeadDatabaseApi(self.client, "opportunities/roles")

    @cached_property
    def sales_persons(self) -> LeadDatabaseApi:
        return LeadDatabaseApi(self.client, "salespersons")

    def bulk_persons(self, poll_s: float = 5.0) -> BulkPersonApi:
        return BulkPersonApi(self.client, poll_s)

    def custom_object(self, name: str) -> LeadDatabaseApi:
        return LeadDatabaseApi(self.client, f"customobjects/{name}")

    def close(self) -> None:
        self.client.transport.close()
