"""Settings from environment variables (what Azure Functions app settings become): one model per
service (`DataverseSettings`, `MarketoSettings`, `StorageSettings`, `SyncSettings`), all four in
`Settings`, so a connector and its tests take only what they use. Validated once at start: a bad
setting stops start-up with one message listing every problem and its fix. Secrets are
`SecretStr`: never in a message, a log or `repr`. How a problem is told: `setting_problems.py`."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from sync.objects import FULL_COPY_ORDER, SyncObject
from sync.setting_problems import SettingsError, describe
from sync.storage_endpoint import storage_endpoint

DEFAULT_SCHEDULE: Final = "0 */1 * * * *"
# engagement's own stream: each run ends on a part-filled page, so fewer runs cost fewer calls
ENGAGEMENT_SCHEDULE: Final = "0 */30 * * * *"
FUNCTION_TIMEOUT_S: Final = 600  # host.json functionTimeout
KEY_VAULT_PREFIX: Final = "@Microsoft.KeyVault("
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_TABLE_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,29}$")
_HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")
_QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,55}[a-z0-9]$")  # 57: room for "-poison" in 63


def schedule_setting(obj: SyncObject) -> str:
    return f"SYNC_SCHEDULE_{obj.value.upper()}"


def _url(value: str, *, https_only: bool) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute URL")
    if parts.scheme == "http" and (https_only or parts.hostname not in LOOPBACK_HOSTS):
        raise ValueError("must use https:// (plain http is accepted only for local emulators)")
    return value.strip().rstrip("/")


class _Section(BaseModel):
    """Reads its own names from the whole environment and ignores the rest."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_unresolved_key_vault_reference(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().startswith(KEY_VAULT_PREFIX):
            raise ValueError(
                "is an unresolved Key Vault reference (it arrived literally as @Microsoft.KeyVault(...)). "
                "Give the Function app's identity the 'Key Vault Secrets User' role on the vault and "
                "check the SecretUri; the app settings blade shows the reference's status"
            )
        return value


class _Connector(_Section):
    """What both connectors read: the trusted CAs and how long one call may take."""

    ca_file: Path | None = Field(
        None,
        alias="SYNC_CA_FILE",
        description="Optional PEM file of extra CAs to trust (local emulators with --https).",
    )
    call_deadline_s: float = Field(
        240.0,
        gt=0,
        lt=FUNCTION_TIMEOUT_S,
        alias="SYNC_CALL_DEADLINE_S",
        description="Longest time one Dataverse or Marketo call may take, retries and waits included, "
        f"in seconds; below the function timeout ({FUNCTION_TIMEOUT_S} s).",
    )

    @field_validator("ca_file")
    @classmethod
    def _ca_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{str(value)!r} does not exist or is not a file")
        return value


class DataverseSettings(_Connector):
    url: str = Field(
        alias="DATAVERSE_URL",
        description="The Dataverse org URL, e.g. https://contoso.crm.dynamics.com.",
    )
    tenant_id: str | None = Field(
        None, alias="DATAVERSE_TENANT_ID", description="Entra ID tenant (GUID or domain) of the org."
    )
    client_id: str | None = Field(
        None,
        alias="DATAVERSE_CLIENT_ID",
        description="App registration (client) id of the Dataverse application user; with a "
        "user-assigned managed identity, that identity's client id.",
    )
    client_secret: SecretStr | None = Field(
        None,
        alias="DATAVERSE_CLIENT_SECRET",
        description="Client secret of the app registration; leave unset to use the managed identity.",
    )
    authority: str = Field(
        "https://login.microsoftonline.com",
        alias="DATAVERSE_AUTHORITY",
        description="Entra ID authority host (https).",
    )
    publisher_prefix: str = Field(
        "mkto",
        pattern=r"^[a-z][a-z0-9]{1,7}$",
        alias="DATAVERSE_PUBLISHER_PREFIX",
        description="Customization prefix of the solution's publisher (2-8 lowercase letters and digits): "
        "`setup` names the engagement columns and the Marketo activity table with it.",
    )
    solution: str | None = Field(
        None, alias="DATAVERSE_SOLUTION", description="Unique name of the solution `setup` adds its columns to."
    )

    @field_validator("url")
    @classmethod
    def _org_url(cls, value: str) -> str:
        return _url(value, https_only=False)

    @field_validator("authority")
    @classmethod
    def _authority(cls, value: str) -> str:
        return _url(value, https_only=True)


class MarketoSettings(_Connector):
    base_url: str = Field(
        alias="MARKETO_BASE_URL",
        description="Marketo instance root without /rest or /identity, e.g. https://123-ABC-456.mktorest.com.",
    )
    client_id: str = Field(
        alias="MARKETO_CLIENT_ID", description="Client id of the Marketo LaunchPoint custom service."
    )
    client_secret: SecretStr = Field(
        alias="MARKETO_CLIENT_SECRET", description="Client secret of the Marketo LaunchPoint custom service."
    )
    rate_limit_calls: int = Field(
        100, gt=0, alias="MARKETO_RATE_LIMIT_CALLS", description="Marketo calls allowed per window."
    )
    rate_limit_window_s: float = Field(
        20.0, gt=0, alias="MARKETO_RATE_LIMIT_WINDOW_S", description="Length of the rate window, seconds."
    )
    max_concurrency: int = Field(
        10, gt=0, le=10, alias="MARKETO_MAX_CONCURRENCY", description="Concurrent Marketo calls (1-10)."
    )
    daily_call_budget: int = Field(
        40000,
        gt=0,
        alias="MARKETO_DAILY_CALL_BUDGET",
        description="Marketo calls per day this sync may use (default 80% of 50,000).",
    )
    engagement_daily_calls: int | None = Field(
        None,
        gt=0,
        alias="SYNC_ENGAGEMENT_DAILY_CALLS",
        description="Of the daily budget, the calls engagement's own stream may use (default a tenth).",
    )
    shared_limits: bool = Field(
        True,
        alias="MARKETO_SHARED_LIMITS",
        description="Share the rate, concurrency and daily limits among all processes through Table "
        "Storage (they are per subscription); false only when one process calls Marketo.",
    )

    @field_validator("base_url")
    @classmethod
    def _instance_root(cls, value: str) -> str:
        url = _url(value, https_only=False)
        if urlsplit(url).path.rstrip("/") in ("/rest", "/identity", "/bulk"):
            raise ValueError("give the instance root, without /rest, /identity or /bulk")
        return url

    @property
    def engagement_budget(self) -> int:
        """Engagement's own stream's calls a day: never more than the sync's whole budget."""
        return min(self.engagement_daily_calls or self.daily_call_budget // 10, self.daily_call_budget)


class StorageSettings(_Section):
    connection: SecretStr = Field(
        alias="SYNC_STORAGE_CONNECTION",
        description="Table Storage for checkpoints, links and errors: a connection string, or a "
        "table endpoint URL (https://<account>.table.core.windows.net) used with the managed "
        "identity. Falls back to AzureWebJobsStorage.",
    )
    table_prefix: str = Field(
        "sync",
        alias="SYNC_TABLE_PREFIX",
        description="Prefix of the sync's table names (letters and digits, starts with a letter).",
    )

    @field_validator("table_prefix")
    @classmethod
    def _table_prefix(cls, value: str) -> str:
        if not _TABLE_PREFIX.match(value):
            raise ValueError(f"{value!r} is not 1-30 letters and digits starting with a letter")
        return value

    @property
    def endpoint(self) -> str:
        return storage_endpoint(self.connection.get_secret_value())


class SyncSettings(_Section):
    mapping_file: Path | None = Field(
        None, alias="SYNC_MAPPING_FILE", description="Optional field-mapping file (JSON or YAML)."
    )
    run_budget_s: float = Field(
        240.0,
        gt=0,
        lt=FUNCTION_TIMEOUT_S,
        alias="SYNC_RUN_BUDGET_S",
        description="How long one incremental run (or one full-copy step) may keep starting new pages, in "
        f"seconds; the page under way still finishes. Below the function timeout ({FUNCTION_TIMEOUT_S} s).",
    )
    bulk_threshold: int = Field(
        250_000,
        ge=0,
        alias="SYNC_BULK_THRESHOLD",
        description="Rows of a contact or lead table from which its first copy goes through Marketo's bulk "
        "import instead of REST pushes (0: never).",
    )
    bulk_poll_s: float = Field(30.0, gt=0, alias="SYNC_BULK_POLL_S", description="Seconds between bulk job checks.")
    webhook_secret: SecretStr | None = Field(
        None,
        alias="SYNC_WEBHOOK_SECRET",
        description="Shared secret Marketo webhooks send in the X-Sync-Secret header (at least 32 characters); "
        "unset: the webhooks answer 503.",
    )
    dataverse_webhook_key: SecretStr | None = Field(
        None,
        alias="SYNC_DATAVERSE_WEBHOOK_KEY",
        description="Key Dataverse's webhook sends in the x-sync-key header (at least 32 characters; "
        "`setup-webhooks` registers it); unset: the Dataverse change route answers 503.",
    )
    change_queue: str = Field(
        "sync-changes",
        alias="SYNC_CHANGE_QUEUE",
        description="Storage queue the change routes fill and the queue trigger drains (3-57 lowercase "
        "letters, digits and single hyphens; its poison queue is <name>-poison).",
    )
    durable_hub: str = Field(
        "DynamicsMarketoSync",
        alias="SYNC_DURABLE_HUB",
        description="Durable Functions task hub name (host.json reads it): 3-45 letters and digits, starting "
        "with a letter; give each deployment sharing a storage account its own.",
    )
    schedules: dict[SyncObject, str] = Field(
        default_factory=lambda: {
            **dict.fromkeys(FULL_COPY_ORDER, DEFAULT_SCHEDULE),
            SyncObject.ENGAGEMENT: ENGAGEMENT_SCHEDULE,
        },
        description="Six-field NCRONTAB per object, UTC, from SYNC_SCHEDULE_<OBJECT>.",
    )

    @field_validator("mapping_file")
    @classmethod
    def _mapping_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{str(value)!r} does not exist or is not a file")
        return value

    @field_validator("webhook_secret", "dataverse_webhook_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("is shorter than 32 characters; use a long random value")
        return value

    @field_validator("change_queue")
    @classmethod
    def _queue_name(cls, value: str) -> str:
        if not _QUEUE_NAME.match(value) or "--" in value:
            raise ValueError(f"{value!r} is not 3-57 lowercase letters, digits and single hyphens")
        return value

    @field_validator("durable_hub")
    @classmethod
    def _hub_name(cls, value: str) -> str:
        if not _HUB_NAME.match(value):
            raise ValueError(f"{value!r} is not 3-45 letters and digits starting with a letter")
        return value

    @field_validator("schedules")
    @classmethod
    def _ncrontab(cls, value: dict[SyncObject, str]) -> dict[SyncObject, str]:
        bad = [
            f"{schedule_setting(o)}={e!r}"
            for o, e in value.items()
            if len(e.split()) != 6 or not croniter.is_valid(e, second_at_beginning=True)
        ]
        if bad:
            raise ValueError(
                f"{', '.join(bad)}: not a six-field NCRONTAB "
                "'{second} {minute} {hour} {day} {month} {day-of-week}', e.g. '0 */1 * * * *' (UTC)"
            )
        return value


class Settings(BaseModel):
    """Every setting the code reads, by service."""

    model_config = ConfigDict(frozen=True)

    dataverse: DataverseSettings
    marketo: MarketoSettings
    storage: StorageSettings
    sync: SyncSettings

    def summary(self) -> dict[str, Any]:
        """What `check-config` shows: every setting, secrets masked, storage reduced to its endpoint."""
        shown = self.model_dump(mode="json", exclude={"storage": {"connection"}})
        shown["storage"]["endpoint"] = self.storage.endpoint
        return shown


SECTIONS: Final[dict[str, type[_Section]]] = {
    "dataverse": DataverseSettings,
    "marketo": MarketoSettings,
    "storage": StorageSettings,
    "sync": SyncSettings,
}


def _environment_view(environ: Mapping[str, str]) -> dict[str, Any]:
    """The raw values the models read, with the storage fall-backs the Functions host uses."""
    view: dict[str, Any] = {k: v for k, v in environ.items() if v != ""}
    if "SYNC_STORAGE_CONNECTION" not in view:
        for fallback in ("AzureWebJobsStorage", "AzureWebJobsStorage__tableServiceUri"):
            if fallback in view:
                view["SYNC_STORAGE_CONNECTION"] = view[fallback]
                break
        else:
            if "AzureWebJobsStorage__accountName" in view:
                account = view["AzureWebJobsStorage__accountName"]
                view["SYNC_STORAGE_CONNECTION"] = f"https://{account}.table.core.windows.net"
    view["schedules"] = {obj: view.get(schedule_setting(obj), DEFAULT_SCHEDULE) for obj in FULL_COPY_ORDER}
    return view


_FIELD_BY_ALIAS: Final = {f.alias: f for section in SECTIONS.values() for f in section.model_fields.values() if f.alias}


def _cross_field_problems(view: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if "DATAVERSE_CLIENT_SECRET" in view:
        for needed in ("DATAVERSE_TENANT_ID", "DATAVERSE_CLIENT_ID"):
            if needed not in view:
                problems.append(
                    f"{needed} is missing: it is required when DATAVERSE_CLIENT_SECRET is set "
                    "(client-credentials sign-in). Unset the secret to use the managed identity instead."
                )
    return problems


M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], payload: Mapping[str, Any], view: Mapping[str, Any]) -> M:
    problems: list[str] = []
    validated: M | None = None
    try:
        validated = model.model_validate(payload)
    except ValidationError as exc:
        problems.extend(describe(err, _FIELD_BY_ALIAS) for err in exc.errors(include_url=False, include_input=False))
    if model in (Settings, DataverseSettings):
        problems.extend(_cross_field_problems(view))
    if problems or validated is None:
        raise SettingsError(list(dict.fromkeys(problems)))  # shared settings are read by two sections
    return validated


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Validate the whole configuration at once; raise `SettingsError` listing every problem."""
    view = _environment_view(os.environ if environ is None else environ)
    return _validate(Settings, dict.fromkeys(SECTIONS, view), view)


S = TypeVar("S", bound=_Section)


def load_section(section: type[S], environ: Mapping[str, str] | None = None) -> S:
    """One service's settings alone (a connector in a test or a tool needs no others)."""
    view = _environment_view(os.environ if environ is None else environ)
    return _validate(section, view, view)


def setting_names() -> list[str]:
    """Every environment variable the code reads, for the sample settings file and the README."""
    return list(_FIELD_BY_ALIAS) + [schedule_setting(obj) for obj in FULL_COPY_ORDER]
