"""First matching of persons (behaviour §4), as a pure decision over Marketo's candidates.

When Marketo already has a person with a new Dynamics record's email:
- a candidate carrying this record's Dynamics id is ours (a crash came between writing it and
  storing the link, or the store was lost): link it;
- else exactly one candidate that no Dynamics record owns: link it, not a duplicate;
- several such candidates: no guess; the record goes to the errors table naming them;
- every candidate owned by another Dynamics record: this record gets its own person (as the
  native sync does), and the shared email is noted for `status`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class MatchKind(StrEnum):
    LINK = "link"
    CREATE_OWN = "create_own"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class Match:
    kind: MatchKind
    person_id: int | None = None
    others: tuple[int, ...] = ()


def match_person(dynamics_id: str, candidates: Sequence[Mapping[str, Any]], id_field: str) -> Match:
    def owner(candidate: Mapping[str, Any]) -> str:
        return str(candidate.get(id_field) or "").lower()

    ids = sorted(int(c["id"]) for c in candidates)
    ours = sorted(int(c["id"]) for c in candidates if owner(c) == dynamics_id.lower())
    if ours:
        return Match(MatchKind.LINK, ours[0])
    free = sorted(int(c["id"]) for c in candidates if not owner(c))
    if len(free) == 1:
        return Match(MatchKind.LINK, free[0])
    if len(free) > 1:
        return Match(MatchKind.AMBIGUOUS, None, tuple(free))
    return Match(MatchKind.CREATE_OWN, None, tuple(ids))
