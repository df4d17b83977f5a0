"""The Marketo emulator's rules, called directly (no HTTP): pushing persons and the bulk jobs'
lifecycles and limits. What the routes add on top is the wire, tested in test_marketo_emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulators.marketo import bulk_files
from emulators.marketo.bulk import MAX_QUEUED, BulkJobs, ExportJob
from emulators.marketo.envelopes import MarketoError
from emulators.marketo.models import PersonDatabase
from emulators.marketo.push import push_person

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp()


def _push(persons: PersonDatabase, *records: dict[str, Any], action: str = "createOrUpdate") -> list[dict[str, Any]]:
    seen: set[Any] = set()
    return [push_person(persons, r, action, "email", seen, NOW) for r in records]


def _codes(results: list[dict[str, Any]]) -> list[str]:
    return [r["reasons"][0]["code"] if r["status"] == "skipped" else r["status"] for r in results]


def test_a_push_creates_then_updates_by_lookup_and_skips_what_marketo_skips() -> None:
    persons = PersonDatabase()
    assert _codes(_push(persons, {"email": "a@example.com"})) == ["created"]
    assert _codes(
        _push(
            persons,
            {"email": "A@example.com", "firstName": "Ada"},  # the lookup ignores case
            {"email": "a@example.com"},  # the same person twice in one call
            {"email": "b@example.com", "noSuchField": 1},
            {"email": "c@example.com", "numberOfEmployees": "many"},
        )
    ) == ["updated", "1036", "1006", "1003"]
    assert _codes(_push(persons, {"email": "z@example.com"}, action="updateOnly")) == ["1004"]
    assert _codes(_push(persons, {"email": "a@example.com"}, action="createOnly")) == ["1005"]
    assert len(persons.leads) == 1


def test_an_import_sends_exactly_its_bad_rows_to_failures_with_marketos_reason() -> None:
    persons, jobs = PersonDatabase(), BulkJobs()
    rows = [
        {"email": "ok@example.com", "numberOfEmployees": "10"},
        {"email": "bad@example.com", "numberOfEmployees": "x"},
    ]
    job = jobs.submit_import(rows, "email", NOW)
    for later in (2, 4):  # queued, then importing, then complete
        jobs.advance(persons, NOW + later, lambda s: s, "2026-11-20")
    assert (job.status, job.processed) == ("Complete", 1)
    assert [(row["email"], why) for row, why in job.failures] == [
        ("bad@example.com", "Invalid value 'x' for field 'numberOfEmployees' of type integer")
    ]
    failures = bulk_files.failure_csv(job.failures, "Import Failure Reason").decode().splitlines()
    assert failures[0] == "email,numberOfEmployees,Import Failure Reason" and len(failures) == 2


def _imported(persons: PersonDatabase, rows: list[dict[str, str]], lookup: str = "email") -> Any:
    jobs = BulkJobs()
    job = jobs.submit_import(rows, lookup, NOW)
    for later in (2, 4):
        jobs.advance(persons, NOW + later, lambda s: s, "2026-11-20")
    assert job.status == "Complete"
    return job


def test_an_import_keeps_a_malformed_email_and_warns_of_it_where_rest_refuses_it() -> None:
    """Adobe's bulk import docs: a row with INVALID_EMAIL is imported, "Invalid email address"
    in the warnings file. REST refuses the same value (1003)."""
    persons = PersonDatabase()
    job = _imported(persons, [{"email": "INVALID_EMAIL", "lastName": "Targaryen"}, {"email": "ok@example.com"}])
    assert (job.processed, job.failures) == (2, [])
    assert [(row["email"], why) for row, why in job.warnings] == [("INVALID_EMAIL", "Invalid email address")]
    assert job.wire()["numOfRowsWithWarning"] == 1
    assert sorted(p["email"] for p in persons.leads.values()) == ["INVALID_EMAIL", "ok@example.com"]
    warnings = bulk_files.failure_csv(job.warnings, "Import Warning Reason").decode().splitlines()
    assert warnings == ["email,lastName,Import Warning Reason", "INVALID_EMAIL,Targaryen,Invalid email address"]
    assert _codes(_push(PersonDatabase(), {"email": "INVALID_EMAIL"})) == ["1003"]


def test_an_import_row_without_its_lookup_value_fails_with_marketos_reason() -> None:
    persons = PersonDatabase()
    job = _imported(persons, [{"email": "", "lastName": "Nordstrom"}, {"email": "a@example.com"}])
    assert [why for _, why in job.failures] == ["Value for lookup field 'email' not found"]
    assert len(persons.leads) == 1


def test_an_import_updates_the_most_recently_updated_of_persons_sharing_an_email_where_rest_refuses() -> None:
    persons = PersonDatabase()
    older = persons.create({"email": "twin@example.com", "firstName": "Old"}, NOW - 3600, "test")
    newer = persons.create({"email": "twin@example.com", "firstName": "New"}, NOW - 60, "test")
    assert _codes(_push(persons, {"email": "twin@example.com"})) == ["1007"]
    _imported(persons, [{"email": "twin@example.com", "title": "Imported"}])
    assert (persons.leads[newer].get("title"), persons.leads[older].get("title")) == ("Imported", None)


def test_imports_queue_ten_deep_and_extracts_count_a_daily_quota_by_finish_day() -> None:
    jobs = BulkJobs()
    for _ in range(MAX_QUEUED):
        jobs.submit_import([{"email": "q@example.com"}], "email", NOW)
    with pytest.raises(MarketoError) as refused:
        jobs.submit_import([{"email": "q@example.com"}], "email", NOW)
    assert refused.value.code == "1016"
    window = ("createdAt", datetime.fromtimestamp(NOW, UTC) - timedelta(days=1), datetime.fromtimestamp(NOW, UTC))
    export = jobs.add_export(ExportJob("e1", "leads", ["email"], window, NOW))
    jobs.export_bytes["2026-11-20"] = 500 * 1024 * 1024
    with pytest.raises(MarketoError) as spent:
        jobs.enqueue(export, NOW, "2026-11-20")
    assert spent.value.code == "1029"
    jobs.enqueue(export, NOW, "2026-11-21")  # a new day
    assert export.status == "Queued"


def test_an_activity_extract_keeps_its_window_and_types() -> None:
    persons = PersonDatabase()
    _push(persons, {"email": "a@example.com"})
    lead = next(iter(persons.leads))
    persons.update(lead, {"firstName": "Ada"}, NOW + 60, "Web service API")
    start = datetime.fromtimestamp(NOW - 1, UTC)
    rows = bulk_files.activity_rows(
        persons.activities.items, ("createdAt", start, start + timedelta(hours=1)), frozenset({13})
    )
    assert [(r["leadId"], r["activityTypeId"]) for r in rows] == [(lead, 13)]
    before = bulk_files.activity_rows(
        persons.activities.items, ("createdAt", start, start + timedelta(seconds=30)), frozenset()
    )
    assert [r["activityTypeId"] for r in before] == [12]
