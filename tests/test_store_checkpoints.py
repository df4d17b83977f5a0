from __future__ import annotations

import pytest

from sync.objects import Direction, SyncObject
from sync.store import SyncStore
from sync.store.checkpoints import Checkpoint, CheckpointConflict, Phase


def _first(obj: SyncObject = SyncObject.CONTACT) -> Checkpoint:
    return Checkpoint(object=obj, direction=Direction.DYNAMICS_TO_MARKETO, phase=Phase.FULL_COPY)


def test_a_saved_checkpoint_reads_back_with_phase_cursor_and_counters(store: SyncStore) -> None:
    saved = store.checkpoints.save(_first().advanced(cursor="delta-link-1", counters={"done": 5, "total": 9}))
    read = store.checkpoints.get(SyncObject.CONTACT, Direction.DYNAMICS_TO_MARKETO)
    assert read is not None
    assert (read.phase, read.cursor, read.counters) == (
        Phase.FULL_COPY,
        "delta-link-1",
        {"done": 5, "total": 9},
    )
    assert read.etag == saved.etag
    assert read.updated_at is not None


def test_a_missing_checkpoint_reads_as_none(store: SyncStore) -> None:
    assert store.checkpoints.get(SyncObject.LEAD, Direction.MARKETO_TO_DYNAMICS) is None


def test_a_writer_holding_a_stale_checkpoint_cannot_move_it(store: SyncStore) -> None:
    store.checkpoints.save(_first())
    reader_a = store.checkpoints.get(SyncObject.CONTACT, Direction.DYNAMICS_TO_MARKETO)
    reader_b = store.checkpoints.get(SyncObject.CONTACT, Direction.DYNAMICS_TO_MARKETO)
    assert reader_a is not None and reader_b is not None
    store.checkpoints.save(reader_a.advanced(cursor="page-2"))
    with pytest.raises(CheckpointConflict):
        store.checkpoints.save(reader_b.advanced(cursor="page-1-again"))
    final = store.checkpoints.get(SyncObject.CONTACT, Direction.DYNAMICS_TO_MARKETO)
    assert final is not None and final.cursor == "page-2"


def test_two_first_saves_of_one_checkpoint_conflict(store: SyncStore) -> None:
    store.checkpoints.save(_first())
    with pytest.raises(CheckpointConflict):
        store.checkpoints.save(_first())


def test_successive_saves_with_fresh_etags_advance_the_checkpoint(store: SyncStore) -> None:
    current = store.checkpoints.save(_first())
    for page in range(3):
        current = store.checkpoints.save(current.advanced(cursor=f"page-{page}"))
    current = store.checkpoints.save(current.advanced(phase=Phase.INCREMENTAL, cursor="delta"))
    listed = store.checkpoints.list()
    assert [(c.object, c.phase, c.cursor) for c in listed] == [("contact", Phase.INCREMENTAL, "delta")]
