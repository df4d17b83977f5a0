"""Links a crashed lead or contact run left in the page journal, stored before the person
stream (or a webhook's merge of persons) reads on."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from sync.engine.runtime import Engine
from sync.objects import D2M, PERSON_TABLES

RECOVERY_LEASE: Final = timedelta(minutes=2)


def recover_person_pages(engine: Engine) -> None:
    """A lead or contact run that died between writing a page to Marketo and storing its links
    left them in the page journal. The person stream must see them before it reads on: a
    deletion, a merge or an edit of one of those persons would find no link and be passed by
    (the edit for good, once the token has moved past it). So they are stored first, as that
    object's next run would store them, under its lease; a run holding the lease stores them
    itself before anything else. Costs one journal read per person table when there is none."""
    copier = engine.copier()
    for obj in PERSON_TABLES:
        for pipeline in engine.pipelines[obj]:
            if engine.store.journal.pending(obj, pipeline.stream) is None:
                continue
            lease = engine.store.leases.acquire(obj, f"{engine.owner}:recovery", RECOVERY_LEASE)
            if lease is None:
                continue
            try:
                checkpoint = engine.store.checkpoints.get(obj, D2M)
                if checkpoint is not None:
                    copier.recover(checkpoint, pipeline, engine.store.errors.record_ids(obj, D2M))
            finally:
                engine.store.leases.release(lease)
