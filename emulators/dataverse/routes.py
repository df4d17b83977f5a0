"""The Dataverse emulator: the API frame and identity (`core`), reads (`reads`) and writes
(`writes`) of tables, and here the service-wide endpoints: the service document, `$metadata`,
`$batch`, WhoAmI, table definitions and record counts (each declared with `@api`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from emulators.dataverse import batch as batching
from emulators.dataverse import csdl, metadata
from emulators.dataverse.actions import DataverseActions
from emulators.dataverse.core import API, api
from emulators.dataverse.models import DataverseError
from emulators.dataverse.odata import ODataError
from emulators.dataverse.reads import DataverseReads
from emulators.dataverse.wire import bad_request, error_reply, json_reply


class DataverseService(DataverseReads, DataverseActions):
    @api("/", "GET")
    def on_service_document(self, request: Request, user: str) -> Response:
        return json_reply(
            {
                "@odata.context": f"{self._base(request)}{API}/$metadata",
                "value": [{"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set} for t in self.table_defs],
            }
        )

    @api("/$metadata", "GET")
    def on_csdl(self, request: Request, user: str) -> Response:
        """The CSDL document that every `@odata.context` points at: XML whatever JSON is accepted."""
        with self.lock:
            tables = [data.definition for data in self.org.tables.values()]
        return Response(csdl.document(tables), headers={"OData-Version": "4.0"}, mimetype="application/xml")

    @api("/$batch", "POST")
    def on_batch(self, request: Request, user: str) -> Response:
        return batching.execute(
            request,
            lambda method, url, headers, body: self.run_inner(method, url, headers, body, user, request),
            self.change_set,
        )

    @contextmanager
    def change_set(self) -> Iterator[None]:
        """A change set holds the service's state and succeeds or fails as one."""
        with self.lock, self.org.transaction():
            yield

    @api("/WhoAmI", "GET")
    @api("/WhoAmI()", "GET")
    def on_who_am_i(self, request: Request, user: str) -> Response:
        return json_reply(
            {
                "@odata.context": f"{self._base(request)}{API}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                "BusinessUnitId": str(uuid.uuid5(uuid.NAMESPACE_URL, "bu")),
                "UserId": user,
                "OrganizationId": str(uuid.uuid5(uuid.NAMESPACE_URL, "org")),
            }
        )

    @api("/EntityDefinitions", "GET")
    @api("/EntityDefinitions(<key:key>)", "GET")
    @api("/EntityDefinitions(<key:key>)/<path:rest>", "GET")
    def on_entity_definitions(self, request: Request, user: str, key: str | None = None, rest: str = "") -> Response:
        path = "EntityDefinitions" + (f"({key})" if key is not None else "") + (f"/{rest}" if rest else "")
        with self.lock:
            return metadata.answer(self.org, request, path)

    # a $batch part: one inner request through the same API frame (without its own limits)

    def run_inner(
        self, method: str, url: str, headers: dict[str, str], body: bytes, user: str, base_request: Request
    ) -> Response:
        path = url.split(API, 1)[1].lstrip("/") if API in url else url.lstrip("/")
        builder = EnvironBuilder(
            path=f"{API}/{path.split('?', 1)[0]}",
            method=method,
            headers=list(headers.items()),
            data=body,
            query_string=path.split("?", 1)[1] if "?" in path else None,
            base_url=base_request.host_url,
        )
        inner = Request(builder.get_environ())
        try:
            return self.dispatch(inner, inner.path[len(API) + 1 :], user)
        except DataverseError as error:
            return error_reply(error)
        except ODataError as error:
            return error_reply(bad_request(str(error)))
