"""Sync errors as JSON or CSV, for the errors endpoint and `python -m sync errors`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any, Final

from sync.store.errors import RecordError

COLUMNS: Final = tuple(RecordError.model_fields)


def errors_as_json(errors: Iterable[RecordError]) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json") for e in errors]


def errors_as_csv(errors: Iterable[RecordError]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in errors_as_json(errors):
        writer.writerow(row)
    return out.getvalue()
