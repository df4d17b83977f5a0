"""Programs over the wire: the Asset API's programs and channels (`programs.json`,
`program/{id}.json`, `program/byName.json`, `channels.json`, `channel/byName.json`; nothing found is
a success with the warning "No assets found for the given search criteria.") and the Lead
Database's program members (`programs/{id}/members.json`, `programs/{id}/members/status.json`).
The model and its rules are `programs.py`."""

from __future__ import annotations

from typing import Any, Final

from werkzeug.wrappers import Request

from emulators.marketo.core import REST, MarketoCore, rest
from emulators.marketo.envelopes import MarketoError, batch_size, envelope, input_records, list_param, request_id
from emulators.marketo.programs import ACTIVITY_PROGRAM_STATUS, CHANNELS, NOT_IN_PROGRAM, STATUS_IDS, stamp

ASSET: Final = "/rest/asset/v1"
NO_ASSETS: Final = "No assets found for the given search criteria."


def _asset(result: list[dict[str, Any]]) -> dict[str, Any]:
    if not result:
        return {"requestId": request_id(), "success": True, "errors": [], "warnings": [NO_ASSETS]}
    return {"requestId": request_id(), "success": True, "errors": [], "warnings": [], "result": result}


def _window(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    try:
        offset = int(request.args.get("offset", "0"))
        size = int(request.args.get("maxReturn", "20"))
    except ValueError:
        raise MarketoError("1003", detail="offset and maxReturn take integers") from None
    if not 1 <= size <= 200:
        raise MarketoError("1003", detail="maxReturn must be between 1 and 200")
    return items[offset : offset + size]


class ProgramRoutes(MarketoCore):
    @rest(f"{ASSET}/programs.json", "GET")
    def on_programs(self, request: Request) -> dict[str, Any]:
        self.pause("describe")
        with self.lock:
            return _asset(_window(request, list(self.programs.programs.values())))

    @rest(f"{ASSET}/program/<int:program_id>.json", "GET")
    def on_program(self, request: Request, program_id: int) -> dict[str, Any]:
        with self.lock:
            found = self.programs.programs.get(program_id)
        return _asset([found] if found else [])

    @rest(f"{ASSET}/program/byName.json", "GET")
    def on_program_by_name(self, request: Request) -> dict[str, Any]:
        name = request.args.get("name")
        if not name:
            raise MarketoError("701", detail="name")
        with self.lock:
            return _asset([p for p in self.programs.programs.values() if p["name"] == name])

    @rest(f"{ASSET}/channels.json", "GET")
    def on_channels(self, request: Request) -> dict[str, Any]:
        return _asset(_window(request, [dict(c) for c in CHANNELS]))

    @rest(f"{ASSET}/channel/byName.json", "GET")
    def on_channel_by_name(self, request: Request) -> dict[str, Any]:
        name = request.args.get("name")
        if not name:
            raise MarketoError("701", detail="name")
        return _asset([dict(c) for c in CHANNELS if c["name"] == name])

    @rest(f"{REST}/programs/<int:program_id>/members/status.json", "POST")
    def on_member_status(self, request: Request, program_id: int) -> dict[str, Any]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise MarketoError("609")
        status_name = body.get("statusName")
        if not status_name:
            raise MarketoError("701", detail="statusName")
        records = input_records(body)
        self.pause("object_write", len(records))
        with self.lock:
            program = self.programs.programs.get(program_id)
            if program is None:
                raise MarketoError("1003", detail=f"Program '{program_id}' not found")
            statuses = self.programs.statuses(program)
            status = next((s for s in statuses if s["name"] == status_name), None)
            if status is None or status["step"] == 0:
                raise MarketoError("1003", detail=f"Invalid status '{status_name}' for channel '{program['channel']}'")
            results = [self._change_status(program, status, record, seq) for seq, record in enumerate(records)]
        return envelope(results)

    def _change_status(self, program: dict[str, Any], status: dict[str, Any], record: Any, seq: int) -> dict[str, Any]:
        lead_id = record.get("leadId") if isinstance(record, dict) else None
        if not isinstance(lead_id, int) or lead_id not in self.persons.leads:
            return {"seq": seq, "leadId": lead_id, "status": "skipped", "reasons": [_reason("1004", "Lead not found")]}
        now = self.clock.now()
        key = (program["id"], lead_id)
        member = self.programs.members.get(key)
        old = member["statusName"] if member else NOT_IN_PROGRAM["name"]
        old_step = member["step"] if member else 0
        if status["step"] <= old_step:
            why = "Lead skipped because it is already in or past this status"
            return {"seq": seq, "leadId": lead_id, "status": "skipped", "reasons": [_reason("1037", why)]}
        if member is None:
            member = {
                "id": self.programs.next_member_id,
                "leadId": lead_id,
                "programId": program["id"],
                "membershipDate": stamp(now),
                "acquiredBy": False,
                "reachedSuccess": False,
            }
            self.programs.next_member_id += 1
            self.programs.members[key] = member
        member.update(statusName=status["name"], step=status["step"], updatedAt=stamp(now))
        if status["success"] and not member["reachedSuccess"]:
            member.update(reachedSuccess=True, reachedSuccessDate=stamp(now))
        channel = program["channel"]
        self.persons.activities.append(
            lead_id,
            ACTIVITY_PROGRAM_STATUS,
            now,
            primary=program["name"],
            primary_id=program["id"],
            attributes=[
                {"name": "Acquired By", "value": member["acquiredBy"]},
                {"name": "New Status ID", "value": STATUS_IDS[(channel, status["name"])]},
                {"name": "Old Status ID", "value": STATUS_IDS[(channel, old)]},
                {"name": "New Status", "value": status["name"]},
                {"name": "Old Status", "value": old},
                {"name": "Program Member ID", "value": member["id"]},
                {"name": "Success", "value": status["success"]},
            ],
        )
        return {"seq": seq, "leadId": lead_id, "status": "updated"}  # Swagger: updated or skipped, new member or not

    @rest(f"{REST}/programs/<int:program_id>/members.json", "GET")
    def on_members(self, request: Request, program_id: int) -> dict[str, Any]:
        if request.args.get("filterType") != "leadId":
            raise MarketoError("1003", detail="This emulator filters program members by leadId only")
        wanted = {int(v) for v in list_param(request.args.get("filterValues")) if v.isdigit()}
        size = batch_size(request.args.get("batchSize"))
        fields = list_param(request.args.get("fields"))  # beside those Swagger says every member carries
        self.pause("object_query")
        with self.lock:
            if program_id not in self.programs.programs:
                raise MarketoError("1003", detail=f"Program '{program_id}' not found")
            found = [m for (p, lead), m in self.programs.members.items() if p == program_id and lead in wanted]
        always = ("leadId", "reachedSuccess", "programId", "acquiredBy", "membershipDate")
        shaped = [{"seq": n} | {f: m.get(f) for f in (*always, *fields)} for n, m in enumerate(found[:size])]
        return envelope(shaped, moreResult=False)


def _reason(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}
