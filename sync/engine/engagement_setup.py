"""`python -m sync setup`: what engagement needs in Dynamics, created through the Web API's metadata
endpoints when missing — the score columns on leads and contacts, the Marketo activity table with
its columns, the alternate key on the activity key — then published, and the key's index waited
for. Idempotent: a second run finds everything and creates nothing. Named with the publisher
prefix (DATAVERSE_PUBLISHER_PREFIX), in the solution DATAVERSE_SOLUTION when set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.dataverse.customizations import Customizations, activity_table_body, column_body
from sync.connectors.dataverse.errors import DataverseError
from sync.mapping.engagement import (
    KEY_SUFFIX,
    SCORE_COLUMNS,
    SCORE_TABLES,
    TIMELINE_COLUMNS,
    TIMELINE_LABELS,
    TIMELINE_TABLE,
    ColumnSpec,
    EngagementNames,
)
from sync.mapping.file import EngagementEntry

KEY_WAIT_S: Final = 900.0  # an index on an empty table takes a minute or two; on a large one, longer
KEY_POLL_S: Final = 5.0


class SetupFailed(Exception):
    """The org refused a step, or the key's index failed: the message says which and the fix."""


@dataclass
class SetupReport:
    created: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    key_status: str = ""

    def lines(self) -> list[str]:
        made = f"created {len(self.created)}: {', '.join(self.created)}" if self.created else "created nothing"
        return [made, f"already there: {len(self.present)}", f"alternate key index: {self.key_status or 'none'}"]


class EngagementSetup:
    def __init__(self, dataverse: DataverseConnection, prefix: str, solution: str | None = None) -> None:
        self.dataverse = dataverse
        self.names = EngagementNames(prefix)
        self.customizations = Customizations(dataverse.client, solution)
        self.report = SetupReport()

    def _columns(self, table: str) -> set[str] | None:
        """The table's columns, read afresh; None when there is no such table."""
        self.dataverse.metadata.forget(table)
        try:
            return set(self.dataverse.metadata.describe(table).columns)
        except DataverseError as error:
            if error.status == 404:
                return None
            raise

    def _column(self, table: str, spec: ColumnSpec, present: set[str]) -> None:
        name = self.names.column(spec.suffix)
        if name in present:
            self.report.present.append(f"{table}.{name}")
            return
        self.customizations.create_column(table, column_body(name, spec.kind, spec.label, spec.max_length))
        self.report.created.append(f"{table}.{name}")

    def run(self, entry: EngagementEntry, wait: Callable[[float], None] = time.sleep) -> SetupReport:
        touched: list[str] = []
        if entry.scores:
            for table in SCORE_TABLES:
                present = self._columns(table) or set()
                before = len(self.report.created)
                for spec in SCORE_COLUMNS.values():
                    self._column(table, spec, present)
                touched += [table] if len(self.report.created) > before else []
        if entry.modes():
            self._timeline(touched)
        if touched:
            self.customizations.publish(touched)
        if entry.modes():
            self._await_key(wait)
        return self.report

    def _timeline(self, touched: list[str]) -> None:
        table = self.names.table
        present = self._columns(table)
        if present is None:
            schema = self.names.column(TIMELINE_TABLE)
            self.customizations.create_table(activity_table_body(schema, *TIMELINE_LABELS))
            self.report.created.append(f"table {table}")
            present = self._columns(table) or set()
        else:
            self.report.present.append(f"table {table}")
        before = len(self.report.created)
        for spec in TIMELINE_COLUMNS:
            self._column(table, spec, present)
        if len(self.report.created) > before or f"table {table}" in self.report.created:
            touched.append(table)
        columns = [self.names.key_column]
        if self.customizations.key_status(table, columns) is None:
            self.customizations.create_key(table, self.names.column(KEY_SUFFIX), columns, "Marketo activity key")
            self.report.created.append(f"key {self.names.column(KEY_SUFFIX)} on {table}")
        else:
            self.report.present.append(f"key on {self.names.key_column}")

    def _await_key(self, wait: Callable[[float], None]) -> None:
        """Until the index is Active: rows are written by the key, which cannot address rows before."""
        waited = 0.0
        columns = [self.names.key_column]
        while True:
            status = self.customizations.key_status(self.names.table, columns) or ""
            self.report.key_status = status
            if status == "Active":
                return
            if status == "Failed":
                raise SetupFailed(
                    f"the alternate key on {self.names.key_column} failed to build its index: rows with the "
                    "same key or a value it cannot index. Fix the data, then call ReactivateEntityKey on the key "
                    "(or delete the key) and run setup again"
                )
            if waited >= KEY_WAIT_S:
                raise SetupFailed(
                    f"the alternate key's index is still {status} after {KEY_WAIT_S:.0f} s: run setup again later; "
                    "the timeline is written once it is Active"
                )
            wait(KEY_POLL_S)
            waited += KEY_POLL_S
