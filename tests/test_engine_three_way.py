"""The three-way merge as a table of cases (base, Dynamics, Marketo, rule → what flows where)."""

from __future__ import annotations

from typing import Any

import pytest

from sync.engine.three_way import MergeRule, three_way_merge
from sync.mapping.types import FieldDirection, Winner

BOTH, TO_M, TO_D = FieldDirection.BOTH, FieldDirection.TO_MARKETO, FieldDirection.TO_DYNAMICS
D, M, NEWEST = Winner.DYNAMICS, Winner.MARKETO, Winner.NEWEST


def outcome(
    base: Any, d: Any, m: Any, direction: FieldDirection = BOTH, winner: Winner = D, **kw: Any
) -> tuple[dict[str, Any], dict[str, Any], Any]:
    known = base is not ...
    merged = three_way_merge(
        {"f": base} if known else {}, {"f": d}, {"f": m}, [MergeRule("f", direction, winner)], known_base=known, **kw
    )
    return merged.to_marketo, merged.to_dynamics, merged.base.get("f")


@pytest.mark.parametrize(
    ("base", "d", "m", "direction", "winner", "to_marketo", "to_dynamics", "new_base"),
    [
        ("a", "a", "a", BOTH, D, {}, {}, "a"),  # nothing changed
        ("a", "b", "a", BOTH, M, {"f": "b"}, {}, "b"),  # Dynamics changed: to Marketo, whoever wins conflicts
        ("a", "a", "b", BOTH, D, {}, {"f": "b"}, "b"),  # Marketo changed: to Dynamics
        ("a", "b", "b", BOTH, D, {}, {}, "b"),  # both changed alike: converged, nothing written
        ("a", "b", "c", BOTH, D, {"f": "b"}, {}, "b"),  # conflict, Dynamics wins (contacts)
        ("a", "b", "c", BOTH, M, {}, {"f": "c"}, "c"),  # conflict, Marketo wins (leads)
        ("a", "b", "a", TO_D, D, {}, {}, "a"),  # a field that only flows to Dynamics: a Dynamics edit stays there
        ("a", "a", "b", TO_M, D, {}, {}, "a"),  # a field that only flows to Marketo: a Marketo edit stays there
        ("a", "b", "c", TO_M, M, {"f": "b"}, {}, "b"),  # the winner may not write: the other side's value flows
        ("a", None, "a", BOTH, D, {"f": None}, {}, None),  # a value cleared in Dynamics is cleared in Marketo
        (..., "b", None, BOTH, M, {"f": "b"}, {}, "b"),  # no base: a side with no value never wins
        (..., None, "c", BOTH, D, {}, {"f": "c"}, "c"),
        (..., "b", "c", BOTH, M, {}, {"f": "c"}, "c"),  # no base, two values: the winner decides
    ],
)
def test_each_field_flows_as_the_rules_say(
    base: Any,
    d: Any,
    m: Any,
    direction: FieldDirection,
    winner: Winner,
    to_marketo: dict[str, Any],
    to_dynamics: dict[str, Any],
    new_base: Any,
) -> None:
    assert outcome(base, d, m, direction, winner) == (to_marketo, to_dynamics, new_base)


@pytest.mark.parametrize(("dynamics_newer", "expected"), [(True, "b"), (False, "c"), (None, "b")])
def test_newest_compares_the_two_modified_times(dynamics_newer: bool | None, expected: str) -> None:
    _, _, new_base = outcome("a", "b", "c", BOTH, NEWEST, dynamics_newer=dynamics_newer)
    assert new_base == expected


def test_fields_are_merged_independently_and_conflicts_are_named() -> None:
    rules = [MergeRule(name, BOTH, D) for name in ("title", "phone", "city")]
    merged = three_way_merge(
        {"title": "t", "phone": "p", "city": "c"},
        {"title": "T-dynamics", "phone": "p", "city": "c"},
        {"title": "T-marketo", "phone": "P-marketo", "city": "c"},
        rules,
    )
    assert merged.to_marketo == {"title": "T-dynamics"}
    assert merged.to_dynamics == {"phone": "P-marketo"}
    assert merged.conflicts == ["title"]
    assert merged.base == {"title": "T-dynamics", "phone": "P-marketo", "city": "c"}
