"""Activities: paging tokens, lead changes, activities of any type, deleted persons, usage."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.common.control import control, json_response
from emulators.marketo import engagement
from emulators.marketo.activity_log import Activity
from emulators.marketo.catalogue import (
    ACTIVITY_CHANGE_DATA_VALUE,
    ACTIVITY_DELETE_LEAD,
    ACTIVITY_NEW_LEAD,
    ACTIVITY_TYPES,
    DELETED_LEAD_RETENTION_S,
)
from emulators.marketo.core import REST, SCAN_PER_CALL, MarketoCore, rest
from emulators.marketo.envelopes import MarketoError, batch_size, envelope, list_param


class ActivityRoutes(MarketoCore):
    @rest(f"{REST}/activities/pagingtoken.json", "GET")
    def on_paging_token(self, request: Request) -> dict[str, Any]:
        since = request.args.get("sinceDatetime")
        if not since:
            raise MarketoError("701", detail="sinceDatetime")
        try:
            moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise MarketoError("1003", detail=f"Invalid sinceDatetime '{since}'") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        with self.lock:
            token = self.persons.activities.token_since(moment.timestamp())
        return envelope(None, nextPageToken=token)

    def _scan(self, request: Request, wanted: Callable[[Activity], bool], generic: bool = False) -> dict[str, Any]:
        token = request.args.get("nextPageToken")
        if not token:
            raise MarketoError("701", detail="nextPageToken")
        size = batch_size(request.args.get("batchSize"))
        self.pause("activities")
        with self.lock:
            page = self.persons.activities.read(token, wanted, size, SCAN_PER_CALL, self.clock.now())
        if page is None:
            raise MarketoError("1003", detail="Invalid nextPageToken")
        found, following, more = page
        shaped = [a.generic_wire() if generic else a.wire() for a in found]
        return envelope(shaped, nextPageToken=following, moreResult=more)

    @control("activity-commits", "GET", "POST")
    def control_activity_commits(self, request: Request, body: Any) -> Response:
        """How the activity log commits: {"late_share", "late_max_s", "repeat_share", "ids", "seed"}
        (activity_log.py; reset restores the defaults)."""
        with self.lock:
            if request.method == "GET":
                return json_response(self.persons.activities.commits.settings())
            if not isinstance(body, dict):
                return json_response({"error": "give a JSON object of settings"}, 400)
            try:
                return json_response(self.persons.activities.configure(**body))
            except (TypeError, ValueError) as error:
                return json_response({"error": str(error)}, 400)

    @control("engagement", "POST")
    def control_engagement(self, request: Request, body: Any) -> Response:
        """What people and Sales Insight do (engagement.py): {"activities": [{"leadId", "type" (name
        or id), "primaryAttributeValue"?, "primaryAttributeValueId"?, "attributes"?}], "scores":
        [{"leadId", "leadScore"?, "priority"?, …}], "generate": {"count", "span_s"}} — activities
        logged now, scores set (a Score field's change logs Change Score; Sales Insight's fields
        Change Data Value), and `count` activities of the mix over every person, dated evenly over
        the last `span_s` seconds."""
        if not isinstance(body, dict):
            return json_response({"error": 'give {"activities": [...], "scores": [...]}'}, 400)
        rng = random.Random(len(self.persons.activities.items))
        logged = scored = 0
        with self.lock:
            wanted = body.get("generate")
            if isinstance(wanted, dict):  # {"count": n, "span_s": s}: a busy stretch of the mix
                span = float(wanted.get("span_s", 60))
                logged += engagement.generate(self.persons, int(wanted.get("count", 0)), span, self.clock.now(), rng)
            for item in body.get("activities", []):
                lead_id, kind = int(item.get("leadId", 0)), item.get("type")
                type_id = engagement.TYPE_BY_NAME.get(str(kind), kind if isinstance(kind, int) else 0)
                if lead_id not in self.persons.leads or type_id not in {t["id"] for t in ACTIVITY_TYPES}:
                    return json_response({"error": f"unknown person {lead_id} or activity type {kind!r}"}, 400)
                primary, primary_id, attributes = engagement.details(type_id, rng)
                engagement.record(
                    self.persons,
                    lead_id,
                    type_id,
                    self.clock.now(),
                    str(item.get("primaryAttributeValue", primary)),
                    item.get("primaryAttributeValueId", primary_id or None),
                    list(item.get("attributes", attributes)),
                )
                logged += 1
            for item in body.get("scores", []):
                lead_id = int(item.get("leadId", 0))
                values = {k: v for k, v in item.items() if k != "leadId"}
                allowed = {*engagement.SCORE_FIELDS, *engagement.SALES_INSIGHT_FIELDS}
                if lead_id not in self.persons.leads or not set(values) <= allowed:
                    return json_response(
                        {"error": f"unknown person {lead_id} or a field not in {sorted(allowed)}"}, 400
                    )
                self.persons.update(lead_id, values, self.clock.now(), "Sales Insight")
                scored += 1
        return json_response({"activities": logged, "scores": scored})

    @rest(f"{REST}/activities/leadchanges.json", "GET")
    def on_lead_changes(self, request: Request) -> dict[str, Any]:
        fields = set(list_param(request.args.get("fields")))
        if not fields:
            raise MarketoError("701", detail="fields")
        lead_ids = {int(x) for x in list_param(request.args.get("leadIds"))}

        def wanted(activity: Any) -> bool:
            if lead_ids and activity.lead_id not in lead_ids:
                return False
            if activity.type_id == ACTIVITY_NEW_LEAD:
                return True
            return activity.type_id == ACTIVITY_CHANGE_DATA_VALUE and activity.fields[0]["name"] in fields

        return self._scan(request, wanted)

    @rest(f"{REST}/activities.json", "GET")
    def on_activities(self, request: Request) -> dict[str, Any]:
        """Activities of up to 10 types after a paging token (deletions older than 14 days pruned)."""
        raw = list_param(request.args.get("activityTypeIds"))
        if not raw:
            raise MarketoError("701", detail="activityTypeIds")
        try:
            types = {int(x) for x in raw}
        except ValueError:
            raise MarketoError("1003", detail=f"Invalid activityTypeIds '{request.args['activityTypeIds']}'") from None
        if len(types) > 10:
            raise MarketoError("1003", detail="activityTypeIds may hold at most 10 ids")
        lead_ids = {int(x) for x in list_param(request.args.get("leadIds"))}
        if len(lead_ids) > 30:
            raise MarketoError("1003", detail="leadIds may hold at most 30 ids")
        horizon = self.clock.now() - DELETED_LEAD_RETENTION_S

        def wanted(activity: Any) -> bool:
            if activity.type_id not in types or (lead_ids and activity.lead_id not in lead_ids):
                return False
            return bool(activity.type_id != ACTIVITY_DELETE_LEAD or activity.epoch >= horizon)

        return self._scan(request, wanted, generic=True)

    @rest(f"{REST}/activities/deletedleads.json", "GET")
    def on_deleted_leads(self, request: Request) -> dict[str, Any]:
        horizon = self.clock.now() - DELETED_LEAD_RETENTION_S
        return self._scan(request, lambda a: a.type_id == ACTIVITY_DELETE_LEAD and a.epoch >= horizon)

    @rest(f"{REST}/activities/types.json", "GET")
    def on_activity_types(self, request: Request) -> dict[str, Any]:
        """Describe Activity Types."""
        return envelope([dict(t) for t in ACTIVITY_TYPES])

    @rest(f"{REST}/stats/usage.json", "GET")
    def on_usage(self, request: Request) -> dict[str, Any]:
        with self.lock:
            today = self.limits.today()
            total = self.limits.daily.get(today, 0)
        return envelope(
            [
                {
                    "date": today,
                    "total": total,
                    "users": [{"userId": "sync-api@example.com", "count": total}],
                }
            ]
        )

    # Lead Database objects (companies, opportunities, roles, sales persons, custom objects)
