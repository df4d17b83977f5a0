"""Splitting work into Marketo-sized calls: <= 300 records and < 1 MB per body, run concurrently
up to the limiter's concurrency, results put back in input order."""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

MAX_RECORDS: Final = 300
MAX_BODY_BYTES: Final = 900_000  # Marketo refuses > 1 MB; keep headroom for the envelope

T = TypeVar("T")


def chunks(
    records: Sequence[dict[str, Any]], max_records: int = MAX_RECORDS, max_bytes: int = MAX_BODY_BYTES
) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for record in records:
        record_size = len(json.dumps(record, default=str)) + 1
        if current and (len(current) >= max_records or size + record_size > max_bytes):
            out.append(current)
            current, size = [], 0
        current.append(record)
        size += record_size
    if current:
        out.append(current)
    return out


def run_in_order(
    batches: Sequence[Sequence[dict[str, Any]]],
    call: Callable[[Sequence[dict[str, Any]]], list[T]],
    concurrency: int,
) -> list[T]:
    """Call once per batch, at most `concurrency` at a time; flatten results in input order.
    Each call runs in a copy of the caller's context, so the caller's deadline holds in it."""
    if len(batches) <= 1:
        return [r for batch in batches for r in call(batch)]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(batches))) as pool:
        futures = [pool.submit(contextvars.copy_context().run, call, batch) for batch in batches]
        return [r for future in futures for r in future.result()]
