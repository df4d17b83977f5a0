"""Security: configured secrets never appear in any output; TLS verification is never turned off;
webhook secrets are compared in constant time. Admin endpoints' function keys are checked where
the app is indexed (tests/test_function_app.py)."""

from __future__ import annotations

import ast
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import pytest

from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.engine.runtime import Engine
from sync.log_redaction import secret_values
from sync.objects import SyncObject
from sync.reporting.errors_export import errors_as_csv
from sync.reporting.status import status_report
from sync.reporting.status_page import status_page
from sync.reporting.status_text import status_table
from sync.settings import load_settings
from sync.store.tables import Table
from tests.cli_support import ROOT, run_sync_cli
from tests.emulator_support import control
from tests.functions_app import WEBHOOK_SECRET
from tests.sync_support import World, sync_env

UNREACHABLE: Final = {"MARKETO_BASE_URL": "https://127.0.0.1:9", "SYNC_CALL_DEADLINE_S": "2"}
APP_SOURCES: Final = [ROOT / "function_app.py", *sorted((ROOT / "sync").rglob("*.py"))]


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    return make_sync_world(SYNC_WEBHOOK_SECRET=WEBHOOK_SECRET)


def _store_rows(world: World) -> str:
    return "\n".join(
        json.dumps(dict(entity), default=str) for t in Table for entity in world.store.tables.client(t).list_entities()
    )


def _failure_text(settings: dict[str, str]) -> str:
    try:
        Engine.start(load_settings(settings)).close()
    except Exception as error:  # what an admin reads when start-up fails
        return f"{type(error).__name__}: {error}"
    raise AssertionError("start-up should have failed")


def test_configured_secrets_never_appear_in_logs_outputs_errors_or_the_status_page(
    world: World, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)  # everything every library logs, request lines included
    storage = world.settings.storage.connection.get_secret_value()
    env = sync_env(
        world.dataverse, world.marketo, storage, world.store.tables.prefix, SYNC_WEBHOOK_SECRET=WEBHOOK_SECRET
    )
    world.restart()  # sign in to both services with DEBUG logging on
    secrets = [*secret_values(world.settings), world.engine.marketo.client.token.get()]
    assert len(secrets) >= 5  # both client secrets, the storage connection and key, the webhook secret, a token
    world.create("contact", {"lastname": "Good", "emailaddress1": "good@example.com"})
    world.create("contact", {"lastname": "Bad", "emailaddress1": "not an email"})
    for obj in (SyncObject.PERSON, SyncObject.CONTACT):
        full_copy(world.engine, obj)
    control(world.marketo, "POST", "clock", {"advance_seconds": 3700})  # the token expires: signed in again
    world.create("contact", {"lastname": "Later", "emailaddress1": "later@example.com"})
    run_once(world.engine, SyncObject.CONTACT)

    failures = [
        _failure_text({**env, "MARKETO_CLIENT_SECRET": "w" * 32}),  # refused credentials
        _failure_text({**env, **UNREACHABLE}),
        _failure_text({**env, "DATAVERSE_CLIENT_SECRET": "w" * 32}),
    ]
    cli = [
        run_sync_cli(args, tmp_path, env_)
        for env_, args in [
            (env, ["check-config"]),
            (env, ["check"]),
            (env, ["run", "--once", "--object", "contact"]),
            (env, ["status"]),
            (env, ["status", "--json"]),
            (env, ["errors"]),
            (env, ["errors", "--csv"]),
            ({**env, "MARKETO_CLIENT_SECRET": "w" * 32}, ["check"]),
            ({**env, **UNREACHABLE}, ["run", "--once", "--object", "contact"]),
        ]
    ]
    report = status_report(world.store, datetime.now(UTC))
    outputs = {
        "logs": caplog.text + "\n".join(str(r.__dict__) for r in caplog.records),
        "start-up failures": "\n".join(failures),
        "command line": "\n".join(c.stdout + c.stderr for c in cli),
        "status report": json.dumps(report) + status_table(report),
        "status page": status_page(report),
        "errors export": errors_as_csv(world.store.errors.list()),
        "store rows": _store_rows(world),
    }
    assert "client_secret=[REDACTED]" in outputs["logs"], "the identity call's request line was logged, redacted"
    assert "refused the client credentials" in outputs["start-up failures"]
    for where, text in outputs.items():
        leaked = [s[:4] + "…" for s in secrets if s in text]
        assert not leaked, f"{where} shows secrets starting {leaked}"


# TLS: a static check of the deployed app's source, proved able to fail on a snippet of each kind.

INSECURE_SNIPPETS: Final = [
    "requests.get(url, verify=False)",
    "client = TableServiceClient(endpoint, connection_verify=False)",
    "context = ssl._create_unverified_context()",
    "context.check_hostname = False",
    "context.verify_mode = ssl.CERT_NONE",
    "urllib3.disable_warnings()",
    "os.environ['PYTHONHTTPSVERIFY'] = '0'",
    "session.verify = False",
]


def tls_bypasses(source: str) -> list[str]:
    """Every place `source` turns certificate checking off, as `line: what`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.keyword) and node.arg in ("verify", "connection_verify"):
            if isinstance(node.value, ast.Constant) and node.value.value is False:
                found.append(f"{line}: {node.arg}=False")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                name = target.attr if isinstance(target, ast.Attribute) else None
                value = node.value.value if isinstance(node.value, ast.Constant) else None
                if name in ("verify", "check_hostname") and value is False:
                    found.append(f"{line}: .{name} = False")
        elif isinstance(node, ast.Attribute) and node.attr in (
            "CERT_NONE",
            "_create_unverified_context",
            "disable_warnings",
        ):
            found.append(f"{line}: {node.attr}")
        elif isinstance(node, ast.Constant) and node.value in ("PYTHONHTTPSVERIFY", "CURL_CA_BUNDLE"):
            found.append(f"{line}: {node.value}")
    return found


@pytest.mark.parametrize("snippet", INSECURE_SNIPPETS)
def test_the_tls_check_finds_each_way_of_turning_verification_off(snippet: str) -> None:
    assert tls_bypasses(f"import os, ssl, requests, urllib3\n{snippet}\n")


def _sources() -> Iterator[tuple[Path, str]]:
    for path in APP_SOURCES:
        yield path, path.read_text(encoding="utf-8")


def test_no_tls_verification_is_disabled_anywhere_in_the_deployed_app() -> None:
    found = {str(path.relative_to(ROOT)): hits for path, text in _sources() if (hits := tls_bypasses(text))}
    assert len(APP_SOURCES) > 50 and not found, found


# Webhook secrets: compared only by hmac.compare_digest.


def _secret_comparisons(source: str) -> tuple[list[str], int]:
    """(== / != / in comparisons touching a secret, compare_digest calls)."""
    tree = ast.parse(source)
    plain = [
        f"{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops)
        and ("secret" in ast.unparse(node).lower() or "given" in ast.unparse(node))
    ]
    digests = sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "compare_digest"
    )
    return plain, digests


def test_the_comparison_check_finds_a_plain_comparison_of_a_secret() -> None:
    assert _secret_comparisons("if given != secret.get_secret_value():\n    pass\n")[0]


def test_webhook_secrets_are_compared_in_constant_time_only() -> None:
    plain, digests = _secret_comparisons((ROOT / "sync" / "functions" / "webhooks.py").read_text(encoding="utf-8"))
    assert digests == 1 and not plain, plain
