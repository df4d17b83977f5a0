"""Bulk person import (very large first copies: up to 10 MB of CSV a file instead of 300 persons
a call) and bulk person extract (every person in a window, as CSV).

Each is a set of steps that return at once (submit, status, result): a bulk job takes minutes
to hours, and waiting belongs to the caller — a Durable timer between activities, or the CLI
sleeping between steps — never a sleep inside one call. An extract's file is read a part at a
time (`EXTRACT_PART_BYTES` a call), so memory stays flat whatever its size.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sync.connectors.marketo.client import MarketoClient
from sync.connectors.marketo.errors import MarketoFatal

MAX_FILE_BYTES: Final = 10 * 1000 * 1000  # Marketo's 10 MB an import file, read as the smaller of its two meanings
IMPORT_DONE: Final = frozenset({"Complete", "Failed"})
EXTRACT_DONE: Final = frozenset({"Completed", "Failed", "Cancelled"})
EXTRACT_PART_BYTES: Final = 32 * 1024 * 1024
DECODE_BYTES: Final = 256 * 1024
FAILURE_REASON: Final = "Import Failure Reason"
WARNING_REASON: Final = "Import Warning Reason"


@dataclass(frozen=True)
class ImportStatus:
    batch_id: int
    status: str
    processed: int
    failed: int
    warnings: int
    message: str

    @property
    def done(self) -> bool:
        return self.status in IMPORT_DONE


@dataclass(frozen=True)
class ExtractStatus:
    export_id: str
    status: str
    records: int
    file_size: int

    @property
    def done(self) -> bool:
        return self.status in EXTRACT_DONE


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_rows(records: Sequence[dict[str, Any]], columns: Sequence[str], *, header: bool = True) -> bytes:
    """Records as Marketo's import reads them: an empty cell for no value, true/false."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(c)) for c in columns])
    return out.getvalue().encode()


def _lines(data: bytes, end: int) -> Iterator[str]:
    """The text lines of data[:end], decoded 256 KB at a time. Why not
    `io.StringIO(data.decode())`: StringIO keeps 4 bytes a character, so a 32 MB extract part
    cost ~150 MB more while parsed (measured); this costs ~1.5 MB, whatever the part's size.
    Split at line feeds only: a quoted value may hold other line breaks, which the CSV reader
    joins back."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending = ""
    for start in range(0, end, DECODE_BYTES):
        stop = min(start + DECODE_BYTES, end)
        *whole, pending = (pending + decoder.decode(data[start:stop], final=stop == end)).split("\n")
        for line in whole:
            yield line + "\n"
    if pending:
        yield pending


def _record_end(data: bytes) -> int:
    """Where the last whole CSV record of data ends: after a line break outside quotes (an even
    number of quote characters before it, as doubled quotes inside values keep the parity)."""
    at = data.rfind(b"\n")
    quotes = data.count(b'"', 0, at) if at >= 0 else 0
    while at >= 0 and quotes % 2:
        before = data.rfind(b"\n", 0, at)
        quotes -= data.count(b'"', before + 1, at)  # one scan of the file, however far back
        at = before
    return at + 1


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(_lines(data, len(data))))


class BulkPersonApi:
    def __init__(self, client: MarketoClient) -> None:
        self.client = client

    # import: submit → import_status (until done) → import_failures / import_warnings

    def submit(self, data: bytes, lookup_field: str) -> int:
        """Queue one import job of a CSV file (≤ 10 MB); its batch id. No per-row ids come back."""
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"an import file holds at most {MAX_FILE_BYTES:,} bytes, not {len(data):,}")
        envelope = self.client.call(
            "POST",
            "/bulk/v1/leads.json",
            params={"format": "csv", "lookupField": lookup_field},
            files={"file": ("persons.csv", data, "text/csv")},
        )
        return int(envelope.result[0]["batchId"])

    def import_status(self, batch_id: int) -> ImportStatus:
        row = self.client.call("GET", f"/bulk/v1/leads/batch/{int(batch_id)}.json").result[0]
        return ImportStatus(
            int(row["batchId"]),
            str(row["status"]),
            int(row.get("numOfLeadsProcessed") or 0),
            int(row.get("numOfRowsFailed") or 0),
            int(row.get("numOfRowsWithWarning") or 0),
            str(row.get("message", "")),
        )

    def import_failures(self, batch_id: int) -> list[dict[str, str]]:
        """Each failed row with its "Import Failure Reason": these go to the sync-errors table."""
        return _rows(self.client.download(f"/bulk/v1/leads/batch/{int(batch_id)}/failures.json"))

    def import_warnings(self, batch_id: int) -> list[dict[str, str]]:
        """Each row imported with a warning, with its "Import Warning Reason"."""
        return _rows(self.client.download(f"/bulk/v1/leads/batch/{int(batch_id)}/warnings.json"))

    # extract: start_extract → extract_status (until done) → extract_rows

    def start_extract(self, fields: Sequence[str], window_field: str, start: datetime, end: datetime) -> str:
        """Create and enqueue an extract of every person whose createdAt/updatedAt is in [start,
        end) (at most 31 days); returns its export id."""
        window = {"startAt": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "endAt": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
        body = {"fields": list(fields), "format": "CSV", "filter": {window_field: window}}
        export_id = str(self.client.call("POST", "/bulk/v1/leads/export/create.json", json=body).result[0]["exportId"])
        self.client.call("POST", f"/bulk/v1/leads/export/{export_id}/enqueue.json")
        return export_id

    def extract_status(self, export_id: str) -> ExtractStatus:
        return _extract_status(self.client, "leads", export_id)

    def extract_rows(self, status: ExtractStatus, part_bytes: int = EXTRACT_PART_BYTES) -> Iterator[dict[str, str]]:
        return _extract_rows(self.client, "leads", status, part_bytes)


class BulkActivityApi:
    """Bulk activity extract: every activity of some types created in a window (at most 31 days),
    one job and its file instead of a REST page per 300 activities."""

    def __init__(self, client: MarketoClient) -> None:
        self.client = client

    def start_extract(self, type_ids: Sequence[int], start: datetime, end: datetime) -> str:
        window = {"startAt": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "endAt": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
        body = {"format": "CSV", "filter": {"createdAt": window, "activityTypeIds": list(type_ids)}}
        created = self.client.call("POST", "/bulk/v1/activities/export/create.json", json=body)
        export_id = str(created.result[0]["exportId"])
        self.client.call("POST", f"/bulk/v1/activities/export/{export_id}/enqueue.json")
        return export_id

    def extract_status(self, export_id: str) -> ExtractStatus:
        return _extract_status(self.client, "activities", export_id)

    def extract_rows(self, status: ExtractStatus, part_bytes: int = EXTRACT_PART_BYTES) -> Iterator[dict[str, str]]:
        return _extract_rows(self.client, "activities", status, part_bytes)


def _extract_status(client: MarketoClient, kind: str, export_id: str) -> ExtractStatus:
    row = client.call("GET", f"/bulk/v1/{kind}/export/{export_id}/status.json").result[0]
    return ExtractStatus(
        export_id, str(row["status"]), int(row.get("numberOfRecords") or 0), int(row.get("fileSize") or 0)
    )


def _extract_rows(client: MarketoClient, kind: str, status: ExtractStatus, part_bytes: int) -> Iterator[dict[str, str]]:
    """The rows of a completed extract, read `part_bytes` a call: a record cut by a part's end
    (a quoted value may hold line breaks) is completed by the next part. An extract that failed or
    was cancelled is an error."""
    if status.status != "Completed":
        raise MarketoFatal("export", f"bulk extract {status.export_id} is {status.status}, not Completed")
    path = f"/bulk/v1/{kind}/export/{status.export_id}/file.json"
    header: list[str] | None = None
    carry = b""
    for first in range(0, max(status.file_size, 1), part_bytes):
        last = min(first + part_bytes, max(status.file_size, 1)) - 1
        data = carry + client.download(path, byte_range=(first, last) if status.file_size else None)
        cut = _record_end(data) if last + 1 < status.file_size else len(data)
        carry = data[cut:]
        for values in csv.reader(_lines(data, cut)):
            if header is None:
                header = values
                continue
            yield dict(zip(header, values, strict=False))
