from __future__ import annotations

import json
from pathlib import Path

from sync.objects import Direction, SyncObject
from sync.store import SyncStore
from tests.cli_support import offline_settings, run_sync_cli

ROOT = Path(__file__).resolve().parent.parent


def test_check_config_with_a_bad_configuration_exits_2_and_lists_the_problems(tmp_path: Path) -> None:
    result = run_sync_cli(["check-config"], tmp_path, {"MARKETO_MAX_CONCURRENCY": "11"})
    assert result.returncode == 2
    assert "The sync cannot start: 6 configuration problems." in result.stderr
    assert "MARKETO_MAX_CONCURRENCY: must be at most 10" in result.stderr


def test_status_reads_local_settings_json_like_func_start(
    tmp_path: Path, storage_connection: str, table_prefix: str
) -> None:
    store = SyncStore.open(storage_connection, table_prefix)
    store.errors.record_failure(
        SyncObject.LEAD,
        Direction.DYNAMICS_TO_MARKETO,
        "g",
        operation="push",
        code="1003",
        message="x",
        kind="bad_record",
    )
    values = offline_settings(storage_connection, table_prefix)
    (tmp_path / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    try:
        status = run_sync_cli(["status", "--json"], tmp_path, {})
        config = run_sync_cli(["check-config"], tmp_path, {})
    finally:
        store.tables.drop_all()
    assert status.returncode == 0, status.stderr
    lead = next(o for o in json.loads(status.stdout)["objects"] if o["object"] == "lead")
    assert lead["errors"] == {"waiting_retry": 1, "parked": 0, "by_kind": {"bad_record": 1}}
    assert config.returncode == 0
    assert "cli-secret" not in config.stdout
    assert "AccountKey" not in config.stdout
