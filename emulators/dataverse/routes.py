"""The Dataverse emulator: the API frame and identity (`core`), reads (`reads`) and writes
(`writes`) of tables, and here the service-wide endpoints: the service document, `$metadata`,
`$batch`, WhoAmI, table definitions and record counts (each declared with `@api`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from emulators.common.control import control, json_response
from emulators.dataverse import batch as batching
from emulators.dataverse import csdl, metadata, metadata_writes
from emulators.dataverse.actions import DataverseActions
from emulators.dataverse.core import API, api
from emulators.dataverse.models import DataverseError
from emulators.dataverse.odata import ODataError
from emulators.dataverse.plugin_registration import seed_filters
from emulators.dataverse.reads import DataverseReads
from emulators.dataverse.wire import bad_request, error_reply, json_reply


class DataverseService(DataverseReads, DataverseActions):
    @api("/", "GET")
    def on_service_document(self, request: Request, user: str) -> Response:
        return json_reply(
            {
                "@odata.context": f"{self._base(request)}{API}/$metadata",
                "value": [
                    {"name": d.definition.entity_set, "kind": "EntitySet", "url": d.definition.entity_set}
                    for d in self.org.tables.values()
                ],
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
            return metadata.answer(self.org, request, path, self.clock.now())

    # customizing: tables, columns and alternate keys (metadata_writes.py), publishing

    @api("/EntityDefinitions", "POST")
    def on_create_table(self, request: Request, user: str) -> Response:
        definition = metadata_writes.table_of(self._body(request))
        with self.lock:
            self.org.add_table(definition)
            seed_filters(self.org, [definition.logical_name])
        return self._created(request, f"EntityDefinitions({metadata.entity(definition)['MetadataId']})")

    @api("/EntityDefinitions(<key:key>)/Attributes", "POST")
    def on_create_column(self, request: Request, user: str, key: str) -> Response:
        body = self._body(request)
        with self.lock:
            table = metadata.find_table(self.org, key)
            metadata_id = metadata_writes.add_column(self.org, table.logical_name, body)
        return self._created(
            request, f"EntityDefinitions(LogicalName='{table.logical_name}')/Attributes({metadata_id})"
        )

    @api("/EntityDefinitions(<key:key>)/Keys", "POST")
    def on_create_key(self, request: Request, user: str, key: str) -> Response:
        body = self._body(request)
        with self.lock:
            table = metadata.find_table(self.org, key)
            job = metadata_writes.key_of(self.org, table.logical_name, body, self.clock.now(), self.key_index_s)
        return self._created(request, f"EntityDefinitions(LogicalName='{table.logical_name}')/Keys({job.metadata_id})")

    @api("/PublishXml", "POST")
    @api("/PublishAllXml", "POST")
    def on_publish(self, request: Request, user: str) -> Response:
        """Publishing customizations: nothing to wait for here (changes apply at once)."""
        body = self._body(request)
        if request.path.endswith("/PublishXml") and not (isinstance(body, dict) and body.get("ParameterXml")):
            raise bad_request(
                "PublishXml needs ParameterXml, e.g. "
                "<importexportxml><entities><entity>contact</entity></entities></importexportxml>."
            )
        return Response(status=204, headers={"OData-Version": "4.0"})

    def _created(self, request: Request, path: str) -> Response:
        return Response(
            status=204, headers={"OData-Version": "4.0", "OData-EntityId": f"{self._base(request)}{API}/{path}"}
        )

    @control("key-index", "GET", "POST")
    def control_key_index(self, request: Request, body: Any) -> Response:
        """How long an alternate key's index takes to build: {"seconds": 2.0}."""
        if request.method == "POST":
            seconds = body.get("seconds") if isinstance(body, dict) else None
            if not isinstance(seconds, int | float) or seconds < 0:
                return json_response({"error": 'give {"seconds": n} with n >= 0'}, 400)
            self.key_index_s = float(seconds)
        return json_response({"seconds": self.key_index_s})

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
