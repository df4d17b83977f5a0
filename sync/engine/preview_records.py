"""The preview's matching of records other than persons (companies, opportunities, sales persons,
custom objects): the copy upserts them keyed by the Dynamics id in their dedupe field, so a
record Marketo already holds under that id (an earlier sync, an import) is updated — "would link" —
and the rest are created. The ids are looked up 300 a call, with the mapped fields, to tell how
many linked records differ and in which fields (Dynamics wins: these objects go one way)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sync.connectors.marketo.batching import MAX_RECORDS
from sync.engine.pipelines import Pipeline
from sync.engine.preview_persons import fields_differing
from sync.engine.preview_report import ObjectPreview
from sync.engine.runtime import Engine
from sync.engine.targets import ObjectTarget


@dataclass
class RecordMatching:
    target: ObjectTarget
    decided: int = 0
    differing: Counter[str] = field(default_factory=Counter)

    @classmethod
    def start(cls, engine: Engine, pipeline: Pipeline) -> RecordMatching:
        assert isinstance(pipeline.target, ObjectTarget)
        return cls(pipeline.target)

    def page(self, engine: Engine, result: ObjectPreview, decided: list[tuple[str, dict[str, Any]]]) -> None:
        if not decided:
            return
        self.decided += len(decided)
        key = self.target.key_field
        fields = sorted({name for _, values in decided for name in values} | {key})
        held = {str(r.get(key)).lower(): r for r in self.target.api.query(key, [i for i, _ in decided], fields)}
        for record_id, values in decided:
            found = held.get(record_id.lower())
            if found is None:
                result.would_create += 1
                result.sample("would_create", record_id)
                continue
            result.would_link += 1
            result.sample("would_link", record_id)
            changed = fields_differing(values, found, {name: "dynamics" for name in values if name != key})
            if changed:
                result.differing += 1
                result.sample("differing", f"{record_id}: {', '.join(changed)}")
                self.differing.update(changed)

    def finish(self, engine: Engine, result: ObjectPreview) -> None:
        for name, count in self.differing.items():
            result.differing_fields[name] = result.differing_fields.get(name, 0) + count
            result.winners[name] = "dynamics"
        result.copy_marketo_calls += math.ceil(self.decided / MAX_RECORDS)  # an upsert per 300
