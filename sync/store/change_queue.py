"""The change queue: references to records a webhook said changed, on an Azure Storage queue.

A message holds record references only (source, table, id, what happened), never values: the
drain reads each record's current state, so duplicates, reordering and stale notices all come
to the same result, and nothing personal rests in the queue.

Messages are base64 text, as the Functions host's queue trigger reads them. The host moves a
message that failed `MAX_DEQUEUE` times to `<queue>-poison`; the CLI's drain does the same, so
the status page counts one poison queue either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync.store.tables import STORE_RETRY

MAX_DEQUEUE: Final = 5  # host.json's extensions.queues.maxDequeueCount
MAX_REFS: Final = 300  # one Marketo call's worth of persons: what one drain takes at most
# A received message stays hidden this long: far longer than one drain (one Marketo call per
# object), so no other worker takes it meanwhile; a drain that dies leaves it to reappear.
VISIBILITY_S: Final = 300
Source = Literal["dataverse", "marketo"]


class ChangeRef(BaseModel):
    """One record a webhook said changed: where, which, what happened and when it was heard."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Source
    table: str = Field(min_length=1, max_length=128)  # a Dataverse logical name, or "person"
    id: str = Field(min_length=1, max_length=64)
    message: str = Field("", max_length=32)  # Create, Update, Delete; empty for Marketo
    heard_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ChangeMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    refs: list[ChangeRef] = Field(min_length=1, max_length=MAX_REFS)
    waits: int = Field(0, ge=0)  # how many times it was put back because the object was busy


class BadChangeMessage(ValueError):
    """A message that is not a change message: the drain refuses it (it ends in the poison queue)."""


def parse_message(text: str) -> ChangeMessage:
    try:
        return ChangeMessage.model_validate_json(text)
    except ValidationError as error:
        raise BadChangeMessage(f"not a change message: {error.errors(include_url=False)[:3]}") from None


@dataclass(frozen=True)
class Received:
    """A message taken from the queue: hidden until deleted or its visibility ends."""

    id: str
    pop_receipt: str
    dequeue_count: int
    text: str


def queue_endpoint(connection: str) -> str:
    """A table endpoint URL's queue endpoint (same account, managed identity)."""
    return connection.split("?", 1)[0].replace(".table.", ".queue.", 1)


class ChangeQueue:
    def __init__(self, queue: QueueClient, poison: QueueClient) -> None:
        self._queue, self._poison = queue, poison

    @classmethod
    def open(cls, connection: str, name: str, *, credential: TokenCredential | None = None) -> ChangeQueue:
        """`connection`: the storage connection string, or its table endpoint URL (managed identity)."""
        codec: dict[str, Any] = {
            "message_encode_policy": TextBase64EncodePolicy(),
            "message_decode_policy": TextBase64DecodePolicy(),
            **STORE_RETRY,
        }

        def client(queue_name: str) -> QueueClient:
            if connection.startswith(("https://", "http://")):
                nonlocal credential
                if credential is None:
                    from azure.identity import DefaultAzureCredential

                    credential = DefaultAzureCredential()
                return QueueClient(queue_endpoint(connection), queue_name, credential=credential, **codec)
            return QueueClient.from_connection_string(connection, queue_name, **codec)

        opened = cls(client(name), client(f"{name}-poison"))
        opened.ensure()
        return opened

    @property
    def name(self) -> str:
        return str(self._queue.queue_name)

    def ensure(self) -> None:
        for queue in (self._queue, self._poison):
            with contextlib.suppress(ResourceExistsError):
                queue.create_queue()

    def put(self, refs: Sequence[ChangeRef], *, waits: int = 0, delay_s: int = 0) -> None:
        for start in range(0, len(refs), MAX_REFS):
            message = ChangeMessage(refs=list(refs[start : start + MAX_REFS]), waits=waits)
            self._queue.send_message(message.model_dump_json(), visibility_timeout=delay_s or None)

    def receive(self, max_refs: int = MAX_REFS, visibility_s: int = VISIBILITY_S) -> list[Received]:
        """Messages until about `max_refs` references (a message counts as its size, read as one)."""
        taken: list[Received] = []
        refs = 0
        while refs < max_refs:
            batch = list(self._queue.receive_messages(max_messages=32, visibility_timeout=visibility_s))
            if not batch:
                break
            for message in batch:
                text = str(message.content)
                taken.append(Received(message.id, str(message.pop_receipt), int(message.dequeue_count or 0), text))
                refs += _size(text)
        return taken

    def delete(self, received: Iterable[Received]) -> None:
        for message in received:
            self._queue.delete_message(message.id, message.pop_receipt)

    def to_poison(self, message: Received) -> None:
        """What the host does with a message that failed `MAX_DEQUEUE` times."""
        self._poison.send_message(message.text)
        self._queue.delete_message(message.id, message.pop_receipt)

    def depth(self) -> tuple[int, int]:
        """(waiting, poison): approximate counts, as the service reports them."""
        return (
            int(self._queue.get_queue_properties().approximate_message_count or 0),
            int(self._poison.get_queue_properties().approximate_message_count or 0),
        )

    def clear(self) -> None:
        """Empty both queues (tests and the demo's reset)."""
        self._queue.clear_messages()
        self._poison.clear_messages()


def _size(text: str) -> int:
    try:
        return len(ChangeMessage.model_validate_json(text).refs)
    except ValidationError:
        return 1
