"""What a preview of a first copy found for one object (`preview.py` makes it): the counts the
admin reads, the fields that would change and who wins, why records would fail, a few ids per
category, and the copy's cost. Plain data: shown on the terminal, as JSON, on the preview page,
and kept in the store."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

SAMPLES: Final = 5  # ids kept per category, for the admin to look at
REASONS: Final = 20  # distinct failure reasons kept (the rest are counted under "other reasons")
REASON_CHARS: Final = 300
COUNTS: Final = (
    "read",
    "filtered_out",
    "would_create",
    "would_link",
    "ambiguous",
    "shared_emails",
    "differing",
    "would_fail",
)


@dataclass
class ObjectPreview:
    object: str
    path: str = "rest"
    read: int = 0
    filtered_out: int = 0
    would_create: int = 0
    would_link: int = 0  # persons: by email; other records: one Marketo already holds under the row's id
    ambiguous: int = 0
    shared_emails: int = 0  # emails held by several Dynamics records
    differing: int = 0  # records that would be linked whose values differ
    would_fail: int = 0
    waiting: int = 0  # rows that refer to a person not in Marketo yet: they follow once it is
    differing_fields: dict[str, int] = field(default_factory=dict)
    winners: dict[str, str] = field(default_factory=dict)  # differing field → the side whose value wins
    reasons: dict[str, int] = field(default_factory=dict)  # why records would fail
    samples: dict[str, list[str]] = field(default_factory=dict)  # category → a few Dynamics ids
    not_previewed: list[str] = field(default_factory=list)  # streams whose rows are links, not mapped records
    marketo_calls: int = 0  # the preview's own
    copy_marketo_calls: int = 0  # what the copy would make through REST
    eta_s: float = 0.0  # the copy's time at Marketo's call rate and daily budget
    daily_budget: int = 0  # Marketo calls a day the sync may use (MARKETO_DAILY_CALL_BUDGET)
    calls_left_today: int = 0  # of the budget, after every process's calls so far today
    complete: bool = True  # False: stopped at its time limit; the counts cover the rows read
    made_at: str = ""

    def sample(self, category: str, record_id: str) -> None:
        kept = self.samples.setdefault(category, [])
        if len(kept) < SAMPLES:
            kept.append(record_id)

    def failed(self, record_id: str, why: str) -> None:
        self.would_fail += 1
        why = why if len(why) <= REASON_CHARS else why[: REASON_CHARS - 1] + "…"
        if why not in self.reasons and len(self.reasons) >= REASONS:
            why = "other reasons"
        self.reasons[why] = self.reasons.get(why, 0) + 1
        self.sample("would_fail", record_id)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
