from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest

from sync.objects import Direction, SyncObject
from sync.settings import SettingsError
from sync.store import SyncStore
from tests.functions_app import import_function_app, index_functions

BASE_ENV = {
    "DATAVERSE_URL": "https://contoso.crm.dynamics.com",
    "MARKETO_BASE_URL": "https://123-ABC-456.mktorest.com",
    "MARKETO_CLIENT_ID": "client",
    "MARKETO_CLIENT_SECRET": "secret-value",
}


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, storage_connection: str, table_prefix: str) -> Iterator[SyncStore]:
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SYNC_STORAGE_CONNECTION", storage_connection)
    monkeypatch.setenv("SYNC_TABLE_PREFIX", table_prefix)
    store = SyncStore.open(storage_connection, table_prefix)
    yield store
    store.tables.drop_all()


def _call(fn: func.Function, method: str, route: str, params: dict[str, str] | None = None) -> func.HttpResponse:
    req = func.HttpRequest(method=method, url=f"http://localhost/api/{route}", body=b"", params=params or {})
    response = fn.get_user_function()(req)
    assert isinstance(response, func.HttpResponse)
    return response


def _binding(fn: func.Function, binding_type: str) -> dict[str, Any]:
    bindings = json.loads(fn.get_function_json())["bindings"]
    return next(b for b in bindings if b["type"] == binding_type)


def test_the_worker_indexes_the_admin_endpoints_behind_a_function_key(app_env: SyncStore) -> None:
    functions = index_functions(import_function_app())
    assert {"sync_status", "sync_errors", "sync_errors_retry"} <= set(functions)
    expected = {
        "sync_status": ("sync/status", ["GET"]),
        "sync_errors": ("sync/errors", ["GET"]),
        "sync_errors_retry": ("sync/errors/retry", ["POST"]),
    }
    for name, (route, methods) in expected.items():
        trigger = _binding(functions[name], "httpTrigger")
        assert trigger["route"] == route
        assert [m.upper() for m in trigger["methods"]] == methods
        assert trigger["authLevel"].upper() == "FUNCTION"


def test_a_bad_configuration_stops_indexing_with_every_problem_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [*BASE_ENV, "SYNC_STORAGE_CONNECTION", "AzureWebJobsStorage"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(
        "MARKETO_CLIENT_SECRET", "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/mkto)"
    )
    with pytest.raises(SettingsError) as raised:
        import_function_app()
    message = str(raised.value)
    for name in ("DATAVERSE_URL", "MARKETO_BASE_URL", "MARKETO_CLIENT_ID", "SYNC_STORAGE_CONNECTION"):
        assert f"{name}: is missing" in message
    assert "MARKETO_CLIENT_SECRET: is an unresolved Key Vault reference" in message


def test_status_endpoint_reports_every_object_with_its_runs_and_errors(app_env: SyncStore) -> None:
    app_env.errors.record_failure(
        SyncObject.CONTACT, Direction.DYNAMICS_TO_MARKETO, "g1", operation="push", code="1003", message="bad email"
    )
    functions = index_functions(import_function_app())
    response = _call(functions["sync_status"], "GET", "sync/status")
    body = json.loads(response.get_body())
    by_object = {o["object"]: o for o in body["objects"]}
    assert list(by_object) == [
        "systemuser",
        "team",
        "account",
        "person",
        "lead",
        "contact",
        "opportunity",
        "opportunityrole",
        "custom",
    ]
    assert by_object["contact"]["errors"] == {"waiting_retry": 1, "parked": 0}
    assert [d["direction"] for d in by_object["lead"]["directions"]] == ["dynamics_to_marketo"]
    assert [d["direction"] for d in by_object["person"]["directions"]] == ["marketo_to_dynamics"]
    assert by_object["account"]["directions"][0]["phase"] == "not_started"
    assert "secret-value" not in response.get_body().decode()


def test_errors_endpoint_exports_csv_and_refuses_unknown_objects(app_env: SyncStore) -> None:
    app_env.errors.record_failure(
        SyncObject.LEAD,
        Direction.MARKETO_TO_DYNAMICS,
        "77",
        operation="update",
        code="0x80040217",
        message="does not exist",
        marketo_id="77",
    )
    functions = index_functions(import_function_app())
    csv_response = _call(functions["sync_errors"], "GET", "sync/errors", {"format": "csv", "object": "lead"})
    rows = list(csv.DictReader(io.StringIO(csv_response.get_body().decode())))
    assert [(r["record_id"], r["code"], r["direction"]) for r in rows] == [("77", "0x80040217", "marketo_to_dynamics")]

    bad = _call(functions["sync_errors"], "GET", "sync/errors", {"object": "persons"})
    assert bad.status_code == 400
    assert "unknown object 'persons'; use one of: systemuser" in json.loads(bad.get_body())["error"]


def test_retry_endpoint_makes_parked_errors_due_again(app_env: SyncStore) -> None:
    for _ in range(app_env.errors.backoff.park_after):
        app_env.errors.record_failure(
            SyncObject.CONTACT, Direction.DYNAMICS_TO_MARKETO, "g1", operation="push", code="1003", message="bad email"
        )
    functions = index_functions(import_function_app())
    response = _call(functions["sync_errors_retry"], "POST", "sync/errors/retry", {"object": "contact"})
    assert json.loads(response.get_body())["retry_requested"] == 1
    assert [e.record_id for e in app_env.errors.due(SyncObject.CONTACT)] == ["g1"]
