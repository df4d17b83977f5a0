"""Bad input: fuzzed mapping files get a clear MappingError (never a traceback), fuzzed webhook
payloads a 4xx naming the problem (never a 500), and awkward values — over-long, right-to-left,
emoji, combining marks, plus signs and quotes in emails, GUIDs in any case — are synced intact
or reported in the errors table, never a crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import azure.functions as func
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.mapping.file import MappingError, parse_mapping
from sync.mapping.resolve import Schemas, resolve
from sync.objects import Direction, SyncObject
from sync.store.links import DynamicsRef
from sync.store.runs import RunOutcome
from tests.functions_app import WEBHOOK_SECRET, call_function, response_json
from tests.sync_support import World

# Mapping files: shaped like real ones, with every value and many keys drawn at random.

NAMES: Final = st.sampled_from(
    ["jobtitle", "title", "emailaddress1", "email", "telephone1", "phone", "nosuch", "", "Title ", "ownerid"]
)
VALUES: Final = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12), NAMES, st.lists(NAMES, max_size=3)
)
FIELD: Final = st.dictionaries(
    st.sampled_from(["dynamics", "marketo", "direction", "winner", "option_value", "lookup_value", "lookup_target"])
    | st.text(max_size=6),
    st.one_of(NAMES, st.sampled_from(["both", "to_marketo", "to_dynamics", "up", "newest", "label", "id"]), VALUES),
    max_size=5,
)
OBJECT: Final = st.dictionaries(
    st.sampled_from(["winner", "exclude", "fields"]) | st.text(max_size=6),
    st.one_of(st.lists(FIELD, max_size=3), VALUES, FIELD),
    max_size=3,
)
MAPPING: Final = st.one_of(
    st.dictionaries(
        st.sampled_from(
            ["version", "objects", "custom_tables", "person_fields", "sync_filter_column", "delete_persons"]
        )
        | st.text(max_size=8),
        st.one_of(
            st.dictionaries(
                st.sampled_from(["lead", "contact", "account", "opportunity", "team", "case"]), OBJECT, max_size=3
            ),
            st.lists(FIELD | OBJECT, max_size=2),
            VALUES,
        ),
        max_size=4,
    ),
    VALUES,
)


@given(raw=MAPPING, syntax=st.sampled_from(["YAML", "JSON"]))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_mapping_file_resolves_or_gets_a_mapping_error_naming_each_problem(
    schemas: Schemas, raw: Any, syntax: str
) -> None:
    text = json.dumps(raw) if syntax == "JSON" else yaml.safe_dump(raw, allow_unicode=True)
    error = _refusal(lambda: resolve(parse_mapping(text, "mapping.yaml", syntax), schemas, "mapping.yaml"))
    if error is not None:
        assert error.problems and all(isinstance(p, str) and p.strip() for p in error.problems)
        assert str(error).startswith("The field mapping mapping.yaml has")


def _refusal(attempt: Callable[[], object]) -> MappingError | None:
    """The MappingError `attempt` raises, or None when the file is fine; any other exception fails."""
    try:
        attempt()
    except MappingError as error:
        return error
    return None


@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
@settings(max_examples=200, deadline=None)
def test_any_text_as_a_mapping_file_gets_a_clear_answer(text: str) -> None:
    for syntax in ("YAML", "JSON"):
        error = _refusal(lambda syntax=syntax: parse_mapping(text, "mapping.yaml", syntax))  # type: ignore[misc]
        assert error is None or error.problems


# Webhook payloads.

PERSON_ID: Final = st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=8), st.floats(), st.none(), st.booleans())
SHAPED: Final = st.fixed_dictionaries(
    {},
    optional={
        "personId": PERSON_ID,
        "table": st.sampled_from(["lead", "contact", "account"]) | st.text(max_size=5),
        "salesPersonId": st.text(max_size=120) | st.integers(),
        "subject": st.text(max_size=260),
        "description": st.text(max_size=50) | st.integers(),
        "due": st.datetimes().map(lambda d: d.isoformat()) | st.text(max_size=30),
        "key": st.text(max_size=30),
        "extra": st.text(max_size=5),
    },
).map(json.dumps)
JSON_VALUE: Final = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
).map(json.dumps)
BODIES: Final = st.one_of(SHAPED, JSON_VALUE, st.text(max_size=100)).map(str.encode) | st.binary(max_size=100)
WEBHOOKS: Final = {
    "webhook_sync_person": "sync/person",
    "webhook_change_owner": "sync/owner",
    "webhook_create_task": "sync/task",
}


@pytest.mark.parametrize("name", sorted(WEBHOOKS))
def test_any_webhook_payload_gets_a_2xx_or_a_4xx_with_a_message_never_a_500(
    app: dict[str, func.Function], name: str
) -> None:
    @given(body=BODIES, secret=st.sampled_from([WEBHOOK_SECRET, "", "s" * 39, "t" * 40]))
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    def answers(body: bytes, secret: str) -> None:
        headers = {"X-Sync-Secret": secret} if secret else {}
        response = call_function(app[name], "POST", WEBHOOKS[name], headers=headers, body=body)
        assert response.status_code in (200, 400, 401, 422), (response.status_code, body, response.get_body())
        if secret != WEBHOOK_SECRET:
            assert response.status_code == 401
        if response.status_code >= 400:
            assert str(response_json(response)["error"]).strip()

    answers()


# Awkward values.

AWKWARD: Final = {
    "right-to-left": {"firstname": "שלום", "lastname": "محمد العربي", "emailaddress1": "rtl@example.com"},
    "bidi-marks": {"firstname": "\u200fAlef\u200e", "lastname": "Bet", "emailaddress1": "marks@example.com"},
    "emoji": {"firstname": "Zoë 🚀", "lastname": "👩‍💻 Dev", "emailaddress1": "emoji@example.com"},
    "combining": {"firstname": "Jose\u0301", "lastname": "Nguyễn", "emailaddress1": "combining@example.com"},
    "plus-and-apostrophe": {"lastname": "O'Brien", "emailaddress1": "o'brien+news@example.com"},
    "quoted-local-part": {"lastname": "Quoted", "emailaddress1": '"john doe"@example.com'},
    "longest-title": {"lastname": "Long", "emailaddress1": "long@example.com", "jobtitle": "🚀" * 50},
    "markup": {"lastname": "<script>alert(1)</script>", "emailaddress1": "markup@example.com"},
    "whitespace": {"firstname": " Tab\tand\nnewline ", "lastname": "  ", "emailaddress1": "ws@example.com"},
}
MARKETO_NAME: Final = {"firstname": "firstName", "lastname": "lastName", "emailaddress1": "email", "jobtitle": "title"}
D2M: Final = Direction.DYNAMICS_TO_MARKETO
M2D: Final = Direction.MARKETO_TO_DYNAMICS


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    return make_sync_world()


def test_awkward_values_are_synced_intact_or_reported_never_a_crash(world: World) -> None:
    ids = {case: world.create("contact", values) for case, values in AWKWARD.items()}
    for obj in (SyncObject.PERSON, SyncObject.CONTACT):
        full_copy(world.engine, obj)
    persons = {p["dynamicsId"]: p for p in world.marketo_rows("lead") if p.get("dynamicsId")}
    rows = {r["contactid"]: r for r in world.dynamics_rows("contact")}
    outcome: dict[str, str] = {}
    for case, record_id in ids.items():
        person = persons.get(record_id.lower())
        if person is None:
            error = world.store.errors.get(SyncObject.CONTACT, D2M, record_id.lower())
            assert error is not None and error.message.strip(), f"{case}: neither synced nor reported"
            outcome[case] = f"reported: {error.message}"
            continue
        for column, field in MARKETO_NAME.items():
            if rows[record_id].get(column):
                assert person.get(field) == rows[record_id][column], f"{case}: {field} changed on the way"
        outcome[case] = "synced"
    assert sum(1 for o in outcome.values() if o == "synced") >= len(AWKWARD) - 2, outcome
    upper = DynamicsRef(table="contact", id=ids["emoji"].upper())
    assert world.store.links.get_by_dynamics(upper) is not None  # a GUID is one record in any case


def test_a_marketo_value_too_long_for_dynamics_is_reported_and_the_rest_of_the_person_flows(world: World) -> None:
    contact = world.create("contact", {"lastname": "Short", "emailaddress1": "short@example.com"})
    for obj in (SyncObject.PERSON, SyncObject.CONTACT):
        full_copy(world.engine, obj)
    person = next(p for p in world.marketo_rows("lead") if p.get("dynamicsId") == contact.lower())
    other = world.create("contact", {"lastname": "Other", "emailaddress1": "other@example.com"})
    run_once(world.engine, SyncObject.CONTACT)
    other_person = next(p for p in world.marketo_rows("lead") if p.get("dynamicsId") == other.lower())
    world.engine.marketo.persons.upsert(
        [
            {"id": person["id"], "title": "T" * 200},
            {"id": other_person["id"], "title": "Fine"},
        ],  # 255 in Marketo, 100 in Dynamics
        action="updateOnly",
        lookup_field="id",
    )
    record = run_once(world.engine, SyncObject.PERSON)
    assert record.outcome is RunOutcome.SUCCEEDED, record.message
    rows = {r["contactid"]: r for r in world.dynamics_rows("contact")}
    assert rows[other]["jobtitle"] == "Fine"
    errors = [e for e in world.store.errors.list(SyncObject.CONTACT) if e.direction is M2D]
    assert len(errors) == 1 and errors[0].kind == "bad_record" and errors[0].message.strip()
