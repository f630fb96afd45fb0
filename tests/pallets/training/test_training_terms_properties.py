"""Property: whatever the owner does with set_config (waits down to 0, other cost weights) and with explicit
versions (rollback), a contributor whose data the current model agrees with gets the full deposit back
after the wait of the configuration it was added under, nobody takes any of a deposit before that wait
(nor before the owner-claim or any-account wait of those terms, for the claims), and total issuance and
the sum of balances are conserved after every block."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from training_helpers import SCALE, register, training

from pallets.balances import Balances
from pallets.training import Training
from pallets.training.rows import ModelView
from pallets.training.types import Mechanism, Status, TakeReason
from runtime.pallet import Origin
from runtime.testing import MockRuntime, assert_ok
from runtime.testing.mock import build_runtime

ACCOUNTS = ("alice", "bob", "charlie", "dave")
EXAMPLES = [([2 * SCALE, SCALE, 0], 1), ([-2 * SCALE, -SCALE, 0], 0), ([SCALE, -SCALE, SCALE], 1)]
GAPS_S = (1, 5, 10, 30, 60, 120)
WAIT_S = st.sampled_from((0, 0, 1, 10, 30, 90))

who = st.sampled_from(ACCOUNTS)
example = st.tuples(st.integers(0, len(EXAMPLES) - 1), st.booleans())  # (which, flip the label)
ops = st.one_of(
    st.tuples(st.just("config"), st.lists(WAIT_S, min_size=3, max_size=3), st.integers(1, 2_000_000)),
    st.tuples(st.just("add"), who, example),
    st.tuples(st.just("wait"), st.sampled_from(GAPS_S)),
    st.tuples(st.just("refund"), st.integers(0, 20)),
    st.tuples(st.just("report"), who, st.integers(0, 20)),
    st.tuples(st.just("rollback"), st.integers(0, 5)),
)


class World:
    """The test's own account of each contribution: its data, block time and the waits the owner had
    configured when it was added (read from the test's calls, not from the pallet's records)."""

    def __init__(self, rt: MockRuntime, model: int, waits: tuple[int, int, int]) -> None:
        self.rt, self.model, self.waits = rt, model, waits
        self.added: dict[int, tuple[list[int], int, int, tuple[int, int, int]]] = {}
        self.taken: set[int] = set()

    def dispatch(self, name: str, who: str, **args: Any) -> str:
        """Dispatch a call as `who`; "" on success, else the error's name (state rolled back)."""
        rt = self.rt.runtime
        mark = len(rt.events)
        error = rt.dispatch_nested(rt.make_call(name, **args), Origin.signed(self.rt.account(who)))
        for _, event in rt.events[mark:]:
            self.observe(event)
        return error

    def observe(self, event: Any) -> None:
        if isinstance(event, Training.DataAdded):
            self.added[event.contribution] = (list(event.features), event.label, self.rt.now, self.waits)
        elif isinstance(event, Training.Taken):
            self.check_take(event)

    def check_take(self, event: Any) -> None:
        _, _, added_ms, (refund_s, owner_s, any_s) = self.added[event.contribution]
        elapsed_s = (self.rt.now - added_ms) // 1_000
        need = {TakeReason.REPORT: refund_s, TakeReason.OWNER_CLAIM: owner_s, TakeReason.ANY_CLAIM: any_s}
        assert elapsed_s >= need[event.reason], f"{event.reason} after {elapsed_s} s, terms {need}"
        self.taken.add(event.contribution)

    def agrees(self, features: list[int], label: int) -> bool:
        pallet = training(self.rt)
        info = pallet.registry.model(self.model)
        view = ModelView.of(info, pallet.registry.kind(info.kind))
        return view.predict(pallet.versioning.current_weights(self.model), view.row(features, label)) == label


def refund(world: World, index: int) -> None:
    """The author asks for a refund: the promise says when it must work, and when it must not."""
    if not world.added:
        return
    cid = sorted(world.added)[index % len(world.added)]
    features, label, added_ms, waits = world.added[cid]
    record = training(world.rt).contribution(cid)
    author = next(name for name in ACCOUNTS if world.rt.account(name) == record.contributor)
    promised = (record.status is Status.OPEN and cid not in world.taken
                and (world.rt.now - added_ms) // 1_000 >= waits[0] and world.agrees(features, label))
    free = world.rt.free_balance(author)
    error = world.dispatch("Training.refund", author, contribution=cid, features=features, label=label)
    if promised:
        assert error == "", f"a good contribution was refused its refund: {error}"
        assert world.rt.free_balance(author) == free + record.initial_deposit
    if record.status is Status.OPEN and (world.rt.now - added_ms) // 1_000 < waits[0]:
        assert error.endswith("TooEarly"), error


def apply(world: World, op: tuple[Any, ...]) -> None:
    kind, rt, model = op[0], world.rt, world.model
    if kind == "config":
        waits = tuple(sorted(op[1]))
        error = world.dispatch("Training.set_config", "alice", model=model, enabled=True,
                               mechanism=Mechanism.STAKE, refund_wait_s=waits[0], owner_claim_wait_s=waits[1],
                               any_claim_wait_s=waits[2], cost_weight=op[2], batch_limit=4)
        assert error == "", error
        world.waits = waits  # type: ignore[assignment]
    elif kind == "wait":
        rt.next_block(advance_ms=op[1] * 1_000)
    elif kind == "add":
        features, label = EXAMPLES[op[2][0]]
        world.dispatch("Training.add_data", op[1], model=model, features=features,
                       label=1 - label if op[2][1] else label)
    elif kind == "refund":
        refund(world, op[1])
    elif kind == "report" and world.added:
        cid = sorted(world.added)[op[2] % len(world.added)]
        features, label, _, _ = world.added[cid]
        world.dispatch("Training.report", op[1], contribution=cid, features=features, label=label)
    elif kind == "rollback":
        latest = training(rt).versioning.latest(model)
        version = min(op[1], latest)
        world.dispatch("Versioning.rollback", "alice", model=model, version=version, notes_hash=None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(ops, min_size=8, max_size=40))
def test_deposit_terms_are_kept_whatever_the_owner_does(steps):
    rt = build_runtime("Versioning", "Access", "Training")
    model = register(rt)
    assert_ok(rt.call("alice", "Training.set_config", model=model, enabled=True, mechanism=Mechanism.STAKE,
                      refund_wait_s=30, owner_claim_wait_s=60, any_claim_wait_s=90, cost_weight=1_000_003,
                      batch_limit=4))
    world = World(rt, model, (30, 60, 90))
    issuance = rt.pallet(Balances).total_issuance.get()
    for op in steps:
        apply(world, op)
        if op[0] == "wait":  # a block ended
            assert rt.pallet(Balances).total_issuance.get() == issuance
            rt.check_invariants()
    rt.next_block()
    assert rt.pallet(Balances).total_issuance.get() == issuance
    rt.check_invariants()
