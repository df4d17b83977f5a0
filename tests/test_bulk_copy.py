"""The first copy of contacts and leads through Marketo's bulk import, against both emulators
and Azurite: every record one person and linked, files looked up so that re-importing creates
nothing twice, bad rows in the errors table, a crash between submit and checkpoint harmless,
and what the import could not do finished through REST by the next run."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync.engine import bulk_copy
from sync.engine.full_copy import BulkRefused, CopyPath, begin_full_copy, full_copy
from sync.engine.run import run_once
from sync.objects import Direction, SyncObject
from sync.reporting.status import status_report
from sync.reporting.status_text import status_table
from sync.store.checkpoints import Phase
from sync.store.links import DynamicsRef
from tests.emulator_support import control
from tests.sync_support import Crash, World, by_key

D2M = Direction.DYNAMICS_TO_MARKETO
PAGE = 25
FAST_JOBS = {"time_scale": 20.0}  # Marketo's jobs and its 20 s window, 20 times faster


@pytest.fixture
def world(make_sync_world: Callable[..., World], monkeypatch: pytest.MonkeyPatch) -> World:
    made = make_sync_world(SYNC_BULK_POLL_S="0.05", marketo_options=FAST_JOBS)
    monkeypatch.setattr(bulk_copy, "FILL_BYTES", 5_400)  # a few pages a file: several files
    _small_pages(made)
    return made


def _small_pages(world: World) -> None:
    world.engine.dataverse.changes.page_size = world.engine.dataverse.modified_since.page_size = PAGE


def _contacts(world: World, n: int, start: int = 0, **extra: Any) -> list[str]:
    return [
        world.create(
            "contact", {"firstname": f"C{i}", "lastname": "Bulk", "emailaddress1": f"c{i}@example.com", **extra}
        ).lower()
        for i in range(start, start + n)
    ]


def _persons(world: World, entity: str = "contact") -> list[dict[str, Any]]:
    return [r for r in world.marketo_rows("lead") if r.get("dynamicsEntityType") == entity]


def _copy(world: World, obj: SyncObject = SyncObject.CONTACT) -> None:
    checkpoint, _, _ = full_copy(world.engine, obj, path=CopyPath.BULK, sleep=time.sleep)
    assert checkpoint.phase is Phase.INCREMENTAL


def _linked(world: World, ids: list[str], table: str = "contact") -> dict[str, str]:
    links = world.store.links.get_many_by_dynamics(DynamicsRef(table=table, id=i) for i in ids)
    return {ref.id: link.marketo.id for ref, link in links.items()}


def _stats(world: World) -> dict[str, Any]:
    return dict(control(world.marketo, "GET", "stats"))


def test_a_bulk_copy_makes_every_contact_one_person_linked_with_a_few_calls_and_no_push(world: World) -> None:
    ids = _contacts(world, 150)
    no_email = world.create("contact", {"firstname": "No", "lastname": "Email"}).lower()
    twin = world.create("contact", {"firstname": "Twin", "lastname": "Bulk", "emailaddress1": "c3@example.com"})
    ids += [no_email, twin.lower()]
    before = _stats(world)
    _copy(world)
    persons = _persons(world)
    assert sorted(p["dynamicsId"] for p in persons) == sorted(ids)  # one person each, twins included
    by_id = by_key(persons, "dynamicsId")
    assert _linked(world, ids) == {i: str(by_id[i]["id"]) for i in ids}
    assert by_id[twin.lower()]["email"] == by_id[ids[3]]["email"] == "c3@example.com"
    assert by_id[twin.lower()]["id"] != by_id[ids[3]]["id"]
    used = _stats(world)["by_route"]
    pushes = used.get("leads", 0) - before["by_route"].get("leads", 0)
    imports = used.get("bulk_import", 0) - before["by_route"].get("bulk_import", 0)
    assert pushes == 0 and imports >= 3  # files, not 300-person calls
    calls = _stats(world)["total"] - before["total"]
    assert calls < 100, calls
    error_ids = {e.record_id for e in world.store.errors.list(SyncObject.CONTACT)}
    assert error_ids == set()
    # the copy hands over to incremental runs: a change made now flows through REST
    world.update("contact", ids[0], {"jobtitle": "After the copy"})
    run_once(world.engine, SyncObject.CONTACT)
    assert by_key(_persons(world), "dynamicsId")[ids[0]]["title"] == "After the copy"


def test_leads_after_contacts_never_take_a_contacts_person_by_email(world: World) -> None:
    contacts = _contacts(world, 30)
    shared = world.create("lead", {"lastname": "Lead", "emailaddress1": "c5@example.com", "subject": "s"}).lower()
    own = world.create("lead", {"lastname": "Lead", "emailaddress1": "lead@example.com", "subject": "s"}).lower()
    _copy(world, SyncObject.CONTACT)
    _copy(world, SyncObject.LEAD)
    contact_persons = by_key(_persons(world), "dynamicsId")
    lead_persons = by_key(_persons(world, "lead"), "dynamicsId")
    assert set(contact_persons) == set(contacts) and set(lead_persons) == {shared, own}
    assert lead_persons[shared]["id"] != contact_persons[contacts[5]]["id"]  # its own person, as REST does
    assert _linked(world, [shared, own], "lead") == {i: str(lead_persons[i]["id"]) for i in (shared, own)}


def test_an_existing_marketo_person_is_matched_by_email_and_linked_by_the_next_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = world.engine.marketo.persons.upsert([{"email": "c1@example.com", "firstName": "From a form"}])[0]
    monkeypatch.setattr(bulk_copy, "WINDOW_MARGIN", timedelta(0))
    time.sleep(1.1)  # the person was made before the copy began (Marketo stamps whole seconds)
    ids = _contacts(world, 40)
    _copy(world)
    rows = world.marketo_rows("lead")
    assert len(rows) == 40  # updated by email, not duplicated
    matched = next(r for r in rows if r["id"] == existing.id)
    assert (matched["dynamicsId"], matched["firstName"]) == (ids[1], "C1")
    error = world.store.errors.get(SyncObject.CONTACT, D2M, ids[1])
    assert error is not None and error.code == "not-imported"  # made before the copy: not in its extract
    run_once(world.engine, SyncObject.CONTACT)  # due now: REST finds it by email (one query)
    assert _linked(world, [ids[1]]) == {ids[1]: str(existing.id)}
    assert world.store.errors.get(SyncObject.CONTACT, D2M, ids[1]) is None
    assert len(world.marketo_rows("lead")) == 40


def test_a_file_with_bad_rows_sends_exactly_those_rows_to_the_errors_table(world: World) -> None:
    reason = "Value 'Refused' blocked by a validation rule"  # stands for any row Marketo refuses at import
    control(world.marketo, "POST", "import-refusals", {"field": "lastName", "value": "Refused", "reason": reason})
    good = _contacts(world, 60)
    bad = [
        world.create("contact", {"lastname": "Refused", "emailaddress1": f"bad{i}@example.com"}).lower()
        for i in range(3)
    ]
    _copy(world)
    errors = {e.record_id: e for e in world.store.errors.list(SyncObject.CONTACT)}
    assert set(errors) == set(bad)
    assert all(errors[i].message == reason and errors[i].kind == "bad_record" for i in bad)
    assert set(_linked(world, good + bad)) == set(good)  # no pending link left behind
    assert sorted(p["dynamicsId"] for p in _persons(world)) == sorted(good)


def test_rows_imported_with_a_warning_are_linked_and_listed_by_the_status(world: World) -> None:
    """Marketo imports a malformed email with a warning (REST would refuse it): the person
    exists, so it is linked, and the status names the record and Marketo's reason."""
    good = _contacts(world, 40)
    odd = world.create("contact", {"lastname": "Odd", "emailaddress1": "not an email"}).lower()
    _copy(world)
    assert set(_linked(world, [*good, odd])) == {*good, odd}
    assert list(world.store.errors.list(SyncObject.CONTACT)) == []
    report = status_report(world.store, datetime.now(UTC))
    contact = next(o for o in report["objects"] if o["object"] == "contact")
    assert [(w["record"], w["reason"], w["email"]) for w in contact["bulk_warnings"]] == [
        (odd, "Invalid email address", "not an email")
    ]
    assert f"{odd} (Invalid email address)" in status_table(report)


def test_a_crash_between_submit_and_checkpoint_duplicates_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _contacts(world, 120)
    api = world.engine.marketo.bulk_persons
    submitted: list[int] = []
    real_submit, real_save = type(api).submit, world.store.checkpoints.save

    def submit(self: Any, data: bytes, lookup: str) -> int:
        submitted.append(real_submit(self, data, lookup))
        return submitted[-1]

    def save(checkpoint: Any) -> Any:
        if len(submitted) == 2:  # the second file is at Marketo; the process dies before its checkpoint
            raise Crash
        return real_save(checkpoint)

    monkeypatch.setattr(type(api), "submit", submit)
    monkeypatch.setattr(world.store.checkpoints, "save", save)
    with pytest.raises(Crash):
        _copy(world)
    monkeypatch.setattr(world.store.checkpoints, "save", real_save)
    world.restart()
    _small_pages(world)
    _copy(world)  # resumes: the file is read and submitted again
    assert len(submitted) > 2
    persons = _persons(world)
    assert sorted(p["dynamicsId"] for p in persons) == sorted(ids)  # re-imported, nothing twice
    assert _linked(world, ids) == {p["dynamicsId"]: str(p["id"]) for p in persons}


def test_the_bulk_path_is_chosen_by_size_and_refused_where_it_cannot_copy(
    make_sync_world: Callable[..., World],
) -> None:
    world = make_sync_world(SYNC_BULK_THRESHOLD="20", SYNC_BULK_POLL_S="0.05", marketo_options=FAST_JOBS)
    _contacts(world, 25)
    world.create("account", {"name": "Acme"})
    assert bulk_copy.bulk_state(begin_full_copy(world.engine, SyncObject.CONTACT)) is not None
    assert bulk_copy.bulk_state(begin_full_copy(world.engine, SyncObject.ACCOUNT)) is None
    with pytest.raises(BulkRefused, match="not a contact or lead table"):
        begin_full_copy(world.engine, SyncObject.OPPORTUNITY, path=CopyPath.BULK)


def test_a_table_under_the_threshold_copies_through_rest(make_sync_world: Callable[..., World]) -> None:
    world = make_sync_world(SYNC_BULK_THRESHOLD="1000")
    world.create("contact", {"lastname": "One"})
    assert bulk_copy.bulk_state(begin_full_copy(world.engine, SyncObject.CONTACT)) is None


def test_the_status_says_where_a_bulk_copy_stands(world: World) -> None:
    _contacts(world, 60)
    checkpoint = begin_full_copy(world.engine, SyncObject.CONTACT, path=CopyPath.BULK)
    copy = bulk_copy.BulkCopy(world.engine, world.engine.pipelines[SyncObject.CONTACT][0])
    for _ in copy.advance(checkpoint, set(), more=lambda: False):
        pass  # one file submitted
    report = status_report(world.store, datetime.now(UTC))
    contact = next(o for o in report["objects"] if o["object"] == "contact")
    bulk = contact["directions"][0]["bulk"]
    assert bulk["phase"] == "import" and bulk["open_jobs"] >= 1 and bulk["files"] == 1
    assert "bulk import: " in status_table(report)


def test_rows_over_marketos_file_limit_are_split_into_files_that_keep_every_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk_copy, "MAX_FILE_BYTES", 1_000)
    rows = [{"email": f"p{i}@example.com", "note": "x" * 40} for i in range(100)]
    files = list(bulk_copy._files(rows))
    assert len(files) > 4 and all(len(data) <= 1_000 for _, data in files)
    assert [r for part, _ in files for r in part] == rows
    assert sum(len(data.decode().splitlines()) - 1 for _, data in files) == 100  # one header a file
