"""How long a call takes, as data: per profile, per operation, a base plus a part per record.

No service publishes per-call latency, so the profiles are bounded by what is published:
- realistic: what the sync's benchmarks assume (a 300-person push ~1.45 s, a Dataverse page
  ~50 ms plus 20 µs a row); under Adobe's own class for synchronous Marketo calls, "Low (<10s)"
  (Marketo Integration Best Practices, "Acceptable Latency"), and Dataverse's.
- pessimistic: a large, busy instance — a 300-person push ~5.5 s, activity pages 1.5 s, queries
  ~1.8 s; a Dataverse page of 5,000 rows ~0.8 s, an UpsertMultiple of 500 rows ~5 s — still inside
  the same <10 s class and Marketo's documented timeouts (30 s on activities endpoints; "batch sizes
  … higher than 300 … may result in timeouts", syncMultipleLeads), so nothing times out that a
  real instance would answer.
`--time-scale X` divides them like every other duration.
"""

from __future__ import annotations

from enum import StrEnum

Costs = dict[str, tuple[float, float]]  # operation → (seconds, seconds per record)


class Latency(StrEnum):
    NONE = "none"
    REALISTIC = "realistic"
    PESSIMISTIC = "pessimistic"


def seconds(profiles: dict[Latency, Costs], latency: Latency, operation: str, records: int = 0) -> float:
    costs = profiles.get(latency)
    if not costs:
        return 0.0
    base, per_record = costs[operation]
    return base + per_record * records
