"""Marketo's activity log as a reader meets it: dated activities, date-based paging tokens, and
(by setting) activities committed late, pages that repeat an activity, activities without ids.

Sources (docs/emulators.md has them in full):
- Paging tokens are date-based [AdobeDocs marketo-developer, paging-tokens.md]: `pagingtoken.json`
  returns records "that occur after" a datetime; the tokens Marketo hands out decode (base32) to
  "<datetime>,<offset>" — e.g. GIYDAOBNGEYS2MBWKQYDAORQGA5DAMBOGAYDAKZQGAYDALBQ is
  "2008-11-06T00:00:00.000+0000,0". So a read resumes at a date (and a count of activities at
  that date), not at an activity.
- Activities can be committed well after their `activityDate` [Marketo Nation KB "REST API
  Paging Tokens Use Case": Send Email activities are committed once the mail has left]. A reader
  that has passed that date by then never sees them: the emulator makes a share of activities
  visible only `late` seconds after their date (`configure`), out of id order.
- On instances served by Marketo's newer activity service an activity's `id` may be absent or
  not unique; `marketoGUID` is the key [Swagger `Activity`; marketo-more.md]. `ids` sets which.
- The same activity returned on two pages (`repeat_share`): what a date-and-offset token does when
  an activity of the same second is committed between two calls; the share is a test knob.
Defaults are the well-behaved log (all visible at once, ids unique): no source gives a share.
"""

from __future__ import annotations

import base64
import bisect
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

IDS = ("unique", "absent", "repeated")


@dataclass
class Activity:
    id: int
    lead_id: int
    type_id: int
    epoch: float
    fields: list[dict[str, Any]] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)
    primary: str | None = None
    primary_id: int | None = None  # primaryAttributeValueId: the program of a program status change
    guid: str = ""
    visible_at: float = 0.0  # committed: before this the log does not show it
    shown_id: int | None = None  # the id the wire carries (None: absent)

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "marketoGUID": self.guid,
            "leadId": self.lead_id,
            "activityDate": datetime.fromtimestamp(self.epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "activityTypeId": self.type_id,
            "attributes": self.attributes,
        }
        if self.shown_id is not None:
            body = {"id": self.shown_id, **body}
        if self.fields:
            body["fields"] = self.fields
        if self.primary_id is not None:
            body["primaryAttributeValueId"] = self.primary_id
        if self.primary is not None:
            body["primaryAttributeValue"] = self.primary
        return body

    def generic_wire(self) -> dict[str, Any]:
        """As `GET /rest/v1/activities.json` sends it: no `fields`; a data value change names its
        field by id (primaryAttributeValueId) and carries the values as attributes."""
        body = self.wire()
        changed = body.pop("fields", None)
        if changed:
            body["primaryAttributeValueId"] = changed[0]["id"]
            body["attributes"] = [
                {"name": "New Value", "value": changed[0]["newValue"]},
                {"name": "Old Value", "value": changed[0]["oldValue"]},
                *self.attributes,
            ]
        return body


@dataclass
class CommitModel:
    late_share: float = 0.0  # of activities committed late
    late_max_s: float = 0.0  # each late one, uniformly 0..late_max_s after its date
    repeat_share: float = 0.0  # of pages whose last activity comes again on the next page
    ids: str = "unique"  # unique | absent | repeated (ids cycle over 1..100)
    seed: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def settings(self) -> dict[str, Any]:
        return {
            "late_share": self.late_share,
            "late_max_s": self.late_max_s,
            "repeat_share": self.repeat_share,
            "ids": self.ids,
            "seed": self.seed,
        }


def _ms(epoch: float) -> int:
    return int(epoch * 1000)


def encode_date_token(ms: int, offset: int) -> str:
    """Marketo's form: base32 of "<datetime with milliseconds>+0000,<offset>", unpadded."""
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    text = f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}.{ms % 1000:03d}+0000,{offset}"
    return base64.b32encode(text.encode()).decode().rstrip("=")


def decode_date_token(token: str) -> tuple[int, int] | None:
    """(milliseconds since the epoch, offset) of a token, or None."""
    try:
        text = base64.b32decode(token + "=" * (-len(token) % 8)).decode()
        stamp, offset = text.rsplit(",", 1)
        seconds, millis = stamp.split("+", 1)[0].split(".")
        moment = datetime.strptime(seconds, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        return int(moment.timestamp()) * 1000 + int(millis), int(offset)
    except (ValueError, UnicodeDecodeError):
        return None


class ActivityLog:
    """Every activity in date order (they are made in time order), its date kept to the
    millisecond as tokens carry it; visibility is a filter."""

    def __init__(self) -> None:
        self.items: list[Activity] = []
        self._ms: list[int] = []
        self.commits = CommitModel()

    def configure(self, **settings: Any) -> dict[str, Any]:
        model = CommitModel(**{**self.commits.settings(), **settings})
        if not 0 <= model.late_share <= 1 or not 0 <= model.repeat_share <= 1 or model.late_max_s < 0:
            raise ValueError("late_share and repeat_share are shares (0 to 1); late_max_s is seconds >= 0")
        if model.ids not in IDS:
            raise ValueError(f"ids is one of {', '.join(IDS)}")
        model.rng = random.Random(model.seed)
        self.commits = model
        return model.settings()

    def append(self, lead_id: int, type_id: int, epoch: float, **kw: Any) -> Activity:
        epoch = max(epoch, self.items[-1].epoch) if self.items else epoch
        number = len(self.items) + 1
        model = self.commits
        late = model.late_max_s * model.rng.random() if model.rng.random() < model.late_share else 0.0
        shown = {"unique": number, "absent": None, "repeated": (number - 1) % 100 + 1}[model.ids]
        guid = str(uuid.UUID(int=model.rng.getrandbits(128), version=4))
        activity = Activity(number, lead_id, type_id, epoch, **kw, guid=guid, visible_at=epoch + late, shown_id=shown)
        self.items.append(activity)
        self._ms.append(_ms(epoch))
        return activity

    def backdate(self, history: list[dict[str, Any]]) -> None:
        """Activities dated in the past (a seeded history), merged into date order: what a log
        that has been recording for months holds. Ids stay as numbered (in order of recording)."""
        model = self.commits
        for n, entry in enumerate(history, start=len(self.items) + 1):
            guid = str(uuid.UUID(int=model.rng.getrandbits(128), version=4))
            shown = {"unique": n, "absent": None, "repeated": (n - 1) % 100 + 1}[model.ids]
            epoch = float(entry.pop("epoch"))
            self.items.append(Activity(n, epoch=epoch, guid=guid, visible_at=epoch, shown_id=shown, **entry))
        self.items.sort(key=lambda a: a.epoch)
        self._ms = [_ms(a.epoch) for a in self.items]

    def position_since(self, epoch: float) -> int:
        return bisect.bisect_left(self._ms, _ms(epoch))

    def token_since(self, epoch: float) -> str:
        return encode_date_token(_ms(epoch), 0)

    def read(
        self, token: str, wanted: Callable[[Activity], bool], size: int, scan: int, now: float
    ) -> tuple[list[Activity], str, bool] | None:
        """Up to `size` visible activities `wanted` after the token, examining at most `scan`;
        the next token, and whether more are visible. None for a token that is not one."""
        decoded = decode_date_token(token)
        if decoded is None:
            return None
        since, offset = decoded
        start = bisect.bisect_left(self._ms, since)
        while offset and start < len(self.items) and self._ms[start] == since:  # skip by count
            offset -= self.items[start].visible_at <= now
            start += 1
        found: list[Activity] = []
        cursor, end = start, min(len(self.items), start + scan)
        while cursor < end and len(found) < size:
            item = self.items[cursor]
            if item.visible_at <= now and wanted(item):
                found.append(item)
            cursor += 1
        more = cursor < len(self.items)
        if cursor == start:
            return found, token, more
        last = self._ms[cursor - 1]
        first = bisect.bisect_left(self._ms, last)
        seen = sum(1 for a in self.items[first:cursor] if a.visible_at <= now)
        if found and seen and self.commits.rng.random() < self.commits.repeat_share:
            seen -= 1  # the page's last activity comes again on the next page
        return found, encode_date_token(last, seen), more
