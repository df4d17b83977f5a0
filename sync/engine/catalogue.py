"""Which pipelines each object runs: one per stream of the registry (`sync/objects.py`), built by
the builder of its shape, plus one per custom table of the mapping file."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sync.connectors.dataverse.metadata import TableDefinition
from sync.connectors.marketo.connection import MarketoConnection
from sync.engine.person_maker import PersonMaker
from sync.engine.person_merge import PersonMerge
from sync.engine.person_target import PersonTarget
from sync.engine.pipelines import (
    Pipeline,
    campaign_decide,
    campaign_member_decide,
    campaign_member_references,
    custom_decide,
    custom_references,
    customer_decide,
    customer_references,
    keyed,
    mapped,
    originating_lead_references,
    person_extras,
    stakeholder_decide,
    stakeholder_references,
    taking_over,
    team_member_decide,
    with_columns,
)
from sync.engine.plan import Decision
from sync.engine.targets import CampaignMemberTarget, ObjectTarget, OpportunityRoleTarget
from sync.mapping.resolve import ResolvedMapping
from sync.objects import REGISTRY, ObjectSpec, Shape, Stream, SyncObject, custom_target
from sync.store.links import DynamicsRef, Link

Decide = Callable[[Mapping[str, Any], Mapping[DynamicsRef, Link]], Decision]
References = Callable[[Mapping[str, Any]], list[DynamicsRef]]


@dataclass
class _Parts:
    """What the builders share: one target per Marketo object, so that both person tables bind
    to one person target and both role streams write through one role target."""

    mapping: ResolvedMapping
    tables: Mapping[str, TableDefinition]
    marketo: MarketoConnection
    persons: PersonTarget
    objects: dict[str, ObjectTarget] = field(default_factory=dict)
    role_targets: dict[str, OpportunityRoleTarget] = field(default_factory=dict)

    def target(self, stream: Stream) -> ObjectTarget:
        if stream.target not in self.objects:
            assert stream.key is not None, f"the registry gives {stream.table} no key"
            api = self.marketo.lead_database(stream.target)
            self.objects[stream.target] = ObjectTarget(stream.target, api, stream.key)
        return self.objects[stream.target]

    def roles(self, stream: Stream) -> OpportunityRoleTarget:
        if stream.target not in self.role_targets:
            api = self.marketo.lead_database(stream.target)
            self.role_targets[stream.target] = OpportunityRoleTarget(stream.target, api)
        return self.role_targets[stream.target]


Builder = Callable[[ObjectSpec, Stream, "_Parts"], Pipeline | None]


def _record(spec: ObjectSpec, stream: Stream, parts: _Parts) -> Pipeline | None:
    table, mapping = parts.tables[stream.table], parts.mapping.tables[stream.table]
    assert stream.key is not None, f"the registry gives {stream.table} no key"
    decide = mapped(mapping, keyed(stream.key, table.primary_id, stream.computed))
    select = with_columns(mapping, *stream.columns)
    return Pipeline(spec.object, stream.stream, table, select, parts.target(stream), decide)


def _person(spec: ObjectSpec, stream: Stream, parts: _Parts) -> Pipeline | None:
    mapping = parts.mapping.tables[stream.table]
    table = parts.tables[stream.table]
    decide = mapped(mapping, person_extras(stream.table, table.primary_id, parts.mapping.person_fields))
    pipeline = Pipeline(
        spec.object,
        stream.stream,
        table,
        with_columns(mapping, *stream.columns),
        parts.persons,
        taking_over(decide, stream.takes_over) if stream.takes_over else decide,
        originating_lead_references(stream.takes_over) if stream.takes_over else (lambda row: []),
        keeps_synced=True,
        indexed=True,
    )
    parts.persons.bind(pipeline, mapping)
    return pipeline


def _own_object(
    setting: str,
    decide: Decide,
    references: References = lambda row: [],
    target_type: type[ObjectTarget] = ObjectTarget,
) -> Builder:
    """A stream into one of the sync's own custom objects (`mapping/own_objects.py`): none when
    Marketo lacks the object (or it is switched off) or the org lacks the table."""

    def build(spec: ObjectSpec, stream: Stream, parts: _Parts) -> Pipeline | None:
        custom_object = getattr(parts.mapping, setting)
        if custom_object is None or stream.table not in parts.tables:
            return None
        assert stream.key is not None
        target = target_type(stream.target, parts.marketo.custom_object(custom_object), stream.key)
        table = parts.tables[stream.table]
        return Pipeline(spec.object, stream.stream, table, stream.columns, target, decide, references)

    return build


def _roles(decide: Decide, references: References) -> Builder:
    """Opportunity roles, from an opportunity's connections or its customer contact."""

    def build(spec: ObjectSpec, stream: Stream, parts: _Parts) -> Pipeline | None:
        if stream.table not in parts.tables:
            return None  # connections are optional in an org
        table = parts.tables[stream.table]
        return Pipeline(
            spec.object,
            stream.stream,
            table,
            stream.columns,
            parts.roles(stream),
            decide,
            references,
            keeps_synced=True,
        )

    return build


BUILDERS: Final[dict[Shape, Builder]] = {
    Shape.RECORD: _record,
    Shape.PERSON: _person,
    Shape.TEAM_MEMBER: _own_object("team_member_object", team_member_decide),
    Shape.CAMPAIGN: _own_object("campaign_object", campaign_decide),
    Shape.CAMPAIGN_MEMBER: _own_object(
        "campaign_member_object", campaign_member_decide, campaign_member_references, CampaignMemberTarget
    ),
    Shape.STAKEHOLDER: _roles(stakeholder_decide, stakeholder_references),
    Shape.CUSTOMER: _roles(customer_decide, customer_references),
}


def build_pipelines(
    mapping: ResolvedMapping,
    tables: Mapping[str, TableDefinition],
    marketo: MarketoConnection,
    merger: PersonMerge,
) -> dict[SyncObject, list[Pipeline]]:
    maker = PersonMaker(marketo.persons, marketo.activities, mapping.person_fields, mapping.id_is_lookup)
    persons = PersonTarget(marketo.persons, mapping.person_fields, merger, maker, mapping.delete_persons)
    parts = _Parts(mapping, tables, marketo, persons)
    out: dict[SyncObject, list[Pipeline]] = {spec.object: [] for spec in REGISTRY}
    for spec in REGISTRY:
        for stream in spec.streams:
            pipeline = BUILDERS[stream.shape](spec, stream, parts)
            if pipeline is not None:
                out[spec.object].append(pipeline)
    for custom in mapping.custom:
        definition = tables[custom.mapping.table]
        target = custom_target(custom.object_name)
        out[SyncObject.CUSTOM].append(
            Pipeline(
                SyncObject.CUSTOM,
                custom.mapping.table,
                definition,
                with_columns(custom.mapping, *([f"_{custom.person_column}_value"] if custom.person_column else [])),
                ObjectTarget(target, marketo.custom_object(custom.object_name), custom.key_field),
                custom_decide(
                    custom.mapping, definition.primary_id, custom.key_field, custom.person_column, custom.person_field
                ),
                custom_references(custom.person_column),
            )
        )
    return out
