"""The production Dataverse client against the emulator over HTTPS, one test per policy row."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError

from demo.dynamics_user import DynamicsUser
from emulators.launch import RunningEmulator
from sync.connectors.dataverse.errors import (
    ChangeTokenExpired,
    ChangeTrackingDisabled,
    DataverseError,
    DataverseRetryable,
    DataverseUnauthorized,
)
from sync.connectors.dataverse.metadata import TableDefinition
from sync.connectors.http.deadline import Deadline, DeadlineExceeded, within
from sync.connectors.http.failures import FailureKind
from tests.dataverse_support import dataverse_connection, write_project_table
from tests.emulator_support import control, fault, route_count

CONTACTS = TableDefinition("contact", "contacts", "contactid")
LEADS = TableDefinition("lead", "leads", "leadid")
PROJECTS = TableDefinition("new_project", "new_projects", "new_projectid")
GUIDS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(10)]


def test_azure_identity_signs_in_with_the_client_secret_and_a_wrong_secret_is_refused(
    dataverse: RunningEmulator,
) -> None:
    conn = dataverse_connection(dataverse)
    assert conn.client.token.get().count(".") == 2
    bad = dataverse_connection(dataverse, DATAVERSE_CLIENT_SECRET="wrong")
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        bad.client.token.get()


def test_a_full_read_then_deltas_return_changes_in_version_order_then_deletions(
    dataverse: RunningEmulator,
) -> None:
    conn = dataverse_connection(dataverse, page_size=2)
    writer, user = conn.writer, DynamicsUser(conn.client)
    for n, name in enumerate(("Ada", "Grace", "Alan")):
        user.create(CONTACTS, {"contactid": GUIDS[n], "firstname": name, "lastname": "Test"})
    pages = list(conn.changes.read_changes(conn.changes.first_link("contacts", ["firstname", "lastname"])))
    assert [(len(p.rows), p.complete) for p in pages] == [(2, False), (1, True)]
    delta = pages[-1].resume_link
    assert "$deltatoken=" in delta

    writer.update(CONTACTS, GUIDS[2], {"firstname": "Alan M."})
    writer.update(CONTACTS, GUIDS[0], {"firstname": "Ada L."})
    user.delete(CONTACTS, GUIDS[1])
    changes = list(conn.changes.read_changes(delta))
    rows = [r for p in changes for r in p.rows]
    assert [(r["contactid"], r["firstname"]) for r in rows] == [(GUIDS[2], "Alan M."), (GUIDS[0], "Ada L.")]
    assert [d for p in changes for d in p.deleted] == [GUIDS[1]]
    assert [p.complete for p in changes] == [False, True]
    again = list(conn.changes.read_changes(changes[-1].resume_link))
    assert [(p.rows, p.deleted, p.complete) for p in again] == [([], [], True)]


def test_a_delta_link_older_than_the_orgs_retention_raises_change_token_expired(
    dataverse: RunningEmulator,
) -> None:
    conn = dataverse_connection(dataverse)
    delta = list(conn.changes.read_changes(conn.changes.first_link("accounts", ["name"])))[-1].resume_link
    control(dataverse, "POST", "clock", {"advance_seconds": 8 * 24 * 3600})
    with pytest.raises(ChangeTokenExpired, match="Please perform a full sync"):
        list(conn.changes.read_changes(delta))


def test_a_table_without_change_tracking_is_read_by_modifiedon_with_an_overlap(
    start_dataverse: Any, tmp_path: Path
) -> None:
    tables = write_project_table(tmp_path / "tables.json", change_tracking=False)
    emulator = start_dataverse(tables=str(tables))
    conn = dataverse_connection(emulator, page_size=2)
    for n in range(3):
        DynamicsUser(conn.client).create(
            PROJECTS, {"new_projectid": GUIDS[n], "new_name": f"P{n}", "new_budget": 10.0 * n}
        )
    with pytest.raises(ChangeTrackingDisabled):
        list(conn.changes.read_changes(conn.changes.first_link("new_projects", ["new_name"])))
    assert conn.metadata.describe("new_project").change_tracking is False
    reader = conn.modified_since
    pages = list(reader.read_changes(reader.first_link("new_projects", ["new_name"], "new_projectid", None)))
    assert sum(len(p.rows) for p in pages) == 3 and pages[-1].complete
    assert [p.resume_link is None for p in pages] == [False, True]
    high_water = max(p.high_water or "" for p in pages)
    later = list(
        reader.read_changes(
            reader.first_link(
                "new_projects",
                ["new_name"],
                "new_projectid",
                datetime.fromisoformat(high_water.replace("Z", "+00:00")),
            )
        )
    )
    assert sum(len(p.rows) for p in later) == 3  # the overlap window re-reads the margin
    DynamicsUser(conn.client).delete(PROJECTS, GUIDS[1])
    assert conn.modified_since.all_ids("new_projects", "new_projectid") == {GUIDS[0], GUIDS[2]}


def test_a_batched_upsert_isolates_the_bad_record_and_writes_the_rest(dataverse: RunningEmulator) -> None:
    conn = dataverse_connection(dataverse)
    records: list[tuple[str, dict[str, Any]]] = [
        (GUIDS[0], {"firstname": "Ada", "lastname": "Lovelace"}),
        (GUIDS[1], {"firstname": "Bad", "statuscode": 99}),
        (GUIDS[2], {"firstname": "Grace", "lastname": "Hopper"}),
    ]
    outcomes = conn.writer.upsert(CONTACTS, records)
    assert [(o.record_id, o.ok) for o in outcomes] == [(GUIDS[0], True), (GUIDS[1], False), (GUIDS[2], True)]
    assert outcomes[1].status == 400 and "outside the valid range" in outcomes[1].message
    stored = {r["contactid"] for r in control(dataverse, "GET", "data/contact")["rows"]}
    assert {GUIDS[0], GUIDS[2]} <= stored and GUIDS[1] not in stored


def test_a_clean_upsert_is_one_upsert_multiple_call_that_says_what_it_created(
    dataverse: RunningEmulator,
) -> None:
    conn = dataverse_connection(dataverse)
    DynamicsUser(conn.client).create(CONTACTS, {"contactid": GUIDS[0], "lastname": "Existing"})
    before = route_count(dataverse, "api")
    outcomes = conn.writer.upsert(CONTACTS, [(GUIDS[0], {"firstname": "Now"}), (GUIDS[1], {"lastname": "New"})])
    assert [(o.ok, o.created) for o in outcomes] == [(True, False), (True, True)]
    assert route_count(dataverse, "api") - before == 1


@pytest.mark.parametrize("retry_after", ["1", "http-date"])
def test_429_waits_as_long_as_retry_after_says_and_halves_concurrency(
    dataverse: RunningEmulator, retry_after: str
) -> None:
    conn = dataverse_connection(dataverse)
    conn.client.token.get()
    if retry_after == "http-date":
        value: Any = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    else:
        value = 1
    fault(dataverse, path="/api/data/v9.2/accounts", status=429, retry_after=value, times=1)
    ceiling = conn.client.concurrency.limit
    started = time.monotonic()
    conn.client.get_json("accounts")
    assert time.monotonic() - started >= 0.9
    assert conn.client.concurrency.limit == ceiling // 2


def test_a_gateway_error_that_persists_gives_up_after_the_attempts(dataverse: RunningEmulator) -> None:
    conn = dataverse_connection(dataverse)
    fault(dataverse, path="/api/data/v9.2/accounts", status=503)
    with pytest.raises(DataverseRetryable):
        conn.client.get_json("accounts")


def test_a_refused_token_is_refreshed_once_then_the_call_succeeds(dataverse: RunningEmulator) -> None:
    conn = dataverse_connection(dataverse)
    first = conn.client.token.get()
    control(
        dataverse, "POST", "clock", {"advance_seconds": 3600}
    )  # the emulator expires it; azure-identity's cache does not know
    assert conn.client.get_json("accounts")["value"] == []
    assert conn.client.token.get() != first


def test_a_token_refused_twice_fails_with_unauthorized(dataverse: RunningEmulator) -> None:
    conn = dataverse_connection(dataverse)
    fault(dataverse, path="/api/data/v9.2/accounts", status=401, times=2)
    with pytest.raises(DataverseUnauthorized):
        conn.client.get_json("accounts")


def test_service_protection_is_waited_out_not_failed(start_dataverse: Any) -> None:
    emulator = start_dataverse(requests_per_window=4, window_s=1.0)
    conn = dataverse_connection(emulator)
    for _ in range(10):
        conn.client.get_json("accounts")
    assert control(emulator, "GET", "stats")["throttled"] >= 1
    assert conn.client.concurrency.limit < conn.client.concurrency.ceiling


def test_qualifying_a_lead_links_the_new_contact_back_and_makes_the_lead_read_only(
    dataverse: RunningEmulator,
) -> None:
    conn = dataverse_connection(dataverse)
    lead = DynamicsUser(conn.client).create(
        LEADS,
        {
            "firstname": "Ada",
            "lastname": "Lovelace",
            "emailaddress1": "ada@example.com",
            "companyname": "Analytical Engines",
        },
    )
    created = DynamicsUser(conn.client).qualify_lead(lead, account=True, contact=True)
    contact_id = next(c["contactid"] for c in created if c["@odata.type"].endswith("contact"))
    contact = conn.client.get_json(
        f"contacts({contact_id})",
        params={"$select": "emailaddress1,_originatingleadid_value,_parentcustomerid_value"},
    )
    assert contact["_originatingleadid_value"] == lead
    assert contact["emailaddress1"] == "ada@example.com"
    with pytest.raises(DataverseError) as refused:
        conn.writer.update(LEADS, lead, {"firstname": "Changed"})
    assert refused.value.status == 400 and "read-only" in refused.value.message
    plain = DynamicsUser(conn.client).create(CONTACTS, {"lastname": "Never a lead"})
    rows = conn.rows.by_ids(CONTACTS, [contact_id, plain], ["_originatingleadid_value"])
    assert {r["contactid"]: r["_originatingleadid_value"] for r in rows} == {contact_id: lead, plain: None}
    assert [r["statecode"] for r in conn.rows.by_ids(LEADS, [lead], ["statecode"])] == [1]  # qualified


def test_metadata_gives_entity_sets_columns_and_option_labels(dataverse: RunningEmulator) -> None:
    conn = dataverse_connection(dataverse)
    lead = conn.metadata.describe("lead")
    assert (lead.entity_set, lead.primary_id, lead.change_tracking) == ("leads", "leadid", True)
    assert lead.columns["ownerid"].targets == ("systemuser", "team")
    assert lead.columns["versionnumber"].writable is False
    labels = conn.metadata.option_labels("lead")
    assert labels["leadqualitycode"] == {1: "Hot", 2: "Warm", 3: "Cold"}
    assert labels["statecode"][1] == "Qualified"
    with pytest.raises(DataverseError, match="no table 'nope'"):
        conn.metadata.describe("nope")


def test_a_429_storm_stops_at_the_deadline_naming_the_last_failure(dataverse: RunningEmulator) -> None:
    conn = dataverse_connection(dataverse)
    conn.client.get_json("accounts")
    fault(dataverse, path="/api/data/v9.2/accounts", status=429, retry_after=1)
    started = time.monotonic()
    with within(Deadline.after(2.5)), pytest.raises(DeadlineExceeded) as raised:
        conn.client.get_json("accounts")
    assert time.monotonic() - started < 2.5
    assert raised.value.kind is FailureKind.THROTTLED
    assert raised.value.attempts == 3
    assert "0x80072322" in str(raised.value)  # the service-protection code of the last 429


def test_without_a_scope_a_call_gets_the_configured_deadline(dataverse: RunningEmulator) -> None:
    conn = dataverse_connection(dataverse, SYNC_CALL_DEADLINE_S="1.5")
    fault(dataverse, path="/api/data/v9.2/accounts", status=429, retry_after=1)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        conn.client.get_json("accounts")
    assert time.monotonic() - started < 1.5
