from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.objects import SyncObject
from sync.setting_problems import SettingsError
from sync.settings import (
    DEFAULT_SCHEDULE,
    DataverseSettings,
    MarketoSettings,
    load_section,
    load_settings,
    setting_names,
)

ROOT = Path(__file__).resolve().parent.parent
VALID = {
    "DATAVERSE_URL": "https://contoso.crm.dynamics.com/",
    "MARKETO_BASE_URL": "https://123-ABC-456.mktorest.com",
    "MARKETO_CLIENT_ID": "client",
    "MARKETO_CLIENT_SECRET": "marketo-secret-value",
    "SYNC_STORAGE_CONNECTION": (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c3RvcmFnZS1rZXk=;EndpointSuffix=core.windows.net"
    ),
}


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    return raised.value.problems


def test_a_valid_environment_loads_with_documented_defaults() -> None:
    settings = load_settings(VALID)
    assert settings.dataverse.url == "https://contoso.crm.dynamics.com"
    assert settings.dataverse.authority == "https://login.microsoftonline.com"
    assert (settings.marketo.rate_limit_calls, settings.marketo.rate_limit_window_s) == (100, 20.0)
    assert (settings.marketo.max_concurrency, settings.marketo.daily_call_budget) == (10, 40000)
    assert settings.dataverse.call_deadline_s == settings.marketo.call_deadline_s == 240.0
    assert settings.sync.schedules[SyncObject.CONTACT] == DEFAULT_SCHEDULE
    assert settings.dataverse.client_secret is None


def test_every_problem_is_reported_at_once_each_with_its_fix() -> None:
    env = {
        "DATAVERSE_URL": "contoso",
        "MARKETO_RATE_LIMIT_CALLS": "lots",
        "MARKETO_MAX_CONCURRENCY": "25",
        "SYNC_SCHEDULE_LEAD": "*/5 * * * *",
        "SYNC_TABLE_PREFIX": "9bad-prefix",
    }
    problems = _problems(env)
    joined = "\n".join(problems)
    assert "DATAVERSE_URL: 'contoso' is not an absolute URL" in joined
    assert "MARKETO_BASE_URL: is missing. Marketo instance root" in joined
    assert "MARKETO_CLIENT_ID: is missing" in joined
    assert "MARKETO_CLIENT_SECRET: is missing" in joined
    assert "MARKETO_RATE_LIMIT_CALLS: is not a whole number" in joined
    assert "MARKETO_MAX_CONCURRENCY: must be at most 10" in joined
    assert "SYNC_SCHEDULE_LEAD='*/5 * * * *': not a six-field NCRONTAB" in joined
    assert "SYNC_TABLE_PREFIX: '9bad-prefix' is not 1-30 letters" in joined
    assert "SYNC_STORAGE_CONNECTION: is missing (and so is AzureWebJobsStorage)" in joined
    assert len(problems) == 9


def test_an_unresolved_key_vault_reference_is_named_as_such_and_its_text_not_echoed() -> None:
    reference = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/marketo/abc123)"
    problems = _problems({**VALID, "MARKETO_CLIENT_SECRET": reference})
    assert problems[0].startswith("MARKETO_CLIENT_SECRET: is an unresolved Key Vault reference")
    assert "abc123" not in problems[0]


def test_a_client_secret_needs_tenant_and_client_id() -> None:
    problems = _problems({**VALID, "DATAVERSE_CLIENT_SECRET": "dv-secret"})
    assert [p.split(" ")[0] for p in problems] == ["DATAVERSE_TENANT_ID", "DATAVERSE_CLIENT_ID"]
    assert all("dv-secret" not in p for p in problems)


def test_plain_http_is_refused_except_for_local_emulators() -> None:
    problems = _problems({**VALID, "MARKETO_BASE_URL": "http://123-ABC-456.mktorest.com"})
    assert problems == [
        "MARKETO_BASE_URL: must use https:// (plain http is accepted only for local emulators). "
        "Marketo instance root without /rest or /identity, e.g. https://123-ABC-456.mktorest.com."
    ]
    assert (
        load_settings({**VALID, "MARKETO_BASE_URL": "http://127.0.0.1:8080"}).marketo.base_url
        == "http://127.0.0.1:8080"
    )


def test_marketo_url_with_rest_suffix_is_refused_with_the_fix() -> None:
    (problem,) = _problems({**VALID, "MARKETO_BASE_URL": "https://123-ABC-456.mktorest.com/rest"})
    assert "give the instance root, without /rest" in problem


@pytest.mark.parametrize(
    ("fallback", "value", "endpoint"),
    [
        ("AzureWebJobsStorage", "UseDevelopmentStorage=true", "development storage (Azurite, default ports)"),
        (
            "AzureWebJobsStorage__tableServiceUri",
            "https://acct.table.core.windows.net",
            "https://acct.table.core.windows.net",
        ),
        ("AzureWebJobsStorage__accountName", "acct", "https://acct.table.core.windows.net"),
    ],
)
def test_storage_falls_back_to_the_functions_host_storage(fallback: str, value: str, endpoint: str) -> None:
    env = {k: v for k, v in VALID.items() if k != "SYNC_STORAGE_CONNECTION"}
    settings = load_settings({**env, fallback: value})
    assert settings.summary()["storage"]["endpoint"] == endpoint


def test_secrets_never_appear_in_repr_or_the_config_summary() -> None:
    settings = load_settings(
        {
            **VALID,
            "DATAVERSE_CLIENT_SECRET": "dv-secret",
            "DATAVERSE_TENANT_ID": "t",
            "DATAVERSE_CLIENT_ID": "c",
        }
    )
    shown = repr(settings) + json.dumps(settings.summary())
    for secret in ("marketo-secret-value", "dv-secret", "c3RvcmFnZS1rZXk="):
        assert secret not in shown
    assert settings.summary()["storage"]["endpoint"] == "https://acct.table.core.windows.net"


def test_the_sample_settings_file_lists_every_setting_the_code_reads() -> None:
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    assert set(setting_names()) <= set(sample)


def test_the_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    assert [name for name in setting_names() if f"`{name}`" not in readme] == []


def test_without_a_client_secret_dataverse_signs_in_with_the_managed_identity() -> None:
    from azure.identity import ClientSecretCredential, DefaultAzureCredential

    from sync.connectors.dataverse.auth import credential_factory

    managed = credential_factory(
        load_section(DataverseSettings, {**VALID, "DATAVERSE_CLIENT_ID": "user-assigned-id"})
    )()
    assert isinstance(managed, DefaultAzureCredential)
    secret = credential_factory(
        load_section(
            DataverseSettings,
            {
                "DATAVERSE_URL": VALID["DATAVERSE_URL"],
                "DATAVERSE_CLIENT_SECRET": "s",
                "DATAVERSE_TENANT_ID": "t",
                "DATAVERSE_CLIENT_ID": "c",
            },
        )
    )()
    assert isinstance(secret, ClientSecretCredential)


def test_a_connector_section_loads_from_its_own_settings_alone() -> None:
    marketo = load_section(MarketoSettings, {k: v for k, v in VALID.items() if k.startswith("MARKETO_")})
    assert marketo.base_url == "https://123-ABC-456.mktorest.com"
    with pytest.raises(SettingsError) as raised:
        load_section(MarketoSettings, {"MARKETO_BASE_URL": "https://123-ABC-456.mktorest.com"})
    assert [p.split(":")[0] for p in raised.value.problems] == ["MARKETO_CLIENT_ID", "MARKETO_CLIENT_SECRET"]


def test_a_setting_read_by_two_services_is_reported_once() -> None:
    problems = _problems({**VALID, "SYNC_CA_FILE": "/nowhere/ca.pem", "SYNC_CALL_DEADLINE_S": "900"})
    assert problems == [
        "SYNC_CA_FILE: '/nowhere/ca.pem' does not exist or is not a file. Optional PEM file of extra CAs to "
        "trust (local emulators with --https).",
        "SYNC_CALL_DEADLINE_S: must be less than 600. Longest time one Dataverse or Marketo call may take, "
        "retries and waits included, in seconds; below the function timeout (600 s).",
    ]
