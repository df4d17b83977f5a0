"""The mapping file: bad files each get one clear message naming the problem and the fix, and a
mapping is checked against both real schemas (read from the emulators) before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.mapping.file import MappingError, MappingFile, load_mapping, parse_mapping
from sync.mapping.resolve import Schemas, resolve
from sync.mapping.types import FieldDirection, FieldType


def _problems(text: str, schemas: Schemas | None = None, syntax: str = "YAML") -> list[str]:
    def attempt() -> None:
        file = parse_mapping(text, "mapping.yaml", syntax)
        if schemas is not None:
            resolve(file, schemas, "mapping.yaml")

    with pytest.raises(MappingError) as raised:
        attempt()
    assert str(raised.value).startswith("The field mapping mapping.yaml has")
    return raised.value.problems


def test_the_defaults_alone_resolve_against_both_schemas(schemas: Schemas) -> None:
    mapping = resolve(MappingFile(), schemas)
    lead = mapping.table("lead")
    fields = {f.marketo: f for f in lead.fields}
    assert fields["email"].spec.type is FieldType.TEXT and fields["email"].direction is FieldDirection.BOTH
    assert fields["rating"].spec.options == {1: "Hot", 2: "Warm", 3: "Cold"}
    assert fields["externalSalesPersonId"].property_name == "_ownerid_value"
    assert lead.filter_column == "new_synctomkto"
    assert mapping.team_member_object == "dynamicsTeamMember_c"


def test_bad_yaml_names_the_line_and_column() -> None:
    assert _problems("objects:\n  lead: [unclosed\n") == [
        "line 3, column 1: not valid YAML (expected ',' or ']', but got '<stream end>')"
    ]


def test_bad_json_names_the_line_and_column() -> None:
    (problem,) = _problems('{"objects": {"lead": }}', syntax="JSON")
    assert problem == "line 1, column 22: not valid JSON (Expecting value)"


def test_an_unknown_key_lists_the_keys_allowed_there() -> None:
    (problem,) = _problems("objects:\n  lead:\n    fields:\n      - {dynamics: a, marketo: b, colour: red}\n")
    assert problem == (
        "objects.lead.fields[0].colour: unknown key; allowed here: dynamics, marketo, direction, winner, "
        "option_value, lookup_value, lookup_target"
    )


def test_a_bad_direction_lists_the_directions() -> None:
    (problem,) = _problems("objects:\n  lead:\n    fields:\n      - {dynamics: a, marketo: b, direction: sideways}\n")
    assert problem == (
        "objects.lead.fields[0].direction: 'sideways' is not allowed; use one of both, to_marketo or to_dynamics"
    )


def test_an_unknown_object_lists_the_objects() -> None:
    (problem,) = _problems("objects:\n  leads: {}\n")
    assert (
        "objects.leads" in problem and "use one of systemuser, team, account, lead, contact or opportunity" in problem
    )


def test_an_unknown_field_on_either_side_is_named_with_its_closest_matches(schemas: Schemas) -> None:
    problems = _problems(
        "objects:\n  lead:\n    fields:\n      - {dynamics: jobtitel, marketo: titel}\n",
        schemas,
    )
    assert problems == [
        "objects.lead: jobtitel → titel: Dynamics table 'lead' has no column 'jobtitel'; closest: jobtitle",
        "objects.lead: jobtitel → titel: Marketo person has no field 'titel'; closest: title, state",
    ]


def test_an_incompatible_type_names_both_types_and_what_would_fit(schemas: Schemas) -> None:
    (problem,) = _problems(
        "objects:\n  lead:\n    fields:\n      - {dynamics: donotphone, marketo: annualRevenue}\n", schemas
    )
    assert problem.startswith(
        "objects.lead: donotphone → annualRevenue: a Boolean column cannot go into a Marketo currency field"
    )
    assert "(compatible Marketo types: boolean, email, phone, string, text, url)" in problem


def test_a_one_way_object_refuses_a_direction_towards_dynamics(schemas: Schemas) -> None:
    (problem,) = _problems(
        "objects:\n  account:\n    fields:\n      - {dynamics: name, marketo: company, direction: both}\n", schemas
    )
    assert "direction both is not possible; objects.account syncs one way, Dynamics → Marketo" in problem


def test_a_read_only_target_is_never_written(schemas: Schemas) -> None:
    problems = _problems(
        "objects:\n  lead:\n    fields:\n"
        "      - {dynamics: createdon, marketo: createdAt, direction: to_marketo}\n"
        "      - {dynamics: fullname, marketo: company, direction: to_dynamics}\n",
        schemas,
    )
    assert any("createdAt: the Marketo field is read-only" in p for p in problems)
    assert any("fullname → company: the Dynamics column is read-only" in p for p in problems)


def test_every_problem_is_reported_at_once(schemas: Schemas) -> None:
    problems = _problems(
        "objects:\n  contact:\n    fields:\n"
        "      - {dynamics: nope1, marketo: email}\n"
        "      - {dynamics: nope2, marketo: email}\n"
        "custom_tables:\n  - {table: new_project, marketo_object: dynamicsProject_c, key: projectName}\n",
        schemas,
    )
    assert len(problems) == 2 + 1  # both unknown columns (email overridden twice) and the key
    assert problems[-1].startswith("custom_tables[0] (new_project): key 'projectName' is not a dedupe field")


def test_a_custom_table_maps_to_its_custom_object(schemas: Schemas) -> None:
    file = parse_mapping(
        "custom_tables:\n  - table: new_project\n    marketo_object: dynamicsProject_c\n    key: projectId\n"
        "    person: new_contactid\n    fields:\n      - {dynamics: new_name, marketo: projectName}\n"
        "      - {dynamics: new_budget, marketo: budget}\n",
        "mapping.yaml",
        "YAML",
    )
    (custom,) = resolve(file, schemas).custom
    assert (custom.object_name, custom.key_field, custom.person_column) == (
        "dynamicsProject_c",
        "projectId",
        "new_contactid",
    )
    assert [f.spec.type for f in custom.mapping.fields] == [FieldType.TEXT, FieldType.MONEY]


def test_a_file_of_an_unknown_type_is_refused_by_its_suffix(tmp_path: Path) -> None:
    path = tmp_path / "mapping.toml"
    path.write_text("")
    with pytest.raises(MappingError, match=r"unknown file type '\.toml'; name it \.json, \.yaml or \.yml"):
        load_mapping(path)


def test_a_json_mapping_file_loads_like_a_yaml_one(tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"objects": {"lead": {"winner": "newest", "exclude": ["rating"]}}}))
    file = load_mapping(path)
    entry = file.entry("lead")
    assert entry is not None and entry.exclude == ["rating"]
