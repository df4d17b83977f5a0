"""Reads: collections with OData query options, change tracking deltas, record counts, one record."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.common.control import control, json_response
from emulators.dataverse.catalogue import TableDef
from emulators.dataverse.core import (
    API,
    COUNT_LIMIT,
    EXPIRED,
    REFUSED_WITH_TRACKING,
    DataverseCore,
    _sort_key,
    api,
)
from emulators.dataverse.models import DataverseError, not_found
from emulators.dataverse.odata import compile_filter, parse_orderby
from emulators.dataverse.wire import (
    Prefer,
    bad_request,
    decode_token,
    delta_token,
    encode_token,
    json_reply,
    parse_delta_token,
    parse_prefer,
    serialize,
    serializer,
)


class DataverseReads(DataverseCore):
    @api("/<set:entity_set>", "GET")
    def on_collection(self, request: Request, user: str, entity_set: str) -> Response:
        table = self.table_of(entity_set)
        prefer = parse_prefer(request.headers.get("Prefer"))
        select = self._select(table, request.args.get("$select"))
        tracking = prefer.track_changes or "$deltatoken" in request.args
        if tracking:
            if not table.change_tracking:
                raise bad_request(
                    f"Change tracking is not enabled for the entity '{table.logical_name}'. "
                    "Enable ChangeTrackingEnabled on the table to request odata.track-changes."
                )
            for option in REFUSED_WITH_TRACKING:
                if option in request.args:
                    raise bad_request(
                        f'The "{option}" query parameter isn\'t supported when Change Tracking is enabled.'
                    )
        skip = decode_token(request.args["$skiptoken"]) if "$skiptoken" in request.args else {}
        self.pause("read")
        with self.lock:
            if "$deltatoken" in request.args or skip.get("delta"):
                return self._delta(request, table, select, prefer, skip)
            data = self.org.table(table.logical_name)
            until = int(skip.get("until", self.org.version))
            shaped = not tracking and any(o in request.args for o in ("$filter", "$orderby", "$top"))
            if shaped:
                rows = list(data.rows.values())
                if "$filter" in request.args:
                    predicate = compile_filter(request.args["$filter"], self._resolver(table))
                    rows = [r for r in rows if predicate(r)]
                for name, descending in reversed(parse_orderby(request.args.get("$orderby"))):
                    rows.sort(key=_sort_key(self._resolver(table)(name)), reverse=descending)
                if "$top" in request.args and request.headers.get("Prefer", "").find("odata.maxpagesize") < 0:
                    try:
                        rows = rows[: int(request.args["$top"])]
                    except ValueError:
                        raise bad_request(f"Invalid $top '{request.args['$top']}'.") from None
            offset = int(skip.get("offset", 0))
            if shaped:
                total = len(rows)
                page = rows[offset : offset + prefer.max_page_size]
                after = offset + len(page)
                more = after < total
            else:  # in creation order by a cursor, without copying the table
                total = len(data.rows)
                page, after = data.page(offset, prefer.max_page_size)
                more = after < len(data.order) and len(page) == prefer.max_page_size
                if more and not data.page(after, 1)[0]:
                    more = False
            self.pause("rows", len(page))
            body: dict[str, Any] = {
                "@odata.context": self._context(request, table, select),
                "value": list(map(serializer(self.org, table, select, prefer), page)),
            }
        if request.args.get("$count") == "true":
            body["@odata.count"] = min(total, COUNT_LIMIT)
            if total > COUNT_LIMIT:
                body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = True
        if more:
            body["@odata.nextLink"] = self._link(request, {"$skiptoken": encode_token(offset=after, until=until)})
        elif tracking:
            body["@odata.deltaLink"] = self._link(
                request, {"$deltatoken": delta_token(until, self.clock.now_datetime())}, drop=("$skiptoken",)
            )
        return json_reply(body, headers={"Preference-Applied": self._applied(prefer)} if prefer.track_changes else None)

    @staticmethod
    def _applied(prefer: Prefer) -> str:
        parts = ["odata.track-changes"] if prefer.track_changes else []
        return ",".join(parts)

    def _delta(
        self,
        request: Request,
        table: TableDef,
        select: list[str] | None,
        prefer: Prefer,
        skip: dict[str, Any],
    ) -> Response:
        if skip:
            after, until = int(skip["after"]), int(skip["until"])
        else:
            after, stamp = parse_delta_token(request.args["$deltatoken"])
            age = self.clock.now_datetime() - stamp.replace(tzinfo=UTC)
            if age > timedelta(days=self.change_tracking_expiry_days):
                raise DataverseError(400, "0x80044352", EXPIRED)
            until = self.org.version
        position = skip.get("position")
        entries, following, done = self.org.table(table.logical_name).change_page(
            after, until, None if position is None else int(position), prefer.max_page_size, self.change_repeats
        )
        base = f"{self._base(request)}{API}/$metadata#{table.entity_set}/$deletedEntity"
        shape = serializer(self.org, table, select, prefer)
        page = [
            {"@odata.context": base, "id": entry, "reason": "deleted"} if isinstance(entry, str) else shape(entry)
            for entry in entries
        ]
        body: dict[str, Any] = {
            "@odata.context": self._context(request, table, select, "/$delta"),
            "value": page,
        }
        if not done:
            body["@odata.nextLink"] = self._link(
                request,
                {"$skiptoken": encode_token(delta=1, after=after, until=until, position=following)},
                drop=("$skiptoken", "$deltatoken"),
            )
        else:
            body["@odata.deltaLink"] = self._link(
                request,
                {"$deltatoken": delta_token(until, self.clock.now_datetime())},
                drop=("$skiptoken", "$deltatoken"),
            )
        return json_reply(body)

    @control("change-tracking", "GET", "POST")
    def control_change_tracking(self, request: Request, body: Any) -> Response:
        """{"repeats": true}: a row changed twice within a delta's span comes once per change."""
        if request.method == "POST":
            if not isinstance(body, dict) or not isinstance(body.get("repeats"), bool):
                return json_response({"error": "give 'repeats': true or false"}, 400)
            with self.lock:
                self.change_repeats = body["repeats"]
        return json_response({"repeats": self.change_repeats})

    @control("webhooks", "GET")
    def control_webhooks(self, request: Request, body: Any) -> Response:
        """How many webhook deliveries the asynchronous service still has to make."""
        return json_response({"pending": self.webhooks.jobs.pending})

    @api("/RetrieveTotalRecordCount(<key:call>)", "GET")
    def on_record_counts(self, request: Request, user: str, call: str) -> Response:
        """`RetrieveTotalRecordCount(EntityNames=@p1)?@p1=['account','contact']` (Dataverse answers
        from a snapshot up to 24 hours old; the emulator answers the current counts)."""
        inner = call
        raw = inner.split("=", 1)[1] if "=" in inner else ""
        if raw.startswith("@"):
            raw = request.args.get(raw, "")
        names = [n.strip().strip("'\"") for n in raw.strip("[]").split(",") if n.strip()]
        unknown = [n for n in names if n not in self.org.tables]
        if not names or unknown:
            raise bad_request(f"EntityNames must list existing tables; unknown: {', '.join(unknown) or '(none given)'}")
        with self.lock:
            values = [len(self.org.table(n).rows) for n in names]
        context = f"{self._base(request)}{API}/$metadata#Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse"
        collection = {"Count": len(names), "IsReadOnly": False, "Keys": names, "Values": values}
        return json_reply({"@odata.context": context, "EntityRecordCountCollection": collection})

    @api("/<set:entity_set>(<key:key>)", "GET")
    def on_retrieve(self, request: Request, user: str, entity_set: str, key: str) -> Response:
        table = self.table_of(entity_set)
        prefer = parse_prefer(request.headers.get("Prefer"))
        select = self._select(table, request.args.get("$select"))
        with self.lock:
            record_id = self.resolve_key(table, key)
            row = self.org.get(table.logical_name, record_id) if record_id else None
            if row is None:
                raise not_found(table.logical_name, key)
            body = {
                "@odata.context": self._context(request, table, select, "/$entity"),
                **serialize(self.org, table, row, select, prefer),
            }
        return json_reply(body)

    # writes
