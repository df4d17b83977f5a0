"""`python -m sync pause | resume | resync-field | errors --csv --retry` as an admin runs them,
against the emulators (HTTPS) and Azurite."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from demo.dynamics_user import DynamicsUser
from emulators.app_settings import app_settings
from emulators.launch import RunningEmulator
from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.marketo.connection import MarketoConnection
from sync.objects import Direction, SyncObject
from sync.settings import DataverseSettings, MarketoSettings, load_section
from sync.store import SyncStore
from tests.cli_support import offline_settings, run_sync_cli
from tests.emulator_support import control


def _persons(marketo: RunningEmulator) -> dict[str, dict[str, object]]:
    return {str(p.get("dynamicsId")): p for p in control(marketo, "GET", "data/lead")["rows"]}


@pytest.fixture
def services(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
) -> Callable[[int], tuple[RunningEmulator, dict[str, str]]]:
    """Both emulators (Dataverse seeded with `seed` rows a table) and the settings pointing at them."""

    def start(seed: int) -> tuple[RunningEmulator, dict[str, str]]:
        dataverse, marketo = start_dataverse(seed_count=seed), start_marketo()
        env = app_settings(dataverse.info, marketo.info, storage=storage_connection, SYNC_TABLE_PREFIX=table_prefix)
        return marketo, env

    return start


def test_a_paused_object_skips_its_runs_and_its_changes_flow_on_resume(
    services: Callable[[int], tuple[RunningEmulator, dict[str, str]]], tmp_path: Path
) -> None:
    marketo, env = services(4)
    assert run_sync_cli(["full-copy", "--object", "contact"], tmp_path, env).returncode == 0
    dynamics = DataverseConnection.from_settings(load_section(DataverseSettings, env))
    contacts = dynamics.metadata.describe("contact")
    contact = str(dynamics.client.get_json("contacts", params={"$select": "contactid"})["value"][0]["contactid"])

    paused = run_sync_cli(["pause", "contact"], tmp_path, env)
    dynamics.writer.update(contacts, contact, {"jobtitle": "Edited while paused"})
    skipped = run_sync_cli(["run", "--once", "--object", "contact"], tmp_path, env)
    status = run_sync_cli(["status"], tmp_path, env)
    untouched = _persons(marketo)[contact].get("title")
    resumed = run_sync_cli(["resume", "contact"], tmp_path, env)
    ran = run_sync_cli(["run", "--once", "--object", "contact"], tmp_path, env)
    dynamics.close()

    assert "contact          paused now" in paused.stdout
    assert "contact          skipped   read 0, written 0" in skipped.stdout and "paused since" in skipped.stdout
    contact_line = next(line for line in status.stdout.splitlines() if line.startswith("contact "))
    assert "(paused since" in contact_line
    assert untouched != "Edited while paused"
    assert "contact          resumed" in resumed.stdout
    assert "contact          succeeded read 1, written 1" in ran.stdout, ran.stdout + ran.stderr
    assert _persons(marketo)[contact]["title"] == "Edited while paused"


def test_resync_field_pushes_fields_for_every_linked_record_or_a_window_with_a_progress_bar(
    services: Callable[[int], tuple[RunningEmulator, dict[str, str]]], tmp_path: Path
) -> None:
    marketo, env = services(6)
    assert run_sync_cli(["full-copy", "--object", "lead"], tmp_path, env).returncode == 0
    form = MarketoConnection.from_settings(load_section(MarketoSettings, env))
    blanked = [{"id": p["id"], "title": ""} for p in control(marketo, "GET", "data/lead")["rows"]]
    form.persons.upsert(blanked, action="updateOnly", lookup_field="id")  # titles lost, say, by a bad import
    form.close()
    assert not any(p.get("title") for p in _persons(marketo).values())

    resynced = run_sync_cli(["resync-field", "lead", "jobtitle"], tmp_path, env)
    unknown = run_sync_cli(["resync-field", "lead", "jobtitel"], tmp_path, env)
    undated = run_sync_cli(["resync-field", "lead", "jobtitle", "--modified-since", "yesterday"], tmp_path, env)
    quick = ["resync-field", "lead", "jobtitle", "phone", "--created-since", "2000-01-01"]
    windowed = run_sync_cli(quick, tmp_path, env)

    assert resynced.returncode == 0, resynced.stderr
    assert "lead title: 6 links visited, 6 written, 0 failed" in resynced.stdout
    assert "6/6" in resynced.stderr  # the bar: done / total
    assert all(p.get("title") for p in _persons(marketo).values())
    assert unknown.returncode == 2
    assert "lead has no mapped field 'jobtitel' that flows to Marketo" in unknown.stderr
    assert undated.returncode == 2 and "'yesterday' is not a date: give ISO 8601" in undated.stderr
    assert windowed.returncode == 0, windowed.stderr
    assert "lead title, phone (created since 2000-01-01T00:00:00+00:00): 6 records in the window read, 6 written" in (
        windowed.stdout
    )


def test_full_copy_dry_run_prints_the_preview_as_json_or_a_table_writes_its_page_and_nothing_else(
    services: Callable[[int], tuple[RunningEmulator, dict[str, str]]], tmp_path: Path
) -> None:
    marketo, env = services(6)
    page = tmp_path / "preview.html"
    as_json = run_sync_cli(["full-copy", "--dry-run", "--json", "--html", str(page)], tmp_path, env)
    table = run_sync_cli(["full-copy", "--dry-run", "--object", "lead"], tmp_path, env)
    refused = run_sync_cli(["full-copy", "--dry-run", "--object", "person"], tmp_path, env)

    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert list(report["objects"]) == [  # every object a Dynamics table is read for, in copy order
        "systemuser",
        "team",
        "account",
        "lead",
        "contact",
        "opportunity",
        "opportunityrole",
        "campaign",
    ]
    decided = ("filtered_out", "would_create", "would_link", "ambiguous", "would_fail", "waiting")
    for name in ("lead", "contact", "account"):
        shown = report["objects"][name]
        assert shown["state"] == "done" and shown["complete"] is True
        assert shown["read"] == 6 and sum(shown[k] for k in decided) == 6  # every row in one category
        assert shown["would_create"] == 6  # Marketo holds none of them yet
    assert [report["objects"][p]["marketo_calls"] for p in ("lead", "contact")] == [2, 2]  # a describe, a query
    assert report["objects"]["opportunityrole"]["not_previewed"] == ["connection", "opportunitycustomer"]
    assert report["marketo_calls"] == sum(o["marketo_calls"] for o in report["objects"].values())
    assert "what the first copy would do" in page.read_text(encoding="utf-8")
    assert "What a first copy would do (nothing was written):" in table.stdout
    (row,) = [line.split() for line in table.stdout.splitlines() if line.strip().startswith("lead ")]
    assert row[:4] == ["lead", "6", "0", "6"] and "the copy's Marketo calls through REST" in table.stdout
    assert refused.returncode == 2 and "person: no Dynamics table is read for it" in refused.stderr
    assert (
        int(control(marketo, "GET", "stats").get("writes", 0)) == 0 and not control(marketo, "GET", "data/lead")["rows"]
    )


def test_errors_export_as_csv_and_retry_makes_parked_errors_due(
    storage_connection: str, table_prefix: str, tmp_path: Path
) -> None:
    store = SyncStore.open(storage_connection, table_prefix)
    for _ in range(10):  # enough attempts to park it
        store.errors.record_failure(
            SyncObject.LEAD,
            Direction.DYNAMICS_TO_MARKETO,
            "lead-1",
            operation="push",
            code="1003",
            message="Invalid email",
            kind="bad_record",
        )
    env = offline_settings(storage_connection, table_prefix)
    try:
        parked = run_sync_cli(["errors", "--csv", "--parked", "true"], tmp_path, env)
        retried = run_sync_cli(["errors", "--csv", "--retry"], tmp_path, env)
        still_parked = run_sync_cli(["errors", "--csv", "--parked", "true"], tmp_path, env)
    finally:
        store.tables.drop_all()

    rows = list(csv.DictReader(io.StringIO(parked.stdout)))
    assert [(r["object"], r["record_id"], r["code"], r["kind"]) for r in rows] == [
        ("lead", "lead-1", "1003", "bad_record")
    ]
    assert "retry requested for 1 error(s)" in retried.stderr
    assert list(csv.DictReader(io.StringIO(still_parked.stdout))) == []


def test_campaign_add_and_remove_from_the_command_line_as_the_webhooks_do(
    services: Callable[[int], tuple[RunningEmulator, dict[str, str]]], tmp_path: Path
) -> None:
    _, env = services(0)
    dynamics = DataverseConnection.from_settings(load_section(DataverseSettings, env))
    campaign = DynamicsUser(dynamics.client).create(dynamics.metadata.describe("campaign"), {"name": "Console"})
    person = (
        MarketoConnection.from_settings(load_section(MarketoSettings, env))
        .persons.upsert([{"email": "cli@example.com", "lastName": "Cli"}])[0]
        .id
    )
    added = run_sync_cli(["campaign", "add", str(person), campaign], tmp_path, env)
    removed = run_sync_cli(["campaign", "remove", str(person), campaign], tmp_path, env)
    unknown = run_sync_cli(["campaign", "add", str(person), "not-a-campaign"], tmp_path, env)
    assert added.returncode == 0 and f"campaign {campaign.lower()}: added" in added.stdout, added.stderr
    assert removed.returncode == 0 and removed.stdout.rstrip().endswith(": removed")
    assert unknown.returncode == 2 and "is not a Dynamics campaign id (a GUID)" in unknown.stderr


def test_setup_creates_engagement_once_and_the_backfill_fills_the_timelines_from_a_bulk_extract(
    services: Callable[[int], tuple[RunningEmulator, dict[str, str]]], tmp_path: Path
) -> None:
    marketo, env = services(3)
    env["SYNC_BULK_POLL_S"] = "0.5"
    first = run_sync_cli(["setup"], tmp_path, env)
    again = run_sync_cli(["setup"], tmp_path, env)
    assert first.returncode == 0 and "created 24: lead.mkto_leadscore" in first.stdout, first.stdout + first.stderr
    assert "created nothing" in again.stdout and "alternate key index: Active" in again.stdout
    checked = run_sync_cli(["check"], tmp_path, env)
    assert (
        "Engagement timeline" in checked.stdout
        and "onto mkto_marketoactivity; read on its own stream" in checked.stdout
    )
    assert run_sync_cli(["full-copy", "--object", "contact"], tmp_path, env).returncode == 0
    control(marketo, "POST", "seed", {"counts": {"engagement": 40}, "seed": 5})
    backfill = run_sync_cli(["full-copy", "--object", "engagement", "--since", "31d"], tmp_path, env)
    assert backfill.returncode == 0, backfill.stderr
    assert "40 activities extracted" in backfill.stdout and "failed 0" in backfill.stdout
    wrong = run_sync_cli(["full-copy", "--object", "contact", "--since", "30d"], tmp_path, env)
    assert wrong.returncode == 2 and "give --object engagement" in wrong.stderr
