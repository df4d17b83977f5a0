"""Table Storage keys: reversible escaping of forbidden characters, and spreading into partitions.

Table Storage forbids `/ \\ # ?` and control characters (U+0000-U+001F, U+007F-U+009F) in
PartitionKey and RowKey, and caps each key at 1 KiB. Record ids come from two foreign systems
(Marketo lookup values can be anything), so every key we build goes through `escape_key`: each
forbidden character, and `%` itself, becomes `%XX`, which `unescape_key` reverses exactly.
"""

from __future__ import annotations

import hashlib
from typing import Final

MAX_KEY_BYTES: Final = 1024
_FORBIDDEN: Final = frozenset("/\\#?%") | {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}


class KeyTooLong(ValueError):
    """A key over Table Storage's 1 KiB limit: the caller's id is not a usable record id."""


def escape_key(raw: str) -> str:
    key = "".join(f"%{ord(ch):02X}" if ch in _FORBIDDEN else ch for ch in raw)
    size = len(key.encode("utf-16-le"))
    if size > MAX_KEY_BYTES:
        raise KeyTooLong(
            f"key {raw[:40]!r}... is {size} bytes once escaped; Table Storage keys are at most "
            f"{MAX_KEY_BYTES} bytes. Use a shorter record id or lookup value."
        )
    return key


def unescape_key(key: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(key):
        if key[i] == "%":
            out.append(chr(int(key[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(key[i])
            i += 1
    return "".join(out)


def bucket_of(record_id: str, buckets: int) -> int:
    """Stable bucket in [0, buckets): a hash, because Dataverse GUIDs and Marketo ids are sequential."""
    digest = hashlib.blake2b(record_id.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % buckets
