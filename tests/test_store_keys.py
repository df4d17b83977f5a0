from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.store.keys import KeyTooLong, bucket_of, escape_key, unescape_key

FORBIDDEN = set("/\\#?") | {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}


@given(st.text(max_size=200))
def test_any_id_round_trips_through_key_escaping(raw: str) -> None:
    assert unescape_key(escape_key(raw)) == raw


@given(st.text(max_size=200))
def test_escaped_keys_never_contain_characters_table_storage_forbids(raw: str) -> None:
    assert not FORBIDDEN & set(escape_key(raw))


def test_a_key_over_one_kib_is_refused_with_the_limit_named() -> None:
    with pytest.raises(KeyTooLong, match="at most 1024 bytes"):
        escape_key("x" * 600)


def test_buckets_are_stable_and_spread_sequential_ids() -> None:
    ids = [f"{n:08x}-0000-0000-0000-000000000000" for n in range(1600)]
    counts = [0] * 16
    for record_id in ids:
        counts[bucket_of(record_id, 16)] += 1
    assert bucket_of(ids[0], 16) == bucket_of(ids[0], 16)
    assert min(counts) > 60  # ~100 each: no bucket starved by sequential GUIDs
