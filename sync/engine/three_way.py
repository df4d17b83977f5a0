"""The three-way merge of one person's fields (behaviour §1, §6), pure and table-tested.

The base is what the link says both sides held after the last sync (in Marketo's terms). Per
mapped field, with d the Dynamics value and m the Marketo value:

| d vs base | m vs base | d vs m | result                                                   |
|-----------|-----------|--------|----------------------------------------------------------|
| same      | same      |        | nothing                                                  |
|           |           | equal  | converged: the base takes the value, nothing is written  |
| changed   | same      |        | Dynamics' value goes to Marketo                          |
| same      | changed   |        | Marketo's value goes to Dynamics                         |
| changed   | changed   | differ | a conflict: the field's winner's value goes to the other |

A value only flows where the field's direction allows; a winner that may not write gives way to
the side that may. `newest` compares the two systems' modified times. When there is no base
(a link just made by first matching, or rebuilt after the store was lost), a side without a
value never wins over a side with one, and the winner decides between two values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.mapping.types import FieldDirection, Winner


@dataclass(frozen=True)
class MergeRule:
    name: str  # the Marketo field
    direction: FieldDirection
    winner: Winner


@dataclass
class Merged:
    to_marketo: dict[str, Any] = field(default_factory=dict)
    to_dynamics: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] = field(default_factory=dict)  # what both sides hold once the writes are done
    conflicts: list[str] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return bool(self.to_marketo or self.to_dynamics)


_MISSING = object()


def _winner(rule: MergeRule, dynamics_newer: bool | None) -> Winner:
    if rule.winner is Winner.NEWEST:
        if dynamics_newer is None:
            return Winner.DYNAMICS  # no times to compare: the system of record
        return Winner.DYNAMICS if dynamics_newer else Winner.MARKETO
    return rule.winner


def _flow(merged: Merged, rule: MergeRule, winner: Winner, d: Any, m: Any) -> None:
    """`winner`'s value goes to the other side, if the direction lets it; else the other way."""
    can = {Winner.DYNAMICS: rule.direction.to_marketo, Winner.MARKETO: rule.direction.to_dynamics}
    if not can[winner]:
        winner = Winner.MARKETO if winner is Winner.DYNAMICS else Winner.DYNAMICS
        if not can[winner]:
            return
    if winner is Winner.DYNAMICS:
        merged.to_marketo[rule.name] = d
        merged.base[rule.name] = d
    else:
        merged.to_dynamics[rule.name] = m
        merged.base[rule.name] = m


def three_way_merge(
    base: Mapping[str, Any],
    dynamics: Mapping[str, Any],
    marketo: Mapping[str, Any],
    rules: Sequence[MergeRule],
    *,
    dynamics_newer: bool | None = None,
    known_base: bool = True,
) -> Merged:
    merged = Merged(base=dict(base))
    for rule in rules:
        d, m = dynamics.get(rule.name), marketo.get(rule.name)
        b = base.get(rule.name, _MISSING) if known_base else _MISSING
        if d == m:
            merged.base[rule.name] = d
            continue
        if b is _MISSING:
            if m is None:
                _flow(merged, rule, Winner.DYNAMICS, d, m)
            elif d is None:
                _flow(merged, rule, Winner.MARKETO, d, m)
            else:
                merged.conflicts.append(rule.name)
                _flow(merged, rule, _winner(rule, dynamics_newer), d, m)
            continue
        d_changed, m_changed = d != b, m != b
        if d_changed and not m_changed:
            if rule.direction.to_marketo:
                _flow(merged, rule, Winner.DYNAMICS, d, m)
        elif m_changed and not d_changed:
            if rule.direction.to_dynamics:
                _flow(merged, rule, Winner.MARKETO, d, m)
        else:
            merged.conflicts.append(rule.name)
            _flow(merged, rule, _winner(rule, dynamics_newer), d, m)
    return merged
