"""Random work on both sides (creates, edits, deletes, qualifications, Marketo deletions and
merges), interleaved with sync cycles, injected faults and crashes
(Hypothesis stateful testing, against both emulators and Azurite). After the last cycle:

- every live Dynamics lead and contact has exactly one Marketo person with its id, and no two
  persons carry the same Dynamics id (nothing duplicated);
- each field holds what the policy says: the last edit when one side edited it, the winner's
  edit when both did (contacts: Dynamics; leads: Marketo) — no change lost;
- one more cycle writes nothing on either side.

Knobs (`make soak` sets the first three): SYNC_STATEFUL_SOAK=1 (fresh randomness each run),
SYNC_STATEFUL_EXAMPLES, SYNC_STATEFUL_STEPS; SYNC_STATEFUL_REPRODUCE=<blob> runs the case a
failure printed as @reproduce_failure(..., b'<blob>') again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, reproduce_failure, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.objects import FULL_COPY_ORDER, SyncObject
from sync.store.runs import RunOutcome
from tests.emulator_support import control, fault
from tests.reliability.workload import WINNER, Record
from tests.sync_support import World

FIELDS = {"jobtitle": "title", "telephone1": "phone", "firstname": "firstName"}  # Dynamics → Marketo, both ways
VALUES = st.sampled_from(["Alpha", "Beta", "Gamma", "Delta", "Épsilon", "Zeta 🚀"])


class Crash(BaseException):
    pass


class SyncMachine(RuleBasedStateMachine):
    world_factory: Callable[[], World]

    def __init__(self) -> None:
        super().__init__()
        self.world = type(self).world_factory()
        self.records: list[Record] = []
        self.serial = 0

    @initialize()
    def first_copy(self) -> None:
        for _ in range(2):
            self._create("contact")
            self._create("lead")
        for obj in FULL_COPY_ORDER:
            full_copy(self.world.engine, obj)

    # Dynamics

    def _create(self, table: str) -> Record:
        self.serial += 1
        record = Record(table, "", {"jobtitle": None, "telephone1": None, "firstname": f"F{self.serial}"})
        record.id = self.world.create(
            table, {"firstname": f"F{self.serial}", "lastname": "Test", "emailaddress1": f"p{self.serial}@example.com"}
        )
        self.records.append(record)
        return record

    def _live(self, table: str | None = None) -> list[Record]:
        return [r for r in self.records if not r.deleted and not r.qualified and table in (None, r.table)]

    @rule(table=st.sampled_from(["contact", "lead"]))
    def create_in_dynamics(self, table: str) -> None:
        self._create(table)

    @precondition(lambda self: bool(self._live()))
    @rule(data=st.data(), column=st.sampled_from(sorted(FIELDS)), value=VALUES)
    def edit_in_dynamics(self, data: st.DataObject, column: str, value: str) -> None:
        record = data.draw(st.sampled_from(self._live()))
        current = record.edits.get(column, {}).get("dynamics", record.values.get(column))
        if value == current:
            return  # writing what a field holds changes nothing: not an edit
        self.world.update(record.table, record.id, {column: value})
        record.edits.setdefault(column, {})["dynamics"] = value
        record.person_deleted = False
        record.pushed.discard(column)

    @precondition(lambda self: bool(self._live()))
    @rule(data=st.data())
    def delete_in_dynamics(self, data: st.DataObject) -> None:
        record = data.draw(st.sampled_from(self._live()))
        self.world.delete(record.table, record.id)
        record.deleted = True

    @precondition(lambda self: bool([r for r in self._live("lead") if self._person(r)]))
    @rule(data=st.data())
    def qualify_a_lead(self, data: st.DataObject) -> None:
        lead = data.draw(st.sampled_from([r for r in self._live("lead") if self._person(r)]))
        created = self.world.user.qualify_lead(lead.id, account=False, contact=True)
        contact_id = next(c["contactid"] for c in created if c["@odata.type"].endswith("contact"))
        lead.qualified = True
        self.records.append(Record("contact", contact_id, qualified=True))

    # Marketo

    def _person(self, record: Record) -> dict[str, Any] | None:
        persons = [p for p in self.world.marketo_rows("lead") if p.get("dynamicsId") == record.id.lower()]
        return persons[0] if persons else None

    def _linked(self) -> list[Record]:
        return [r for r in self._live() if not r.person_deleted and self._person(r)]

    @precondition(lambda self: bool(self._linked()))
    @rule(data=st.data(), column=st.sampled_from(sorted(FIELDS)), value=VALUES)
    def edit_in_marketo(self, data: st.DataObject, column: str, value: str) -> None:
        record = data.draw(st.sampled_from(self._linked()))
        person = self._person(record)
        assert person is not None
        if value == person.get(FIELDS[column]):
            return  # Marketo records no change for the value a field holds
        self.world.engine.marketo.persons.upsert(
            [{"id": person["id"], FIELDS[column]: value}], action="updateOnly", lookup_field="id"
        )
        record.edits.setdefault(column, {})["marketo"] = value

    @precondition(lambda self: bool(self._linked()))
    @rule(data=st.data())
    def delete_in_marketo(self, data: st.DataObject) -> None:
        record = data.draw(st.sampled_from(self._linked()))
        person = self._person(record)
        assert person is not None
        self.world.engine.marketo.persons.delete([person["id"]])
        record.person_deleted = True
        record.edits = {c: {"dynamics": s["dynamics"]} for c, s in record.edits.items() if "dynamics" in s}

    @precondition(lambda self: len(self._linked()) >= 2)
    @rule(data=st.data())
    def merge_in_marketo(self, data: st.DataObject) -> None:
        """Two persons merged in Marketo: the survivor keeps its link; the loser's record loses its
        person (and its Marketo edits) until it changes in Dynamics, like a deletion."""
        survivor, loser = data.draw(
            st.lists(st.sampled_from(self._linked()), min_size=2, max_size=2, unique_by=lambda r: r.id)
        )
        kept, merged = self._person(survivor), self._person(loser)
        assert kept is not None and merged is not None
        self.world.engine.marketo.client.call(
            "POST", f"/rest/v1/leads/{kept['id']}/merge.json", params={"leadId": merged["id"]}
        )
        loser.person_deleted = True
        loser.edits = {c: {"dynamics": s["dynamics"]} for c, s in loser.edits.items() if "dynamics" in s}

    # the sync

    def _settle(self) -> None:
        """What the policy says each field holds once the edits since the last cycle are synced."""
        for record in self.records:
            for column, sides in record.edits.items():
                if len(sides) == 2:
                    record.values[column] = sides[WINNER[record.table]]
                else:
                    record.values[column] = next(iter(sides.values()))
                if "dynamics" in sides and record.person_deleted and column not in record.pushed:
                    record.person_deleted = False  # a change after the deletion: the record gets a new person
            record.edits = {}
            record.pushed = set()

    def _cycle(self) -> None:
        for obj in FULL_COPY_ORDER:
            outcome = run_once(self.world.engine, obj)
            assert outcome.outcome is RunOutcome.SUCCEEDED, f"{obj}: {outcome.message}"

    @rule()
    def cycle(self) -> None:
        self._cycle()
        self._settle()

    @rule(which=st.sampled_from(["marketo-606", "marketo-611", "dataverse-429", "dataverse-503"]))
    def cycle_through_a_fault(self, which: str) -> None:
        service, code = which.split("-")
        if service == "marketo":
            fault(self.world.marketo, path="/rest/v1/leads.json", error_code=code, times=1)
        else:
            fault(self.world.dataverse, path="/api/data/v9.2/contacts", status=int(code), retry_after=0, times=1)
        self._cycle()
        self._settle()
        control(self.world.marketo, "DELETE", "faults")
        control(self.world.dataverse, "DELETE", "faults")

    @rule(obj=st.sampled_from([SyncObject.CONTACT, SyncObject.LEAD, SyncObject.PERSON]))
    def crash_between_writes_and_the_checkpoint(self, obj: SyncObject) -> None:
        store = self.world.store
        save = store.checkpoints.save

        def dies(*args: Any, **kwargs: Any) -> Any:
            raise Crash

        store.checkpoints.save = dies  # type: ignore[method-assign]
        for record in self.records:  # the run's page reaches Marketo before the crash: its edits are there
            if obj.value == record.table and not record.deleted:
                record.pushed |= {column for column, sides in record.edits.items() if "dynamics" in sides}
        try:
            run_once(self.world.engine, obj)
        except Crash:
            pass
        finally:
            store.checkpoints.save = save  # type: ignore[method-assign]
        held = store.leases.current(obj)
        if held is not None:  # the dead process's lease: the next run waits out its expiry; here, at once
            store.leases.release(held)
        self.world.restart()

    @invariant()
    def no_two_persons_carry_one_dynamics_id(self) -> None:
        ids = [p["dynamicsId"] for p in self.world.marketo_rows("lead") if p.get("dynamicsId")]
        assert len(ids) == len(set(ids)), "a Dynamics record has two Marketo persons"

    def teardown(self) -> None:
        try:
            self._final_checks()
        finally:
            self.world.engine.close()
            self.world.store.tables.drop_all()
            self.world.dataverse.stop()
            self.world.marketo.stop()

    def _final_checks(self) -> None:
        self._cycle()
        self._settle()
        self._cycle()  # the echoes of the last writes are read back and dropped
        writes = (self.world.marketo_writes(), control(self.world.dataverse, "GET", "stats")["writes"])
        self._cycle()
        assert (self.world.marketo_writes(), control(self.world.dataverse, "GET", "stats")["writes"]) == writes
        persons = {p["dynamicsId"]: p for p in self.world.marketo_rows("lead") if p.get("dynamicsId")}
        rows = {r[f"{t}id"]: r for t in ("contact", "lead") for r in self.world.dynamics_rows(t)}
        for record in self.records:
            if record.deleted or record.person_deleted or (record.qualified and record.table == "lead"):
                continue
            person = persons.get(record.id.lower())
            assert person is not None, f"{record.table} {record.id} has no Marketo person"
            row = rows[record.id]
            for column, marketo_field in FIELDS.items():
                assert person.get(marketo_field) == row.get(column), f"{column} did not converge"
                if not record.qualified:
                    assert row.get(column) == record.values.get(column), f"{column}: a change was lost"


@pytest.mark.timeout(int(os.environ.get("SYNC_STATEFUL_TIMEOUT_S", "600")))
def test_random_work_on_both_sides_converges_without_loss_or_duplicates(
    start_dataverse: Callable[..., Any],
    start_marketo: Callable[..., Any],
    storage_connection: str,
    tmp_path: Path,
) -> None:
    from tests.sync_support import make_world

    counter = iter(range(10_000))

    def world() -> World:
        from emulators.launch import start_in_process

        n = next(counter)
        dataverse = start_in_process("dataverse", https=True, state_dir=tmp_path / f"dv{n}")
        marketo = start_in_process(
            "marketo", https=True, state_dir=tmp_path / f"mk{n}", time_scale=100
        )  # its 20-s window is 0.2 s, as the sync is told (sync_env): a long run meets it as a real one would
        return make_world(lambda **kw: dataverse, lambda **kw: marketo, storage_connection, f"st{n}x")

    SyncMachine.world_factory = staticmethod(world)
    soak = os.environ.get("SYNC_STATEFUL_SOAK") == "1"  # `make soak`: larger, and fresh randomness each time
    machine = settings(
        max_examples=int(os.environ.get("SYNC_STATEFUL_EXAMPLES", "5")),
        stateful_step_count=int(os.environ.get("SYNC_STATEFUL_STEPS", "10")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        derandomize=not soak,
        database=None,
        print_blob=True,  # a failure prints @reproduce_failure(...) to run it again
    )(SyncMachine)
    blob = os.environ.get("SYNC_STATEFUL_REPRODUCE")  # a failure's printed blob: run that case again
    if blob:
        machine = reproduce_failure(hypothesis.__version__, blob.encode())(machine)
    machine.TestCase().runTest()
