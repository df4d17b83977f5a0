"""Fault rules of the /_emulator/ API: which requests they hit, how often, and bad rules refused."""

from __future__ import annotations

import pytest

from emulators.common.faults import FaultBook, FaultRule, FaultRuleError


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
        ({"path": "x"}, "give 'status', 'error_code' or 'delay_s'"),
        ({"path": "x", "status": 500, "times": 0}, "'times' must be a whole number >= 1"),
        ({"path": "x", "status": 500, "colour": "red"}, "unknown keys ['colour']"),
    ],
)
def test_a_bad_rule_is_refused_with_what_to_fix(rule: dict[str, object], message: str) -> None:
    with pytest.raises(FaultRuleError, match=message.replace("[", r"\[").replace("]", r"\]")):
        FaultRule.from_json(rule)
