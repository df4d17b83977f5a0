"""The production Marketo client against the emulator over HTTPS, one test per policy row."""

from __future__ import annotations

import csv
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulators.launch import RunningEmulator
from sync.connectors.http.deadline import Deadline, DeadlineExceeded, within
from sync.connectors.http.failures import FailureKind
from sync.connectors.http.retrying import RetryPolicy
from sync.connectors.marketo.bulk import _lines, csv_rows
from sync.connectors.marketo.errors import (
    MarketoAuthFailed,
    MarketoFatal,
    MarketoQuotaExhausted,
    MarketoRetryable,
)
from tests.emulator_support import control, fault, route_count, wait_for
from tests.marketo_support import marketo_connection


def _people(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"email": f"person{i}@example.com", "firstName": f"P{i}", "lastName": "Test"} for i in range(start, start + n)
    ]


def test_a_push_of_650_persons_goes_in_300s_and_keeps_every_outcome_in_input_order(
    marketo: RunningEmulator,
) -> None:
    conn = marketo_connection(marketo)
    records = _people(650)
    records[10] = {"email": "not-an-email", "lastName": "Bad"}
    records[400] = {"email": "x@example.com", "favouriteColour": "blue"}
    results = conn.persons.upsert(records)
    assert len(results) == 650
    assert route_count(marketo, "leads") == 3
    assert [r.status for r in results[:3]] == ["created"] * 3
    bad_email, unknown_field = results[10], results[400]
    assert (bad_email.status, bad_email.reason and bad_email.reason.code) == ("skipped", "1003")
    assert unknown_field.reason is not None and unknown_field.reason.code == "1006"
    assert "favouriteColour" in unknown_field.reason.message
    assert len(control(marketo, "GET", "data/lead")["rows"]) == 648


def test_bodies_over_a_megabyte_are_split_before_marketo_refuses_them(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    conn.persons.client.call(
        "POST",
        "/rest/v1/leads/schema/fields.json",
        json={"input": [{"name": "notes", "displayName": "Notes", "dataType": "text"}]},
    )
    records = [{**p, "notes": "n" * 5000} for p in _people(300)]  # ~1.5 MB in one 300-record call
    results = conn.persons.upsert(records)
    assert [r.status for r in results] == ["created"] * 300
    assert route_count(marketo, "leads") == 2


def test_query_returns_requested_fields_with_absent_values_as_none(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    conn.persons.upsert(_people(3))
    rows = conn.persons.query(
        "email",
        ["person1@example.com", "person2@example.com", "nobody@example.com"],
        ["email", "firstName", "phone"],
    )
    assert sorted((r["email"], r["firstName"], r["phone"]) for r in rows) == [
        ("person1@example.com", "P1", None),
        ("person2@example.com", "P2", None),
    ]


def test_a_long_query_goes_as_post_with_method_get_instead_of_an_over_long_uri(
    marketo: RunningEmulator,
) -> None:
    conn = marketo_connection(marketo)
    conn.persons.upsert(_people(300))
    emails = [f"person{i}@example.com" for i in range(300)]  # ~7 KB of filter values
    rows = conn.persons.query("email", emails, ["email"])
    assert len(rows) == 300


def test_the_token_is_reused_until_it_expires_then_replaced(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    for _ in range(3):
        conn.persons.query("email", ["a@example.com"], ["email"])
    assert conn.client.token.fetches == 1
    control(marketo, "POST", "clock", {"advance_seconds": 3600})
    conn.persons.query("email", ["a@example.com"], ["email"])
    assert conn.client.token.fetches == 2


def test_a_token_rejected_twice_in_a_row_is_fatal_not_an_endless_loop(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    fault(marketo, path="/rest/v1/leads.json", error_code="601", times=5)
    with pytest.raises(MarketoFatal, match="freshly issued token"):
        conn.persons.query("email", ["a@example.com"], ["email"])
    assert route_count(marketo, "leads") == 2


def test_a_transient_error_that_never_clears_gives_up_after_the_configured_attempts(
    marketo: RunningEmulator,
) -> None:
    conn = marketo_connection(marketo, retry=RetryPolicy(max_attempts=4, backoff_initial_s=0.01, backoff_max_s=0.05))
    fault(marketo, path="/rest/v1/leads.json", error_code="611")
    with pytest.raises(MarketoRetryable) as raised:
        conn.persons.upsert(_people(1))
    assert raised.value.code == "611"
    assert route_count(marketo, "leads") == 4


@pytest.mark.parametrize(
    ("code", "message"), [("607", "Daily quota reached"), ("1029", "Export daily quota 500MB exceeded")]
)
def test_the_daily_quota_stops_cleanly_with_the_reset_time_and_no_retry(
    marketo: RunningEmulator, code: str, message: str
) -> None:
    conn = marketo_connection(marketo)
    fault(marketo, path="/rest/v1/leads.json", error_code=code, message=message)
    with pytest.raises(MarketoQuotaExhausted) as raised:
        conn.persons.upsert(_people(1))
    assert raised.value.resets_at > datetime.now(UTC)
    assert raised.value.resets_at - datetime.now(UTC) <= timedelta(days=1)
    assert route_count(marketo, "leads") == 1


@pytest.mark.parametrize("code", ["702", "9999"])
def test_codes_the_policy_does_not_know_are_fatal_at_once(marketo: RunningEmulator, code: str) -> None:
    conn = marketo_connection(marketo)
    fault(marketo, path="/rest/v1/leads.json", error_code=code)
    with pytest.raises(MarketoFatal) as raised:
        conn.persons.upsert(_people(1))
    assert raised.value.code == code
    assert route_count(marketo, "leads") == 1


def test_wrong_credentials_name_the_settings_to_fix(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo, MARKETO_CLIENT_SECRET="wrong-secret")
    with pytest.raises(MarketoAuthFailed) as raised:
        conn.persons.query("email", ["a@example.com"], ["email"])
    assert "MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET" in str(raised.value)
    assert "wrong-secret" not in str(raised.value)


def test_a_burst_never_triggers_606_when_the_limiter_matches_marketo(start_marketo: Any) -> None:
    # Marketo's 100 calls / 20 s, run ten times faster: 100 calls / 2 s.
    emulator = start_marketo(time_scale=10.0)
    conn = marketo_connection(emulator, MARKETO_RATE_LIMIT_CALLS="100", MARKETO_RATE_LIMIT_WINDOW_S="2")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda n: conn.persons.query("email", [f"p{n}@example.com"], ["email"]), range(250)))
    elapsed = time.monotonic() - started
    stats = control(emulator, "GET", "stats")
    assert stats["by_route"]["leads"] == 250
    assert stats["throttled"] == 0
    assert elapsed >= 4.0  # 250 calls at 100 per 2 s cannot finish sooner: the limiter really waited


def test_a_606_from_a_window_another_integration_filled_holds_our_calls_briefly_not_a_whole_window(
    start_marketo: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Marketo's 100 calls / 20 s ten times faster: 100 calls / 2 s. Another integration on the
    # same API user (its own limiter) fills the window after us: ours counts 61 calls, Marketo 100.
    emulator = start_marketo(time_scale=10.0)
    ours, theirs = (
        marketo_connection(emulator, MARKETO_RATE_LIMIT_CALLS="100", MARKETO_RATE_LIMIT_WINDOW_S="2") for _ in "ab"
    )

    def query(conn: Any, n: int) -> None:
        conn.persons.query("email", [f"p{n}@example.com"], ["email"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda n: query(ours, n), range(60)))  # and the usage read: 61
        time.sleep(1.0)
        list(pool.map(lambda n: query(theirs, n), range(38)))  # and theirs: 39
    assert control(emulator, "GET", "stats")["throttled"] == 0
    with caplog.at_level("WARNING", logger="sync.connectors.marketo"), ThreadPoolExecutor(max_workers=10) as pool:
        first = pool.submit(query, ours, 1000)  # Marketo's window is full: 606
        wait_for(lambda: caplog.records, bool, what="the 606")
        list(pool.map(lambda n: query(ours, n), range(2000, 2020)))  # asked during the hold: held too
        first.result()
    retries = [r for r in caplog.records if "606" in r.getMessage()]
    assert retries[0].__dict__["wait_s"] == pytest.approx(0.1)  # a twentieth of the window, not all of it
    assert "had counted 62 of the 100 calls it may make" in retries[0].getMessage()  # 61 and the one refused
    assert max(r.__dict__["wait_s"] for r in retries) <= 1.0  # never past our oldest call's leaving
    refused = control(emulator, "GET", "stats")["throttled"]
    # one call at a time finds out whether the window has room (0.1, 0.2, then until our oldest left):
    # the twenty asked meanwhile wait for it instead of all meeting the full window
    assert refused == len(retries) <= 5  # the first, then at most one a doubling until our oldest left


def test_concurrent_pushes_never_exceed_ten_in_flight(start_marketo: Any) -> None:
    emulator = start_marketo()
    fault(emulator, path="/rest/v1/leads.json", delay_s=0.2)  # keep calls in flight
    conn = marketo_connection(emulator, MARKETO_RATE_LIMIT_WINDOW_S="0.01")
    with ThreadPoolExecutor(max_workers=25) as pool:
        outcomes = list(pool.map(lambda n: conn.persons.upsert(_people(1, start=n)), range(25)))
    assert all(o[0].status == "created" for o in outcomes)
    assert control(emulator, "GET", "stats")["throttled"] == 0


def test_the_daily_budget_stops_calls_and_counts_marketos_own_usage(marketo: RunningEmulator) -> None:
    other = marketo_connection(marketo)
    for _ in range(3):  # another integration's calls today, plus its own usage read
        other.persons.query("email", ["a@example.com"], ["email"])
    conn = marketo_connection(marketo, MARKETO_DAILY_CALL_BUDGET="5")
    assert conn.client.refresh_usage() == 4
    conn.persons.query("email", ["a@example.com"], ["email"])  # the 5th call today
    with pytest.raises(MarketoQuotaExhausted, match="MARKETO_DAILY_CALL_BUDGET"):
        conn.persons.query("email", ["a@example.com"], ["email"])


def _activities(conn: Any, token: str, *type_ids: int) -> list[dict[str, Any]]:
    return [a for page in conn.activities.read_activities(token, type_ids) for a in page.activities]


def test_new_persons_value_changes_and_deletions_are_read_after_a_paging_token(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    token = conn.activities.paging_token(datetime.now(UTC) - timedelta(minutes=1))
    created = conn.persons.upsert(_people(2))
    conn.persons.upsert([{"email": "person0@example.com", "firstName": "Renamed", "lastName": "Test"}])
    conn.persons.delete([created[1].id or 0])
    activities = _activities(conn, token, 12, 13, 37)
    assert [(a["activityTypeId"], a["leadId"]) for a in activities] == [
        (12, created[0].id),
        (12, created[1].id),
        (13, created[0].id),
        (37, created[1].id),
    ]
    change = activities[2]
    names = {f["name"]: f["value"] for f in change["attributes"]}
    assert (names["Old Value"], names["New Value"]) == ("P0", "Renamed")
    assert conn.persons.field_ids()[int(change["primaryAttributeValueId"])] == "firstName"


def test_deleted_leads_older_than_14_days_are_pruned(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    token = conn.activities.paging_token(datetime.now(UTC) - timedelta(minutes=1))
    created = conn.persons.upsert(_people(1))
    conn.persons.delete([created[0].id or 0])
    control(marketo, "POST", "clock", {"advance_seconds": 15 * 24 * 3600})
    assert _activities(conn, token, 37) == []


def test_custom_person_fields_can_be_created_described_and_used_as_lookup(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    created = conn.persons.create_fields([{"name": "dynamicsId", "displayName": "Dynamics Id", "dataType": "string"}])
    assert [r.status for r in created] == ["created"]
    schema = conn.persons.describe()
    assert schema.fields["dynamicsId"].dataType == "string"
    assert ("dynamicsId",) in schema.searchable
    conn.persons.upsert([{"email": "a@example.com", "dynamicsId": "6b29fc40-ca47-1067-b31d-00dd010662da"}])
    updated = conn.persons.upsert(
        [{"dynamicsId": "6b29fc40-ca47-1067-b31d-00dd010662da", "firstName": "Ada"}],
        action="updateOnly",
        lookup_field="dynamicsId",
    )
    assert [r.status for r in updated] == ["updated"]


def test_companies_opportunities_roles_and_sales_persons_sync_query_and_delete(
    marketo: RunningEmulator,
) -> None:
    conn = marketo_connection(marketo)
    companies, sales_persons = conn.lead_database("company"), conn.lead_database("salesperson")
    opportunities, roles = conn.lead_database("opportunity"), conn.lead_database("opportunityrole")
    assert [r.status for r in companies.upsert([{"externalCompanyId": "acc-1", "company": "Contoso"}])] == ["created"]
    assert [r.status for r in companies.upsert([{"externalCompanyId": "acc-1", "company": "Contoso Ltd"}])] == [
        "updated"
    ]
    assert companies.query("externalCompanyId", ["acc-1"], ["company"])[0]["company"] == "Contoso Ltd"
    assert [r.status for r in sales_persons.upsert([{"externalSalesPersonId": "u-1", "email": "o@x.com"}])] == [
        "created"
    ]
    opportunity = opportunities.upsert([{"externalOpportunityId": "opp-1", "name": "Big deal"}])[0]
    assert opportunity.status == "created" and opportunity.marketoGUID
    nameless = opportunities.upsert([{"externalOpportunityId": "opp-2"}])[0]
    assert nameless.reason is not None and "name" in nameless.reason.message
    person = conn.persons.upsert(_people(1))[0]
    role = {"externalOpportunityId": "opp-1", "leadId": person.id, "role": "Decision Maker"}
    assert [r.status for r in roles.upsert([{**role, "isPrimary": True}])] == ["created"]
    found = roles.query("dedupeFields", [role], ["isPrimary"])
    assert [r["isPrimary"] for r in found] == [True]
    assert [r.status for r in companies.delete([{"externalCompanyId": "acc-1"}])] == ["deleted"]
    assert companies.query("externalCompanyId", ["acc-1"]) == []
    with pytest.raises(KeyError, match="no standard object 'lead'"):
        conn.lead_database("lead")


def test_custom_objects_sync_describe_and_delete(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    projects = conn.custom_object("dynamicsProject_c")
    described = projects.describe()
    assert described["dedupeFields"] == ["projectId"]
    assert described["relationships"][0]["field"] == "leadId"
    assert [r.status for r in projects.upsert([{"projectId": "p-1", "projectName": "Apollo", "budget": 1200.5}])] == [
        "created"
    ]
    assert projects.query("projectId", ["p-1"], ["projectName", "budget"])[0]["budget"] == 1200.5
    assert [r.status for r in projects.delete([{"projectId": "p-1"}])] == ["deleted"]
    with pytest.raises(MarketoFatal, match="Custom object 'nope_c' not found"):
        conn.custom_object("nope_c").describe()


def test_a_bulk_import_runs_through_its_lifecycle_and_reports_failed_and_warned_rows(start_marketo: Any) -> None:
    emulator = start_marketo(time_scale=20.0)
    bulk = marketo_connection(emulator).bulk_persons
    records: list[dict[str, Any]] = _people(500)
    records[7] = {"email": "bad-row@example.com", "firstName": "Bad", "numberOfEmployees": "many"}
    records[8] = {"email": "broken", "firstName": "Odd", "lastName": "Row"}  # kept, with a warning
    batch_id = bulk.submit(csv_rows(records, sorted({k for r in records for k in r})), "email")
    assert bulk.import_status(batch_id).status == "Queued"
    done = wait_for(lambda: bulk.import_status(batch_id), lambda status: status.done, what="the bulk import")
    assert (done.status, done.processed, done.failed, done.warnings) == ("Complete", 499, 1, 1)
    failures = bulk.import_failures(batch_id)
    assert [(f["email"], f["Import Failure Reason"]) for f in failures] == [
        ("bad-row@example.com", "Invalid value 'many' for field 'numberOfEmployees' of type integer")
    ]
    warnings = bulk.import_warnings(batch_id)
    assert [(w["email"], w["Import Warning Reason"]) for w in warnings] == [("broken", "Invalid email address")]
    assert control(emulator, "GET", "data/lead")["count"] == 499


def _parse_peak(rows: int) -> int:
    part = "".join(f"{1_000_000 + n},{uuid.uuid4()},contact\n" for n in range(rows)).encode()
    tracemalloc.start()
    try:
        assert sum(1 for _ in csv.reader(_lines(part, len(part)))) == rows
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_parsing_an_extract_part_takes_memory_that_does_not_grow_with_the_part() -> None:
    """A 32 MB part decoded whole into a StringIO took ~150 MB more (4 bytes a character); read
    line by line 256 KB at a time, a part four times larger costs no more."""
    small, large = _parse_peak(50_000), _parse_peak(200_000)  # 2.6 MB and 10.6 MB of CSV
    assert large < small + 512 * 1024, (small, large)


def _finished(bulk: Any, export_id: str) -> Any:
    return wait_for(lambda: bulk.extract_status(export_id), lambda status: status.done, what="the bulk extract")


def test_a_bulk_extract_is_started_polled_by_the_caller_and_read_as_rows(start_marketo: Any) -> None:
    emulator = start_marketo(time_scale=20.0)
    conn = marketo_connection(emulator)
    conn.persons.upsert(_people(40))
    now = datetime.now(UTC)
    bulk = conn.bulk_persons
    export_id = bulk.start_extract(
        ["id", "email", "phone"], "createdAt", now - timedelta(days=1), now + timedelta(days=1)
    )
    assert not bulk.extract_status(export_id).done  # start returns at once; nobody waited inside it
    with pytest.raises(MarketoFatal, match="not Completed"):
        list(bulk.extract_rows(bulk.extract_status(export_id)))
    done = _finished(bulk, export_id)
    assert (done.status, done.records) == ("Completed", 40)
    rows = list(bulk.extract_rows(done))
    assert len(rows) == 40
    assert rows[0]["phone"] == "null"  # Marketo writes an empty field as null
    with pytest.raises(MarketoFatal, match="at most 31 days"):
        bulk.start_extract(["id"], "createdAt", now - timedelta(days=40), now)


def test_activity_pages_that_come_back_empty_with_more_result_are_followed_to_the_end(
    marketo: RunningEmulator,
) -> None:
    conn = marketo_connection(marketo)
    created = conn.persons.upsert(_people(1100))
    control(marketo, "POST", "clock", {"advance_seconds": 60})  # the creations are a minute old
    token = conn.activities.paging_token(datetime.now(UTC) + timedelta(seconds=30))
    conn.persons.delete([r.id or 0 for r in created[1:]])  # 1,099 deletions: more than one call scans
    conn.persons.upsert([{"email": "person0@example.com", "firstName": "Renamed"}])
    pages = list(conn.activities.read_activities(token, [13]))
    assert pages[0].activities == [] and pages[0].more  # a whole scanned slice held no value change
    changes = [a for p in pages for a in p.activities]
    assert [(a["activityTypeId"], a["leadId"]) for a in changes] == [(13, created[0].id)]
    assert not pages[-1].more
    assert len(_activities(conn, token, 37)) == 1099


def test_custom_objects_are_queried_by_300_guids_without_an_over_long_uri(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    projects = conn.custom_object("dynamicsProject_c")
    created = projects.upsert([{"projectId": f"p-{n}", "projectName": f"Project {n}"} for n in range(300)])
    guids = [r.marketoGUID or "" for r in created]
    assert len(set(guids)) == 300  # 300 GUIDs of 36 characters: 11 KB of filter values
    rows = projects.query("idField", guids, ["projectId"])
    assert sorted(r["projectId"] for r in rows) == sorted(f"p-{n}" for n in range(300))


def test_a_429_storm_stops_at_the_deadline_naming_the_last_failure(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    conn.persons.query("email", ["warm-up@example.com"], ["email"])
    fault(marketo, path="/rest/v1/leads.json", method="POST", status=429, retry_after=1)
    started = time.monotonic()
    with within(Deadline.after(2.5)), pytest.raises(DeadlineExceeded) as raised:
        conn.persons.upsert(_people(1))
    elapsed = time.monotonic() - started
    assert elapsed < 2.5  # no sleep ran past the deadline
    stopped = raised.value
    assert stopped.kind is FailureKind.THROTTLED
    assert stopped.attempts == 3  # at 0 s, 1 s and 2 s; a fourth would start after the deadline
    assert "HTTP 429" in str(stopped) and "3 attempt(s)" in str(stopped)


@pytest.mark.parametrize(
    ("profile", "low", "high"),
    [("realistic", 0.12, 0.5), ("pessimistic", 0.5, 1.2)],  # (0.25 s + 300 x 4 ms) / 10; (1 s + 300 x 15 ms) / 10
)
def test_a_300_person_push_takes_what_the_latency_profile_says_scaled(
    start_marketo: Any, profile: str, low: float, high: float
) -> None:
    from emulators.common.latency import Latency

    emulator = start_marketo(latency=Latency(profile), time_scale=10.0)
    conn = marketo_connection(emulator)
    conn.persons.query("email", ["warm@example.com"], ["email"])  # token and connection first
    started = time.monotonic()
    conn.persons.upsert(_people(300))
    assert low <= time.monotonic() - started < high


def test_an_unreachable_identity_endpoint_never_puts_the_secret_in_the_error(marketo: RunningEmulator) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    conn = marketo_connection(
        marketo, MARKETO_BASE_URL=f"http://127.0.0.1:{port}", retry=RetryPolicy(max_attempts=2, backoff_initial_s=0.01)
    )
    with pytest.raises(MarketoRetryable) as raised:
        conn.persons.query("email", ["a@example.com"], ["email"])
    assert marketo.info["client_secret"] not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_query_whose_encoded_uri_would_pass_8_kb_never_gets_a_414(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    emails = [f"a+b+c+d+e+{n:03d}@x.co" for n in range(300)]  # 5.8 KB as text, 9.9 KB once %-encoded
    conn.persons.upsert([{"email": e} for e in emails])
    assert len(conn.persons.query("email", emails, ["email"])) == 300


def test_usage_is_read_every_refresh_while_busy_and_hourly_when_idle(start_marketo: Any) -> None:
    marketo = start_marketo(time_scale=100.0)  # Marketo's 20 s window as the client's 0.2 s
    conn = marketo_connection(marketo, usage_refresh_s=0.0)
    for _ in range(5):
        conn.persons.query("email", ["idle@example.com"], ["email"])
    assert route_count(marketo, "usage") == 1  # the first call; then idle: not again within the hour
    for n in range(100):
        conn.persons.query("email", [f"busy{n}@example.com"], ["email"])
    assert route_count(marketo, "usage") == 2  # a hundred calls since: busy, read again


def test_an_extract_file_read_a_part_at_a_time_gives_the_same_rows_as_read_whole(start_marketo: Any) -> None:
    emulator = start_marketo(time_scale=20.0)
    conn = marketo_connection(emulator)
    people = _people(60)
    for person in people[::7]:  # values that cross a part's end: a quoted line break, commas, UTF-8
        person["firstName"] = 'Zoë "Z", line one\nline two ✓'
    conn.persons.upsert(people)
    now = datetime.now(UTC)
    bulk = conn.bulk_persons
    window = (now - timedelta(days=1), now + timedelta(days=1))
    done = _finished(bulk, bulk.start_extract(["id", "email", "firstName"], "createdAt", *window))
    before = control(emulator, "GET", "stats")["by_route"].get("bulk_export_file", 0)
    whole = list(bulk.extract_rows(done))
    parts = list(bulk.extract_rows(done, part_bytes=97))  # rows cut across parts, every few rows
    calls = control(emulator, "GET", "stats")["by_route"]["bulk_export_file"] - before
    assert parts == whole and len(whole) == 60
    for part_bytes in (50, 61):  # other cuts: some fall on the line break inside a quoted value
        assert list(bulk.extract_rows(done, part_bytes=part_bytes)) == whole
    assert sorted(r["firstName"] for r in whole)[-9:] == ['Zoë "Z", line one\nline two ✓'] * 9
    assert calls == 1 + -(-done.file_size // 97)  # one call for the whole file, one per part
