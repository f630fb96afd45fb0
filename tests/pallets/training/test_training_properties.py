"""Property: for random sequences of add_data, add_batch, refund, report and claims over simulated time,
the sum of free balances, held deposits and taken amounts is conserved (nothing created or lost), each
account's held training deposit equals what its open contributions can still pay, and no contribution
pays out more than its deposit, is refunded twice, or pays anything after it was settled."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from training_helpers import SCALE, held, register, training

from pallets.training import Training
from pallets.training.types import DataItem, Mechanism, Status
from runtime.pallet import Origin
from runtime.testing import MockRuntime, assert_ok
from runtime.testing.mock import build_runtime

ACCOUNTS = ("alice", "bob", "charlie", "dave", "eve")
EXAMPLES = [([2 * SCALE, SCALE, 0], 1), ([-2 * SCALE, -SCALE, 0], 0), ([SCALE, -SCALE, SCALE], 1),
            ([0, SCALE, -2 * SCALE], 0)]
GAPS_S = (0, 1, 29, 30, 31, 119, 120, 121, 600)

who = st.sampled_from(ACCOUNTS)
example = st.tuples(st.integers(0, len(EXAMPLES) - 1), st.booleans())  # (which, flip the label)
ops = st.one_of(
    st.tuples(st.just("add"), who, example),
    st.tuples(st.just("batch"), who, st.lists(example, min_size=1, max_size=3)),
    st.tuples(st.just("wait"), st.sampled_from(GAPS_S)),
    st.tuples(st.just("wait"), st.sampled_from(GAPS_S)),
    st.tuples(st.just("refund"), st.none(), st.integers(0, 30)),  # by the contributor
    st.tuples(st.just("refund"), who, st.integers(0, 30)),
    st.tuples(st.just("report"), who, st.integers(0, 30)),
    st.tuples(st.just("report"), who, st.integers(0, 30)),
)


def data(choice: tuple[int, bool]) -> tuple[list[int], int]:
    features, label = EXAMPLES[choice[0]]
    return features, 1 - label if choice[1] else label


class Ledger:
    """What the events say each contribution paid out, checked against the pallet's records."""

    def __init__(self, rt: MockRuntime, model: int) -> None:
        self.rt, self.model = rt, model
        self.data: dict[int, tuple[list[int], int]] = {}
        self.paid: dict[int, int] = defaultdict(int)
        self.refunds: dict[int, int] = defaultdict(int)
        self.settled_at: dict[int, int] = {}
        self.step = 0

    def dispatch(self, name: str, who: str, **args: Any) -> None:
        rt = self.rt.runtime
        mark = len(rt.events)
        rt.dispatch_nested(rt.make_call(f"Training.{name}", **args), Origin.signed(self.rt.account(who)))
        for _, event in rt.events[mark:]:
            self.observe(event)

    def observe(self, event: Any) -> None:
        if isinstance(event, Training.DataAdded):
            assert event.contribution not in self.data
            self.data[event.contribution] = (list(event.features), event.label)
        elif isinstance(event, Training.Refunded):
            self.pay(event.contribution, event.amount)
            self.refunds[event.contribution] += 1
        elif isinstance(event, Training.Taken):
            self.pay(event.contribution, event.amount)

    def pay(self, contribution: int, amount: int) -> None:
        assert contribution not in self.settled_at, "a settled contribution paid out again"
        self.paid[contribution] += amount
        record = training(self.rt).contribution(contribution)
        if record.status is not Status.OPEN:
            self.settled_at[contribution] = self.step

    def check(self, issuance: int, total: int) -> None:
        rt = self.rt
        assert rt.balances.total_issuance.get() == issuance  # nothing minted or burned
        accounts = sum(info.free + info.held for _, info in rt.runtime.system.account.items())
        assert accounts == total  # free + held (+ taken, now someone's free) is constant
        pallet = training(rt)
        open_by: dict[str, int] = defaultdict(int)
        for cid in self.data:
            record = pallet.contribution(cid)
            assert self.paid[cid] == record.initial_deposit - record.claimable <= record.initial_deposit
            assert self.refunds[cid] <= 1
            assert (record.status is Status.OPEN) == (cid not in self.settled_at)
            for name in ACCOUNTS:
                if record.contributor == rt.account(name):
                    open_by[name] += record.claimable
        for name in ACCOUNTS:
            assert held(rt, name) == open_by[name]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(ops, min_size=10, max_size=60),
       mechanism=st.sampled_from([Mechanism.STAKE, Mechanism.POINTS]))
def test_training_conserves_balances_and_never_pays_twice(steps, mechanism):
    rt = build_runtime("Versioning", "Access", "Training")
    model = register(rt)
    assert_ok(rt.call("alice", "Training.set_config", model=model, enabled=True, mechanism=mechanism,
                      refund_wait_s=30, owner_claim_wait_s=120, any_claim_wait_s=600, cost_weight=1_000_003,
                      batch_limit=3))
    ledger = Ledger(rt, model)
    issuance = rt.balances.total_issuance.get()
    total = sum(info.free + info.held for _, info in rt.runtime.system.account.items())
    for step, op in enumerate(steps):
        ledger.step = step
        apply(ledger, model, op)
        ledger.check(issuance, total)
    rt.check_invariants()


def apply(ledger: Ledger, model: int, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "wait":
        ledger.rt.next_block(advance_ms=max(1, op[1] * 1_000))  # a new block, at least 1 ms later
    elif kind == "add":
        features, label = data(op[2])
        ledger.dispatch("add_data", op[1], model=model, features=features, label=label)
    elif kind == "batch":
        items = [DataItem(*data(choice)) for choice in op[2]]
        ledger.dispatch("add_batch", op[1], model=model, items=items)
    elif ledger.data:
        cid = sorted(ledger.data)[op[2] % len(ledger.data)]
        features, label = ledger.data[cid]
        caller = op[1] or name_of(ledger.rt, training(ledger.rt).contribution(cid).contributor)
        ledger.dispatch(kind, caller, contribution=cid, features=features, label=label)


def name_of(rt: MockRuntime, account: Any) -> str:
    """The dev name of an account."""
    return next(name for name in ACCOUNTS if rt.account(name) == account)
