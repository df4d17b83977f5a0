"""The Dataverse emulator's endpoints: /api/data/v9.2 routed to reads (`reads`) and writes
(`writes`) over the shared frame (`core`).
"""

from __future__ import annotations

import uuid

from werkzeug.wrappers import Request, Response

from emulators.dataverse import batch as batching
from emulators.dataverse import metadata
from emulators.dataverse.core import (
    _KEY,
    API,
)
from emulators.dataverse.models import DataverseError
from emulators.dataverse.reads import DataverseReads
from emulators.dataverse.wire import (
    json_reply,
)
from emulators.dataverse.writes import DataverseWrites


class DataverseService(DataverseReads, DataverseWrites):
    def dispatch(self, request: Request, path: str, user: str) -> Response:
        if path == "":
            return json_reply(
                {
                    "@odata.context": f"{self._base(request)}{API}/$metadata",
                    "value": [
                        {"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set} for t in self.table_defs
                    ],
                }
            )
        if path == "$batch" and request.method == "POST":
            return batching.execute(self, request, user)
        if path in ("WhoAmI", "WhoAmI()"):
            return json_reply(
                {
                    "@odata.context": f"{self._base(request)}{API}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                    "BusinessUnitId": str(uuid.uuid5(uuid.NAMESPACE_URL, "bu")),
                    "UserId": user,
                    "OrganizationId": str(uuid.uuid5(uuid.NAMESPACE_URL, "org")),
                }
            )
        if path.startswith("EntityDefinitions"):
            with self.lock:
                return metadata.answer(self, request, path)
        if path.startswith("RetrieveTotalRecordCount("):
            return self._record_counts(request, path)
        match = _KEY.match(path)
        if match is None or match.group("set") not in self.org.by_entity_set:
            segment = match.group("set") if match else path
            raise DataverseError(404, "0x80060888", f"Resource not found for the segment '{segment}'.")
        table = self.org.table(self.org.by_entity_set[match.group("set")]).definition
        key, action = match.group("key"), match.group("action")
        if action:
            return self._action(request, table, key, action, user)
        if key is None:
            if request.method == "GET":
                return self._collection(request, table)
            if request.method == "POST":
                return self._create(request, table, user)
            raise DataverseError(
                405, "0x80060888", f"The HTTP method '{request.method}' is not allowed on a collection."
            )
        if request.method == "GET":
            return self._retrieve(request, table, key)
        if request.method == "PATCH":
            return self._upsert(request, table, key, user)
        if request.method == "DELETE":
            return self._delete(table, key)
        raise DataverseError(405, "0x80060888", f"The HTTP method '{request.method}' is not allowed on an entity.")

    # keys
