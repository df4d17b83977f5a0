"""`python -m sync check | full-copy | run --once | status` as an admin runs them: a subprocess
against the emulators (over HTTPS) and Azurite, configured only by environment variables."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from emulators.launch import RunningEmulator
from sync.store.change_queue import ChangeQueue, ChangeRef
from tests.cli_support import run_sync_cli
from tests.dataverse_support import write_project_table
from tests.emulator_support import control
from tests.sync_support import sync_env

ROOT = Path(__file__).resolve().parent.parent


def _cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_sync_cli(list(args), cwd, env)


_env = sync_env


def test_check_full_copy_run_and_status_work_from_the_command_line(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
    tmp_path: Path,
) -> None:
    dataverse, marketo = start_dataverse(seed_count=5), start_marketo()
    env = _env(dataverse, marketo, storage_connection, table_prefix)

    checked = _cli(env, "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All checks passed." in checked.stdout
    assert "ok       Person fields the sync owns" in checked.stdout
    assert "created now: dynamicsId, dynamicsEntityType, dynamicsIsDeleted" in checked.stdout

    copied = _cli(env, "full-copy", cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert "contact          full copy done: 5 read, 5 written, 0 unchanged, 0 failed" in copied.stdout
    assert len(control(marketo, "GET", "data/lead")["rows"]) == 10  # 5 contacts + 5 leads

    ran = _cli(env, "run", "--once", "--object", "account", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "account          succeeded read 0, written 0" in ran.stdout
    assert "calls: Marketo 0, Dataverse 1 — caught up" in ran.stdout

    table = _cli(env, "status", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    account_line = next(line for line in table.stdout.splitlines() if line.startswith("account "))
    assert "incremental" in account_line and "succeeded" in account_line
    report = json.loads(_cli(env, "status", "--json", cwd=tmp_path).stdout)
    contact = next(o for o in report["objects"] if o["object"] == "contact")
    assert contact["directions"][0]["phase"] == "incremental"
    assert marketo.info["client_secret"] not in checked.stdout + copied.stdout + table.stdout


def test_check_reports_every_problem_with_its_fix_and_exits_1(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
    tmp_path: Path,
) -> None:
    tables = write_project_table(tmp_path / "tables.json", change_tracking=False)
    dataverse, marketo = start_dataverse(tables=str(tables)), start_marketo()
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "objects:\n  lead:\n    fields:\n      - {dynamics: jobtitel, marketo: title}\n"
        "custom_tables:\n  - {table: new_project, marketo_object: dynamicsProject_c, key: projectId}\n"
    )
    env = _env(dataverse, marketo, storage_connection, table_prefix, SYNC_MAPPING_FILE=str(mapping))
    control(marketo, "POST", "faults", {"path": "/rest/v1/salespersons.json", "method": "POST", "error_code": "603"})

    checked = _cli(env, "check", cwd=tmp_path)

    assert checked.returncode == 1, checked.stdout + checked.stderr
    out = checked.stdout
    assert "warning  Dataverse table new_project" in out and "change tracking is off" in out
    assert "fix: turn on Track changes for new_project" in out
    assert "problem  Field mapping" in out and "no column 'jobtitel'; closest: jobtitle" in out
    assert "problem  Marketo write access: sales persons" in out and "Read-Write Sales Persons" in out
    assert "2 problem(s) to fix before the sync can run." in out


def test_a_bad_mapping_file_stops_full_copy_with_every_problem(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
    tmp_path: Path,
) -> None:
    dataverse, marketo = start_dataverse(), start_marketo()
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("objects:\n  lead:\n    fields:\n      - {dynamics: jobtitle, marketo: title, direction: up}\n")
    env = _env(dataverse, marketo, storage_connection, table_prefix, SYNC_MAPPING_FILE=str(mapping))
    copied = _cli(env, "full-copy", cwd=tmp_path)
    assert copied.returncode == 2
    assert "objects.lead.fields[0].direction: 'up' is not allowed; use one of both, to_marketo or to_dynamics" in (
        copied.stderr
    )
    assert "Traceback" not in copied.stderr


def test_webhooks_are_set_up_checked_removed_and_the_queue_drained_from_the_command_line(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
    tmp_path: Path,
) -> None:
    dataverse, marketo = start_dataverse(seed_count=2), start_marketo()
    queue_name = f"{table_prefix.lower()}-changes"
    env = _env(dataverse, marketo, storage_connection, table_prefix, SYNC_CHANGE_QUEUE=queue_name)
    url = "http://127.0.0.1:7071/api/changes/dataverse"

    unkeyed = _cli(env, "setup-webhooks", "--url", url, cwd=tmp_path)
    assert unkeyed.returncode == 2 and "set SYNC_DATAVERSE_WEBHOOK_KEY first" in unkeyed.stderr
    env["SYNC_DATAVERSE_WEBHOOK_KEY"] = "d" * 40
    insecure = _cli(env, "setup-webhooks", "--url", "http://sync.example.com/api/changes/dataverse", cwd=tmp_path)
    assert insecure.returncode == 2 and "give the change route's https URL" in insecure.stderr
    assert re.search(r"warning\s+Dataverse webhooks\s+not registered", _cli(env, "check", cwd=tmp_path).stdout)

    made = _cli(env, "setup-webhooks", "--url", url, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "created  Dynamics Marketo Sync: Update of contact" in made.stdout
    assert f"webhook registered: Dataverse posts changes to {url}" in made.stdout
    again = _cli(env, "setup-webhooks", "--url", url, cwd=tmp_path)
    assert "created" not in again.stdout and "webhook already registered" in again.stdout
    checked = _cli(env, "check", cwd=tmp_path)
    assert re.search(rf"ok\s+Dataverse webhooks\s+\d+ steps on \d+ tables post to {re.escape(url)}", checked.stdout), [
        line for line in checked.stdout.splitlines() if "webhooks" in line
    ]
    assert env["SYNC_DATAVERSE_WEBHOOK_KEY"] not in made.stdout + made.stderr + checked.stdout

    assert _cli(env, "full-copy", cwd=tmp_path).returncode == 0
    queue = ChangeQueue.open(storage_connection, queue_name)
    queue.put([ChangeRef(source="dataverse", table="account", id="00000000-0000-0000-0000-00000000000a")])
    ran = _cli(env, "run", "--once", "--object", "account", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "changes          1 message(s); 0 written" in ran.stdout
    assert queue.depth() == (0, 0)

    removed = _cli(env, "remove-webhooks", cwd=tmp_path)
    assert removed.returncode == 0 and "webhook removed" in removed.stdout
    assert re.search(r"warning\s+Dataverse webhooks\s+not registered", _cli(env, "check", cwd=tmp_path).stdout)
