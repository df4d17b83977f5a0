"""Engagement's own stream: Marketo's activity log of the timeline's types, read after a stored
paging token, when those types do not fit on the person stream's call (engagement_plan.py).

Costs, first-class:
- Marketo scans 300 activities a call whatever the types, so reading costs a call per 300 of the
  log, plus one a run: the page holding the late window's edge, read again by the next run. Fewer
  runs, fewer of those: the default schedule is every 30 minutes (SYNC_SCHEDULE_ENGAGEMENT),
  against one minute for records — 48 a day, so 1,000,000 activities a day cost about
  3,334 + 48 calls (bench/results/engagement_1000000.json measures it).
- Its calls are counted per Marketo day (midnight US Central) in its checkpoint and stop at
  `engagement_budget` (SYNC_ENGAGEMENT_DAILY_CALLS, default a tenth of the sync's budget): past it
  engagement waits for the next day and the record sync, which draws on the rest, goes on.
Late commits: an activity may be committed up to minutes after its date (Marketo's KB, Send Email
the example). The stream reads only activities dated before Marketo's now − `LATE_WINDOW`: a page
holding any later one is not applied, and the next run reads it again from the same token, by
when its activities have been committed. The cost is that page, read twice; what is written from
it is idempotent anyway (rows by key, roll-ups by their members).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict

from sync.connectors.marketo.activities import ActivityPage
from sync.connectors.marketo.limiter import MARKETO_DAY_ZONE
from sync.engine.apply import PageCounts
from sync.engine.engagement_writes import write_engagement
from sync.engine.runtime import Engine
from sync.mapping.transforms import parse_datetime
from sync.objects import M2D, SyncObject
from sync.store.checkpoints import Checkpoint, Phase

LATE_WINDOW: Final = timedelta(minutes=10)


class EngagementCursor(BaseModel):
    model_config = ConfigDict(frozen=True)

    token: str  # "": taken at the first read (a checkpoint made without calling Marketo)
    day: str  # Marketo's day the calls were counted on
    calls: int = 0
    budget: int = 0  # the day's budget as of the last read (for the status page, which reads the store only)
    through: datetime | None = None  # every activity dated before this is on the timeline

    @classmethod
    def parse(cls, text: str | None) -> EngagementCursor | None:
        return cls.model_validate_json(text) if text else None


def marketo_day(moment: datetime) -> str:
    return moment.astimezone(MARKETO_DAY_ZONE).date().isoformat()


class EngagementStream:
    def __init__(self, engine: Engine) -> None:
        self.engine, self.store = engine, engine.store
        plan = engine.engagement
        self.types = tuple(sorted(plan.types)) if plan is not None else ()

    def begin(self) -> Checkpoint:
        """The stream's checkpoint when missing, reading from now less the late window (one call);
        engagement's past comes through the bulk backfill (`full-copy --object engagement --since
        30d`). No call when engagement does not read on its own: its first own read takes one."""
        current = self.store.checkpoints.get(SyncObject.ENGAGEMENT, M2D)
        if current is not None:
            return current
        plan = self.engine.engagement
        token = ""
        if plan is not None and plan.timeline and not plan.rides:
            token = self.engine.marketo.activities.paging_token(self.engine.marketo.client.server_now() - LATE_WINDOW)
        cursor = EngagementCursor(token=token, day=marketo_day(datetime.now(UTC)), calls=int(bool(token)))
        checkpoint = Checkpoint(
            object=SyncObject.ENGAGEMENT, direction=M2D, phase=Phase.INCREMENTAL, cursor=cursor.model_dump_json()
        )
        return self.store.checkpoints.save(checkpoint)

    def restart(self, checkpoint: Checkpoint) -> Checkpoint:
        """Reading on from now: a token Marketo refuses (expired) is taken again."""
        cursor = EngagementCursor.parse(checkpoint.cursor)
        assert cursor is not None
        moved = cursor.model_copy(update={"token": ""})
        return self.store.checkpoints.save(checkpoint.advanced(cursor=moved.model_dump_json()))

    def budget_left(self, checkpoint: Checkpoint) -> int:
        cursor = EngagementCursor.parse(checkpoint.cursor)
        assert cursor is not None
        today = marketo_day(datetime.now(UTC))
        spent = cursor.calls if cursor.day == today else 0
        return max(self.engine.settings.marketo.engagement_budget - spent, 0)

    def read_page(self, checkpoint: Checkpoint) -> tuple[Checkpoint, PageCounts, bool]:
        """One page: applied and passed when every activity on it is older than the late window;
        else left for the next run. Whether the stream has caught up."""
        cursor = EngagementCursor.parse(checkpoint.cursor)
        assert cursor is not None
        today = marketo_day(datetime.now(UTC))
        calls = cursor.calls if cursor.day == today else 0
        activities = self.engine.marketo.activities
        if not cursor.token:
            cursor = cursor.model_copy(
                update={"token": activities.paging_token(self.engine.marketo.client.server_now() - LATE_WINDOW)}
            )
            calls += 1
        page: ActivityPage = next(iter(activities.read_activities(cursor.token, self.types)))
        calls += 1
        cutoff = self.engine.marketo.client.server_now() - LATE_WINDOW  # by the Date of the answer just read
        settled = all(parse_datetime(a["activityDate"]) < cutoff for a in page.activities)
        counts = PageCounts(read=len(page.activities)) if settled else PageCounts()
        if settled:
            counts.add(write_engagement(self.engine, page.activities))
        token = page.next_token if settled else cursor.token
        through = cursor.through
        if settled and (page.activities or not page.more):
            newest = max((parse_datetime(a["activityDate"]) for a in page.activities), default=cutoff)
            through = cutoff if not page.more else newest
        budget = self.engine.settings.marketo.engagement_budget
        moved = EngagementCursor(token=token, day=today, calls=calls, budget=budget, through=through)
        saved = self.store.checkpoints.save(checkpoint.advanced(cursor=moved.model_dump_json()))
        return saved, counts, not (settled and page.more)
