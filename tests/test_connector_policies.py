"""One test per row of each connector's policy table, over HTTPS against the emulators.

The rows are read from the tables themselves, so a row added without a test that holds for it
fails here: the test injects the row's answer once (or for good) and checks that the client did
what the row says — retried, waited, signed in again, stopped for the quota, or failed — and
that the error it raises carries the row's failure kind.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from emulators.launch import RunningEmulator
from sync.connectors.dataverse.errors import DataverseError
from sync.connectors.dataverse.policy import STATUS_POLICY
from sync.connectors.http.failures import Action, ConnectorError, FailureKind, Rule
from sync.connectors.marketo.errors import MarketoError, MarketoQuotaExhausted
from sync.connectors.marketo.policy import (
    ERROR_CODE_POLICY,
    HTTP_STATUS_POLICY,
    NAMED_ERRORS,
    Refusal,
    rule_for_code,
)
from tests.dataverse_support import dataverse_connection
from tests.emulator_support import fault, route_count
from tests.marketo_support import marketo_connection

PERSON = [{"email": "policy@example.com", "lastName": "Row"}]


def _row_id(row: tuple[Any, ...]) -> str:
    return "-".join(str(part) for part in row[:-1] if part != "") + f"-{row[-1].action}"


def _code_rows() -> list[tuple[str, str, Rule]]:
    return list(ERROR_CODE_POLICY)


def _status_rows(table: dict[int, Rule]) -> list[tuple[int, Rule]]:
    return sorted(table.items())


def _marketo_outcome(emulator: RunningEmulator, rule: Rule, **injected: Any) -> None:
    conn = marketo_connection(emulator)
    conn.persons.query("email", ["warm-up@example.com"], ["email"])  # token and usage read first
    fetches, calls = conn.client.token.fetches, route_count(emulator, "leads")
    retried = rule.action in (Action.RETRY, Action.WAIT, Action.REAUTHENTICATE)
    fault(emulator, path="/rest/v1/leads.json", method="POST", times=1 if retried else None, **injected)
    if retried:
        assert [r.status for r in conn.persons.upsert(PERSON)] == ["created"]
        assert route_count(emulator, "leads") - calls == 2
        assert conn.client.token.fetches - fetches == (1 if rule.action is Action.REAUTHENTICATE else 0)
        return
    expected: type[MarketoError] = MarketoQuotaExhausted if rule.action is Action.STOP else MarketoError
    with pytest.raises(expected) as raised:
        conn.persons.upsert(PERSON)
    assert (raised.value.action, raised.value.kind) == (rule.action, rule.kind)
    assert route_count(emulator, "leads") - calls == 1  # never retried


@pytest.mark.parametrize(("code", "needle", "rule"), _code_rows(), ids=[_row_id(r) for r in _code_rows()])
def test_each_marketo_error_code_is_handled_as_its_policy_row_says(
    marketo: RunningEmulator, code: str, needle: str, rule: Rule
) -> None:
    message = f"Injected {code} {needle}".strip()
    _marketo_outcome(marketo, rule, error_code=code, message=message)


@pytest.mark.parametrize(
    ("status", "rule"),
    _status_rows(HTTP_STATUS_POLICY),
    ids=[_row_id(r) for r in _status_rows(HTTP_STATUS_POLICY)],
)
def test_each_marketo_http_status_is_handled_as_its_policy_row_says(
    marketo: RunningEmulator, status: int, rule: Rule
) -> None:
    _marketo_outcome(marketo, rule, status=status, retry_after=0 if rule.action is Action.WAIT else None)


@pytest.mark.parametrize(
    ("status", "rule"), _status_rows(STATUS_POLICY), ids=[_row_id(r) for r in _status_rows(STATUS_POLICY)]
)
def test_each_dataverse_http_status_is_handled_as_its_policy_row_says(
    dataverse: RunningEmulator, status: int, rule: Rule
) -> None:
    conn = dataverse_connection(dataverse)
    conn.client.get_json("accounts")  # signed in first
    calls = conn.client.calls
    retried = rule.action in (Action.RETRY, Action.WAIT, Action.REAUTHENTICATE)
    fault(
        dataverse,
        path="/api/data/v9.2/accounts",
        status=status,
        times=1 if retried else None,
        retry_after=0 if rule.action is Action.WAIT else None,
    )
    if retried:
        assert conn.client.get_json("accounts")["value"] == []
        assert conn.client.calls - calls == 2
        return
    with pytest.raises(DataverseError) as raised:
        conn.client.get_json("accounts")
    assert (raised.value.action, raised.value.kind) == (rule.action, rule.kind)
    assert conn.client.calls - calls == 1


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_marketo_retry_after_is_honoured_in_both_forms(marketo: RunningEmulator, status: int, form: str) -> None:
    conn = marketo_connection(marketo)
    conn.persons.query("email", ["warm-up@example.com"], ["email"])
    value: Any = 2 if form == "seconds" else format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    fault(marketo, path="/rest/v1/leads.json", method="POST", status=status, retry_after=value, times=1)
    started = time.monotonic()
    assert [r.status for r in conn.persons.upsert(PERSON)] == ["created"]
    assert time.monotonic() - started >= 1.0  # the HTTP date has one-second resolution


def test_a_retry_after_longer_than_the_clamp_is_waited_only_up_to_it(marketo: RunningEmulator) -> None:
    from sync.connectors.http.retrying import RetryPolicy

    conn = marketo_connection(marketo, retry=RetryPolicy(backoff_initial_s=0.01, max_wait_s=0.5))
    fault(marketo, path="/rest/v1/leads.json", method="POST", status=429, retry_after=3600, times=1)
    started = time.monotonic()
    assert [r.status for r in conn.persons.upsert(PERSON)] == ["created"]
    assert 0.5 <= time.monotonic() - started < 3.0


def test_record_level_failures_carry_their_kind(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    results = conn.persons.upsert([{"email": "not-an-email"}, {"email": "x@example.com", "noSuchField": "1"}])
    assert [r.kind for r in results] == [FailureKind.BAD_RECORD, FailureKind.AUTH_CONFIG]
    assert [r.refusal for r in results] == [Refusal.INVALID_VALUE, Refusal.FIELD_NOT_FOUND]


def test_the_refusals_the_engine_acts_on_are_named_from_marketos_real_answers(marketo: RunningEmulator) -> None:
    conn = marketo_connection(marketo)
    first = conn.persons.upsert([{"email": "taken@example.com"}, {"email": "twice@example.com"}])
    conn.persons.upsert([{"email": "twice@example.com"}], action="createDuplicate")
    created = conn.persons.upsert(
        [{"email": "taken@example.com"}, {"email": "new@example.com"}, {"email": "new@example.com"}],
        action="createOnly",
    )
    assert [r.refusal for r in created] == [Refusal.ALREADY_EXISTS, None, Refusal.DUPLICATE_IN_INPUT]
    several = conn.persons.upsert([{"email": "twice@example.com", "firstName": "Two"}])
    assert [r.refusal for r in several] == [Refusal.SEVERAL_MATCH]
    gone = first[0].id or 0
    conn.persons.delete([gone])
    updated = conn.persons.upsert([{"id": gone, "firstName": "Gone"}], action="updateOnly", lookup_field="id")
    companies = conn.lead_database("company")
    deleted = companies.delete([{"externalCompanyId": "never-made"}])
    assert [r.refusal for r in [*updated, *deleted]] == [Refusal.NOT_FOUND, Refusal.NOT_FOUND]
    assert {r.kind for r in [*created[::2], *several, *updated, *deleted]} == {FailureKind.BAD_RECORD}


@pytest.mark.parametrize(("code", "needle", "error_class"), NAMED_ERRORS, ids=[r[0] for r in NAMED_ERRORS])
def test_each_named_marketo_error_is_raised_as_its_class(
    marketo: RunningEmulator, code: str, needle: str, error_class: type[MarketoError]
) -> None:
    conn = marketo_connection(marketo)
    token = conn.activities.paging_token(datetime.now(UTC))
    fault(marketo, path="/rest/v1/activities.json", error_code=code, message=f"Invalid {needle}", times=1)
    with pytest.raises(error_class) as raised:
        list(conn.activities.read_activities(token, [12]))
    assert raised.value.kind is rule_for_code(code, needle).kind


def test_write_access_is_probed_with_an_empty_input_that_marketo_refuses_after_the_permission_check(
    marketo: RunningEmulator,
) -> None:
    conn = marketo_connection(marketo)
    conn.persons.may_write()  # Marketo answers 701 "input cannot be blank": allowed
    fault(marketo, path="/rest/v1/companies.json", method="POST", error_code="603", message="Access denied", times=1)
    with pytest.raises(MarketoError, match="603"):
        conn.lead_database("company").may_write()


def test_every_connector_error_names_its_service_code_and_kind() -> None:
    error: ConnectorError = DataverseError(403, "0x80040220", "missing prvReadContact", kind=FailureKind.AUTH_CONFIG)
    assert str(error) == "Dataverse error 0x80040220: missing prvReadContact"
    assert error.kind is FailureKind.AUTH_CONFIG
