"""How the engine reads and pays: custom tables with and without change tracking, the run's time
budget, retries with backoff until parked, and the store writes each synced record costs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.objects import Direction, SyncObject
from sync.reporting.status import status_report
from sync.store.errors import ErrorBackoff
from sync.store.runs import RunOutcome
from sync.store.tables import Table
from tests.dataverse_support import write_project_table
from tests.sync_support import World, by_key, crash_after_marketo_writes

D2M = Direction.DYNAMICS_TO_MARKETO
MAPPING = """
custom_tables:
  - table: new_project
    marketo_object: dynamicsProject_c
    key: projectId
    person: new_contactid
    fields:
      - {dynamics: new_name, marketo: projectName}
      - {dynamics: new_budget, marketo: budget}
"""


@pytest.fixture(params=[True, False], ids=["change-tracking", "modifiedon"])
def world(request: pytest.FixtureRequest, make_sync_world: Callable[..., World], tmp_path: Path) -> World:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    tables = write_project_table(tmp_path / "tables.json", change_tracking=request.param)
    return make_sync_world(dataverse_options={"tables": str(tables)}, SYNC_MAPPING_FILE=str(mapping))


def _projects(world: World) -> dict[str, dict[str, Any]]:
    return by_key(world.marketo_rows("customobject/dynamicsProject_c"), "projectId")


def test_a_custom_table_reaches_its_custom_object_linked_to_the_contacts_person(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = world.create("contact", {"lastname": "Owner", "emailaddress1": "o@example.com"})
    project = world.create(
        "new_project", {"new_name": "Apollo", "new_budget": 1200.5, "new_contactid@odata.bind": f"/contacts({contact})"}
    )
    loose = world.create("new_project", {"new_name": "Gemini"})
    full_copy(world.engine, SyncObject.CONTACT)
    full_copy(world.engine, SyncObject.CUSTOM)
    tracked = world.engine.tables["new_project"].change_tracking
    report = status_report(world.store, datetime.now(UTC))
    custom = next(o for o in report["objects"] if o["object"] == "custom")
    assert custom["directions"][0]["streams"]["new_project"]["read_mode"] == ("tracking" if tracked else "modifiedon")
    person = by_key(world.marketo_rows("lead"), "dynamicsId")[contact.lower()]
    projects = _projects(world)
    assert (projects[project.lower()]["projectName"], projects[project.lower()]["budget"]) == ("Apollo", 1200.5)
    assert projects[project.lower()]["leadId"] == person["id"]
    assert projects[loose.lower()].get("leadId") is None

    world.update("new_project", project, {"new_budget": 99.0})
    world.delete("new_project", loose)
    record = run_once(world.engine, SyncObject.CUSTOM)
    assert record.outcome is RunOutcome.SUCCEEDED, record.message
    projects = _projects(world)
    assert projects[project.lower()]["budget"] == 99.0
    if tracked:
        assert loose.lower() not in projects  # the deletion came with the delta
    else:
        assert loose.lower() in projects  # a modifiedon cursor cannot see deletions...
        monkeypatch.setattr("sync.engine.run.RECONCILE_EVERY_S", 0.0)  # ...the periodic reconcile does
        reconciled = run_once(world.engine, SyncObject.CUSTOM)
        assert "1 deletion(s) found by reconciling ids" in reconciled.message
        assert loose.lower() not in _projects(world)


def test_a_quiet_run_writes_nothing_with_or_without_change_tracking(world: World) -> None:
    world.create("new_project", {"new_name": "Apollo"})
    full_copy(world.engine, SyncObject.CUSTOM)
    run_once(world.engine, SyncObject.CUSTOM)
    writes = world.marketo_writes()
    record = run_once(world.engine, SyncObject.CUSTOM)
    assert (record.outcome, record.written, record.marketo_calls) == (RunOutcome.SUCCEEDED, 0, 0)
    assert world.marketo_writes() == writes


@pytest.fixture
def contacts_world(make_sync_world: Callable[..., World]) -> World:
    return make_sync_world()


def test_a_run_stops_at_its_time_budget_and_the_next_run_continues(contacts_world: World) -> None:
    world = contacts_world
    full_copy(world.engine, SyncObject.CONTACT)
    for n in range(5):
        world.create("contact", {"lastname": f"L{n}", "emailaddress1": f"l{n}@example.com"})
    world.engine.dataverse.changes.page_size = 2
    reads = []
    for _ in range(3):
        record = run_once(world.engine, SyncObject.CONTACT, budget_s=1e-9)  # one page per run
        reads.append((record.read, record.message))
    assert reads == [
        (2, "stopped at the time budget; the next run continues"),
        (2, "stopped at the time budget; the next run continues"),
        (1, "caught up"),
    ]
    assert len(world.marketo_rows("lead")) == 5


def test_a_failing_record_is_retried_with_backoff_then_parked(contacts_world: World) -> None:
    world = contacts_world
    world.store.errors.backoff = ErrorBackoff(first_delay_s=0, park_after=3)
    bad = world.create("contact", {"lastname": "Bad", "emailaddress1": "not-an-email"})
    full_copy(world.engine, SyncObject.CONTACT)  # attempt 1
    attempts = []
    for _ in range(3):
        run_once(world.engine, SyncObject.CONTACT)
        error = world.store.errors.get(SyncObject.CONTACT, D2M, bad.lower())
        assert error is not None
        attempts.append((error.attempts, error.parked))
    assert attempts == [(2, False), (3, True), (3, True)]  # parked: no longer retried
    assert [e.record_id for e in world.store.errors.list(SyncObject.CONTACT, parked=True)] == [bad.lower()]


def test_store_writes_per_synced_record_are_two_for_persons_and_one_for_other_objects(contacts_world: World) -> None:
    world = contacts_world
    for n in range(120):
        world.create("contact", {"lastname": f"P{n}", "emailaddress1": f"p{n}@example.com"})
        world.create("account", {"name": f"A{n}"})
    world.engine.dataverse.changes.page_size = 50
    writes = world.store.tables.writes
    for obj in (SyncObject.CONTACT, SyncObject.ACCOUNT):
        writes.clear()
        full_copy(world.engine, obj)
        per_record = 2 if obj is SyncObject.CONTACT else 1
        assert writes[Table.LINKS] == 120 and writes[Table.LINKS_BY_MARKETO] == 120 * (per_record - 1)
        started = 2 if obj is SyncObject.CONTACT else 1  # persons: Marketo's stream takes its position too
        assert writes[Table.CHECKPOINTS] == started + 4  # start, three pages, turn incremental
        assert writes[Table.JOURNAL] == 3 * 3  # a page: its journal (head and one part), then marked stored
        assert writes[Table.RUNS] == 2  # the copy's run record, at its start and its end
        assert sum(writes.values()) == 120 * per_record + started + 4 + 9 + 2


def test_a_crash_mid_copy_of_a_custom_table_loses_and_duplicates_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects = [world.create("new_project", {"new_name": f"P{n}"}) for n in range(7)]
    crash_after_marketo_writes(world, SyncObject.CUSTOM, monkeypatch, page_size=3)
    rows = world.marketo_rows("customobject/dynamicsProject_c")
    assert sorted(r["projectId"] for r in rows) == sorted(p.lower() for p in projects)
