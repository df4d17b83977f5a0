"""Fault rules of the /_emulator/ API: which requests they hit, how often, bad rules refused, and
what a lost answer and an unsearchable field do on the wire."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.common.faults import FaultBook, FaultRule, FaultRuleError
from sync.connectors.http.failures import OutcomeUnknown
from sync.connectors.marketo.errors import MarketoError
from tests.emulator_support import control, fault
from tests.marketo_support import marketo_connection


def _fired(book: FaultBook, requests: int, method: str = "GET", path: str = "/rest/v1/leads.json") -> list[int]:
    return [n for n in range(1, requests + 1) if book.match(method, path) is not None]


def test_a_rule_with_times_fires_for_the_first_n_matching_requests_only() -> None:
    book = FaultBook()
    book.add(FaultRule.from_json({"path": "leads", "error_code": "606", "times": 2}))
    assert _fired(book, 5) == [1, 2]


def test_a_rule_with_every_fires_on_every_kth_matching_request() -> None:
    book = FaultBook()
    book.add(FaultRule.from_json({"path": "leads", "status": 503, "every": 3}))
    assert _fired(book, 10) == [3, 6, 9]


def test_every_and_times_together_fire_every_kth_request_n_times() -> None:
    book = FaultBook()
    book.add(FaultRule.from_json({"path": "leads", "status": 503, "every": 2, "times": 2}))
    assert _fired(book, 10) == [2, 4]


def test_a_rule_matches_its_method_and_path_only() -> None:
    book = FaultBook()
    book.add(FaultRule.from_json({"path": r"^/rest/v1/leads\.json$", "method": "post", "error_code": "611"}))
    assert _fired(book, 2, method="GET") == []
    assert _fired(book, 2, method="POST") == [1, 2]
    assert _fired(book, 2, method="POST", path="/rest/v1/companies.json") == []


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"status": 500}, "'path'"),
        ({"path": "x"}, "give 'status', 'error_code', 'delay_s' or 'after_write'"),
        ({"path": "x", "status": 500, "times": 0}, "'times' must be a whole number >= 1"),
        ({"path": "x", "status": 500, "colour": "red"}, "unknown keys ['colour']"),
    ],
)
def test_a_bad_rule_is_refused_with_what_to_fix(rule: dict[str, object], message: str) -> None:
    with pytest.raises(FaultRuleError, match=message.replace("[", r"\[").replace("]", r"\]")):
        FaultRule.from_json(rule)


@pytest.mark.parametrize("lost", [{}, {"status": 504}], ids=["connection dropped", "gateway 504"])
def test_a_lost_answer_comes_after_the_write_was_done(start_marketo: Any, lost: dict[str, Any]) -> None:
    emulator = start_marketo()
    conn = marketo_connection(emulator)
    conn.persons.query("email", ["warm-up@example.com"], ["email"])
    fault(emulator, path="/rest/v1/leads.json", method="POST", after_write=True, times=1, **lost)
    with pytest.raises(OutcomeUnknown, match="may or may not have been carried out"):
        conn.persons.create_once([{"email": "lost@example.com", "lastName": "Lost"}])
    assert [p["email"] for p in control(emulator, "GET", "data/lead")["rows"]] == ["lost@example.com"]


def test_a_person_field_made_unsearchable_is_refused_as_a_lookup_and_left_out_of_describe(start_marketo: Any) -> None:
    emulator = start_marketo()
    conn = marketo_connection(emulator)
    conn.persons.create_fields([{"name": "dynamicsId", "displayName": "Dynamics Id", "dataType": "string"}])
    assert ("dynamicsId",) in conn.persons.describe().searchable
    control(emulator, "PATCH", "fields/lead/dynamicsId", {"searchable": False})
    assert ("dynamicsId",) not in conn.persons.describe().searchable
    with pytest.raises(MarketoError, match="1011: Field 'dynamicsId' not supported"):
        conn.persons.upsert([{"dynamicsId": "x", "lastName": "Y"}], lookup_field="dynamicsId")
