"""The fault matrix: each fault injected into a real run (both emulators over HTTPS, Azurite),
and what the suite proves about it — every record on the other side exactly once, the run
failing only on what retries cannot fix, with a reason an admin can act on, and the next run
recovering. One test per fault (or per row of a parametrized table of faults)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Final

import pytest
from azure.core.exceptions import AzureError

from emulators.common.latency import Latency
from emulators.launch import RunningEmulator
from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.engine.runtime import Engine
from sync.mapping.file import MappingError
from sync.objects import Direction, SyncObject
from sync.store import SyncStore
from sync.store.errors import ErrorBackoff
from sync.store.runs import RunOutcome
from tests.cli_support import run_sync_cli
from tests.emulator_support import control, fault
from tests.reliability.outage import Outage
from tests.sync_support import World, make_world, sync_env

CONTACT: Final = SyncObject.CONTACT
D2M: Final = Direction.DYNAMICS_TO_MARKETO
PAGE: Final = 100  # rows per Dataverse page in these tests: several pages, several Marketo calls


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    made = make_sync_world()
    _small_pages(made.engine)
    return made


def _small_pages(engine: Engine) -> None:
    engine.dataverse.changes.page_size = engine.dataverse.modified_since.page_size = PAGE


def _seed(world: World, n: int, seed: int = 1) -> None:
    control(world.dataverse, "POST", "seed", {"counts": {"contact": n}, "seed": seed})


def _contact_ids(world: World) -> set[str]:
    return {r["contactid"].lower() for r in world.dynamics_rows("contact")}


def assert_each_contact_once(world: World, *, except_ids: set[str] | None = None) -> None:
    """Every contact has exactly one person and one link; nothing else carries a contact id."""
    expected = _contact_ids(world) - (except_ids or set())
    persons = Counter(p["dynamicsId"] for p in world.marketo_rows("lead") if p.get("dynamicsEntityType") == "contact")
    assert not [k for k, n in persons.items() if n > 1], "a contact has two persons"
    assert set(persons) - (except_ids or set()) == expected
    linked = {link.dynamics.id.lower() for link in world.store.links.iter_table("contact") if not link.deleted}
    assert expected <= linked


def _fired(emulator: RunningEmulator) -> int:
    return sum(int(r["fired"]) for r in control(emulator, "GET", "faults")["faults"])


def _in(seconds: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


PUSH: Final = {"path": "/rest/v1/leads.json", "method": "POST"}
DATAVERSE_READ: Final = {"path": "/api/data/v9.2/contacts", "method": "GET"}

# (service, rule): each fires on several calls of a full copy (every other matching call, up to
# `times`), so the run meets it again and again — a storm, not a single blip.
STORMS: Final[dict[str, tuple[str, dict[str, Any]]]] = {
    "marketo-429-retry-after-0": ("marketo", {**PUSH, "status": 429, "retry_after": 0, "every": 1, "times": 4}),
    "marketo-429-retry-after-1s": ("marketo", {**PUSH, "status": 429, "retry_after": 1, "every": 2, "times": 2}),
    "marketo-429-retry-after-http-date": ("marketo", {**PUSH, "status": 429, "retry_after": "date", "times": 1}),
    "marketo-502": ("marketo", {**PUSH, "status": 502, "every": 2, "times": 2}),
    "marketo-503": ("marketo", {**PUSH, "status": 503, "retry_after": 0, "every": 2, "times": 3}),
    "marketo-504": ("marketo", {**PUSH, "status": 504, "every": 2, "times": 2}),
    "marketo-604-timeout": ("marketo", {**PUSH, "error_code": "604", "times": 1}),
    "marketo-606-rate-window": ("marketo", {**PUSH, "error_code": "606", "every": 2, "times": 3}),
    "marketo-608-unavailable": ("marketo", {**PUSH, "error_code": "608", "times": 1}),
    "marketo-611-system-error": ("marketo", {**PUSH, "error_code": "611", "times": 1}),
    "marketo-615-concurrency": ("marketo", {**PUSH, "error_code": "615", "every": 2, "times": 2}),
    "marketo-713-transient": ("marketo", {**PUSH, "error_code": "713", "times": 1}),
    # every third call: with two pages' writes under way, every other call can be the retry of the
    # call refused just before it, and a fresh token refused is a real refusal (the run stops)
    "marketo-601-token-invalid": ("marketo", {**PUSH, "error_code": "601", "every": 3, "times": 2}),
    "marketo-602-token-expired": ("marketo", {**PUSH, "error_code": "602", "every": 3, "times": 2}),
    "dataverse-429-retry-after-0": ("dataverse", {**DATAVERSE_READ, "status": 429, "retry_after": 0, "times": 4}),
    "dataverse-429-retry-after-1s": ("dataverse", {**DATAVERSE_READ, "status": 429, "retry_after": 1, "times": 1}),
    "dataverse-502": ("dataverse", {**DATAVERSE_READ, "status": 502, "every": 2, "times": 2}),
    "dataverse-503": ("dataverse", {**DATAVERSE_READ, "status": 503, "retry_after": 0, "every": 2, "times": 2}),
    "dataverse-504": ("dataverse", {**DATAVERSE_READ, "status": 504, "times": 1}),
}


@pytest.mark.parametrize("storm", sorted(STORMS))
def test_throttling_and_outage_storms_delay_a_full_copy_but_lose_and_duplicate_nothing(
    world: World, storm: str
) -> None:
    service, rule = STORMS[storm]
    emulator = world.marketo if service == "marketo" else world.dataverse
    _seed(world, 3 * PAGE)
    if rule.get("retry_after") == "date":
        rule = {**rule, "retry_after": _in(2)}
    fault(emulator, **rule)
    full_copy(world.engine, CONTACT)
    assert _fired(emulator) >= 1
    assert_each_contact_once(world)


def test_a_storm_during_an_incremental_run_delays_it_and_it_still_succeeds(world: World) -> None:
    _seed(world, PAGE)
    full_copy(world.engine, CONTACT)
    _seed(world, 2 * PAGE, seed=2)
    fault(world.marketo, **PUSH, status=429, retry_after=0, every=1, times=3)
    fault(world.dataverse, path="/api/data/v9.2/contacts", status=503, retry_after=0, times=2)
    record = run_once(world.engine, CONTACT)
    assert record.outcome is RunOutcome.SUCCEEDED, record.message
    assert _fired(world.marketo) == 3 and _fired(world.dataverse) == 2
    assert_each_contact_once(world)


def test_the_daily_quota_stops_the_copy_cleanly_and_it_resumes_after_marketos_reset(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
    tmp_path: Path,
) -> None:
    # a day's quota that a process's start-up (ten calls: describes of the objects it writes) and a
    # few pages of the copy spend: the first run stops part-way, the next day's finishes
    dataverse, marketo = start_dataverse(), start_marketo(daily_quota=20)
    control(dataverse, "POST", "seed", {"counts": {"contact": 9 * 300}, "seed": 3})
    env = sync_env(dataverse, marketo, storage_connection, table_prefix, MARKETO_MAX_CONCURRENCY="1")
    stopped = run_sync_cli(["full-copy", "--object", "contact"], tmp_path, env)
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert "stopped: Marketo's daily API quota is spent" in stopped.stderr
    assert "resets at" in stopped.stderr and "resumes where it stopped" in stopped.stderr
    store = SyncStore.open(storage_connection, table_prefix)
    checkpoint = store.checkpoints.get(CONTACT, D2M)
    assert checkpoint is not None and 0 < checkpoint.counters.get("read", 0) < 9 * 300  # part-way, kept

    still = run_sync_cli(["full-copy", "--object", "contact"], tmp_path, env)
    assert still.returncode == 1 and "quota is spent" in still.stderr  # same Marketo day: still spent

    control(marketo, "POST", "clock", {"advance_seconds": 24 * 3600})  # past midnight US Central
    resumed = run_sync_cli(["full-copy", "--object", "contact"], tmp_path, env)
    assert resumed.returncode == 0, resumed.stderr
    contacts = {r["contactid"].lower() for r in control(dataverse, "GET", "data/contact")["rows"]}
    persons = Counter(p["dynamicsId"] for p in control(marketo, "GET", "data/lead")["rows"])
    assert set(persons) == contacts and max(persons.values()) == 1
    store.tables.drop_all()


def test_a_poison_record_is_parked_after_n_attempts_while_the_rest_flows(world: World) -> None:
    world.store.errors.backoff = ErrorBackoff(first_delay_s=0.0, park_after=3)
    _seed(world, 5)
    poison = world.create("contact", {"lastname": "Poison", "emailaddress1": "not an email"})
    full_copy(world.engine, CONTACT)
    for round_ in range(4):
        _seed(world, 2, seed=10 + round_)  # fresh work arrives every run
        record = run_once(world.engine, CONTACT)
        assert record.outcome is RunOutcome.SUCCEEDED, record.message
    error = world.store.errors.get(CONTACT, D2M, poison.lower())
    assert error is not None and error.parked and error.attempts == 3  # tried 3 times, then left alone
    assert error.kind == "bad_record" and "email" in error.message.lower()
    assert_each_contact_once(world, except_ids={poison.lower()})


@pytest.mark.parametrize(
    ("side", "collection", "field", "names"),
    [
        ("marketo", "lead", "title", ["title"]),
        ("dynamics", "contact", "jobtitle", ["jobtitle"]),
    ],
    ids=["marketo-field", "dynamics-column"],
)
def test_a_mapped_field_removed_on_either_side_fails_runs_with_a_clear_reason(
    world: World, side: str, collection: str, field: str, names: list[str]
) -> None:
    _seed(world, 3)
    full_copy(world.engine, CONTACT)
    before = world.store.checkpoints.get(CONTACT, D2M)
    emulator = world.marketo if side == "marketo" else world.dataverse
    control(emulator, "DELETE", f"fields/{collection}/{field}")
    _seed(world, 2, seed=5)

    record = run_once(world.engine, CONTACT)

    assert record.outcome is RunOutcome.FAILED
    assert record.failure_kind in ("auth/config", "fatal")
    assert all(name in record.message for name in names), record.message
    after = world.store.checkpoints.get(CONTACT, D2M)
    assert before is not None and after is not None and after.etag == before.etag  # nothing skipped
    with pytest.raises(MappingError) as refused:  # a new process says it before any run
        world.restart()
    assert field in str(refused.value)


def test_a_new_unmapped_marketo_field_is_ignored(world: World) -> None:
    _seed(world, 3)
    full_copy(world.engine, CONTACT)
    created = world.engine.marketo.persons.create_fields(
        [{"name": "favouriteColour", "displayName": "Favourite colour", "dataType": "string"}]
    )
    assert created[0].status == "created"
    person = next(p for p in world.marketo_rows("lead") if p.get("dynamicsEntityType") == "contact")
    world.engine.marketo.persons.upsert(
        [{"id": person["id"], "favouriteColour": "teal"}], action="updateOnly", lookup_field="id"
    )
    dataverse_writes = int(control(world.dataverse, "GET", "stats")["writes"])
    for obj in (SyncObject.PERSON, CONTACT):
        record = run_once(world.engine, obj)
        assert record.outcome is RunOutcome.SUCCEEDED, record.message
    assert int(control(world.dataverse, "GET", "stats")["writes"]) == dataverse_writes
    world.restart()  # a new process starts with it too
    assert run_once(world.engine, CONTACT).outcome is RunOutcome.SUCCEEDED


def test_two_runs_of_one_object_at_once_exactly_one_proceeds(world: World) -> None:
    _seed(world, PAGE)
    full_copy(world.engine, CONTACT)
    _seed(world, PAGE, seed=2)
    other = Engine.start(world.settings, store=world.store)
    fault(world.marketo, **PUSH, delay_s=1.0, times=1)  # the first run is still pushing when the second starts
    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(run_once, world.engine, CONTACT)
            threading.Event().wait(0.3)
            second = pool.submit(run_once, other, CONTACT)
            records = [first.result(), second.result()]
    finally:
        other.close()
    outcomes = sorted(r.outcome.value for r in records)
    assert outcomes == ["skipped", "succeeded"], [r.message for r in records]
    skipped = next(r for r in records if r.outcome is RunOutcome.SKIPPED)
    assert "another run holds the lease" in skipped.message
    assert_each_contact_once(world)


def test_table_storage_lost_mid_run_fails_the_run_and_the_next_run_recovers(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
    azurite: Any,
) -> None:
    with Outage("127.0.0.1", azurite.port) as outage:
        proxied = storage_connection.replace(f":{azurite.port}/", f":{outage.port}/")
        world = make_world(start_dataverse, start_marketo, proxied, table_prefix)
        _small_pages(world.engine)
        try:
            _seed(world, PAGE)
            full_copy(world.engine, CONTACT)
            _seed(world, 3 * PAGE, seed=2)
            fault(world.marketo, **PUSH, delay_s=0.5, every=1, times=2)
            timer = threading.Timer(0.8, outage.cut)  # while the second page is being pushed
            timer.start()
            try:
                record = run_once(world.engine, CONTACT)
            except AzureError:
                pass  # the run could not even record that it failed: the store was gone
            else:
                assert record.outcome is RunOutcome.FAILED
            timer.join()
            outage.restore()
            record = run_once(world.engine, CONTACT)
            assert record.outcome is RunOutcome.SUCCEEDED, record.message
            assert_each_contact_once(world)
        finally:
            world.engine.close()
            world.store.tables.drop_all()


@pytest.mark.parametrize("skew_minutes", [-10, 10])
@pytest.mark.parametrize("skewed", ["marketo", "dataverse"])
def test_clocks_ten_minutes_apart_lose_no_change_either_way(
    make_sync_world: Callable[..., World], skewed: str, skew_minutes: int
) -> None:
    world = make_sync_world()
    emulator = world.marketo if skewed == "marketo" else world.dataverse
    control(emulator, "POST", "clock", {"skew_seconds": skew_minutes * 60})
    world.restart()
    contact = world.create("contact", {"lastname": "Skew", "emailaddress1": "skew@example.com"})
    for obj in (SyncObject.PERSON, CONTACT):
        full_copy(world.engine, obj)
    person = next(p for p in world.marketo_rows("lead") if p.get("dynamicsId") == contact.lower())
    world.engine.marketo.persons.upsert(
        [{"id": person["id"], "title": "From Marketo"}], action="updateOnly", lookup_field="id"
    )
    assert run_once(world.engine, SyncObject.PERSON).outcome is RunOutcome.SUCCEEDED
    row = next(r for r in world.dynamics_rows("contact") if r["contactid"] == contact)
    assert row["jobtitle"] == "From Marketo"
    world.update("contact", contact, {"telephone1": "+1 555 0100"})
    assert run_once(world.engine, CONTACT).outcome is RunOutcome.SUCCEEDED
    person = next(p for p in world.marketo_rows("lead") if p.get("dynamicsId") == contact.lower())
    assert person["phone"] == "+1 555 0100"


def test_pessimistic_latency_on_both_services_slows_the_sync_but_loses_nothing(
    make_sync_world: Callable[..., World],
) -> None:
    """Each call as slow as a large busy instance answers (a 300-person push ~5.5 s), a tenth of
    it in real time: the copy and a cycle both ways finish, every edit once, nothing duplicated."""
    slow = {"latency": Latency.PESSIMISTIC, "time_scale": 10.0}
    world = make_sync_world(dataverse_options=slow, marketo_options=slow)
    _seed(world, 600)
    for obj in (SyncObject.PERSON, CONTACT):
        full_copy(world.engine, obj)
    assert_each_contact_once(world)
    contacts = sorted(_contact_ids(world))[:20]
    persons = {p["dynamicsId"]: p["id"] for p in world.marketo_rows("lead")}
    world.engine.marketo.persons.upsert(
        [{"id": persons[c], "title": "Slow Marketo"} for c in contacts[:10]], action="updateOnly", lookup_field="id"
    )
    for contact in contacts[10:]:
        world.update("contact", contact, {"jobtitle": "Slow Dynamics"})
    for obj in (SyncObject.PERSON, CONTACT):
        assert run_once(world.engine, obj).outcome is RunOutcome.SUCCEEDED
    rows = {r["contactid"]: r.get("jobtitle") for r in world.dynamics_rows("contact")}
    titles = {p["dynamicsId"]: p.get("title") for p in world.marketo_rows("lead")}
    assert [rows[c] for c in contacts] == ["Slow Marketo"] * 10 + ["Slow Dynamics"] * 10
    assert [titles[c] for c in contacts] == [rows[c] for c in contacts]
    assert_each_contact_once(world)
