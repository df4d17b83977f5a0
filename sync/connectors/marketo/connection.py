"""One Marketo connection per process: transport, token, limiter and client shared by every API,
each API object made once (cached_property)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sync.connectors.http.retrying import RetryPolicy
from sync.connectors.marketo.activities import ActivityApi
from sync.connectors.marketo.auth import MarketoToken
from sync.connectors.marketo.bulk import BulkActivityApi, BulkPersonApi
from sync.connectors.marketo.client import MarketoClient
from sync.connectors.marketo.lead_database import STANDARD_OBJECTS, LeadDatabaseApi
from sync.connectors.marketo.limiter import MarketoLimiter
from sync.connectors.marketo.persons import PersonApi
from sync.connectors.marketo.programs import ProgramApi
from sync.connectors.transport import HttpTransport
from sync.settings import MarketoSettings


@dataclass
class MarketoConnection:
    client: MarketoClient

    @classmethod
    def from_settings(
        cls, settings: MarketoSettings, *, retry: RetryPolicy | None = None, usage_refresh_s: float = 300.0
    ) -> MarketoConnection:
        transport = HttpTransport(settings.ca_file, pool_size=settings.max_concurrency + 2)
        token = MarketoToken(transport, settings.base_url, settings.client_id, settings.client_secret)
        limiter = MarketoLimiter(
            settings.rate_limit_calls,
            settings.rate_limit_window_s,
            settings.max_concurrency,
            settings.daily_call_budget,
        )
        client = MarketoClient(
            settings.base_url,
            token,
            limiter,
            transport,
            retry=retry,
            call_deadline_s=settings.call_deadline_s,
            usage_refresh_s=usage_refresh_s,
        )
        return cls(client)

    @cached_property
    def persons(self) -> PersonApi:
        return PersonApi(self.client)

    @cached_property
    def activities(self) -> ActivityApi:
        return ActivityApi(self.client)

    @cached_property
    def programs(self) -> ProgramApi:
        return ProgramApi(self.client)

    @cached_property
    def bulk_persons(self) -> BulkPersonApi:
        return BulkPersonApi(self.client)

    @cached_property
    def bulk_activities(self) -> BulkActivityApi:
        return BulkActivityApi(self.client)

    def lead_database(self, name: str) -> LeadDatabaseApi:
        """A standard Lead Database object by its singular name (company, opportunity,
        opportunityrole, salesperson)."""
        if name not in STANDARD_OBJECTS:
            raise KeyError(f"Marketo has no standard object {name!r}; known: {', '.join(STANDARD_OBJECTS)}")
        path, label = STANDARD_OBJECTS[name]
        return LeadDatabaseApi(self.client, path, label)

    def custom_object(self, name: str) -> LeadDatabaseApi:
        return LeadDatabaseApi(self.client, f"customobjects/{name}", f"custom object {name}")

    def close(self) -> None:
        self.client.transport.close()
