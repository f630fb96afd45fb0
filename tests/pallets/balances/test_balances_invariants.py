"""Total issuance == sum of free + held after any sequence of transfers, holds, releases, slashes,
held transfers and root balance changes, through the typed API, direct dispatch and signed extrinsics;
nothing goes negative and every refused operation changes nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from pallets.balances import Balances
from runtime.errors import DispatchError, InvalidExtrinsic
from runtime.testing import MockRuntime, build_runtime
from runtime.types import U64_MAX

ED = Balances.EXISTENTIAL_DEPOSIT
NAMES = ("alice", "bob", "charlie", "zed", "yan")  # zed and yan start with nothing
REASONS = ("stake", "deposit")

names = st.sampled_from(NAMES)
reasons = st.sampled_from(REASONS)
# An amount is either an absolute value near the interesting edges or a share (per mille) of whatever
# balance the operation draws from, so that both successes and refusals are common.
amounts = st.one_of(
    st.sampled_from([0, 1, ED - 1, ED, ED + 1, 10**18, U64_MAX]),
    st.integers(0, 1100).map(lambda p: ("share", p)),
)


def resolve(amount: int | tuple[str, int], base: int) -> int:
    if isinstance(amount, tuple):
        return base * amount[1] // 1000
    return amount


class BalancesMachine(RuleBasedStateMachine):
    rt: MockRuntime

    @initialize()
    def start(self) -> None:
        genesis = {"Balances": {"balances": [[str(MockRuntime.account(n)), 5 * 10**15] for n in NAMES[:3]]}}
        self.rt = build_runtime(genesis=genesis)
        self.api: Balances = self.rt.balances

    def account(self, name: str):
        return self.rt.account(name)

    def typed(self, label: str, action) -> None:
        """Run a typed-API operation outside any storage layer: a refusal must not have written."""
        root, events = self.rt.state_root(), len(self.rt.events())
        try:
            action()
        except DispatchError:
            assert self.rt.state_root() == root, f"{label} failed after writing"
            assert len(self.rt.events()) == events
            event(f"{label}: refused")
            return
        event(f"{label}: done")

    def dispatched(self, who: str, call: str, /, **kwargs) -> None:
        result = self.rt.call(who, call, **kwargs)
        event(f"{call}: {'done' if result.ok else 'refused'}")
        if not result.ok:
            assert result.root_before == result.root_after, f"{call} failed after writing"
            assert result.events == []

    # --- rules ------------------------------------------------------------------------------------

    @rule(sender=names, dest=names, amount=amounts, keep_alive=st.booleans())
    def transfer(self, sender, dest, amount, keep_alive) -> None:
        value = min(resolve(amount, self.rt.free_balance(sender)), U64_MAX)
        call = "Balances.transfer_keep_alive" if keep_alive else "Balances.transfer"
        self.dispatched(sender, call, dest=self.account(dest), value=value)

    @rule(sender=st.sampled_from(NAMES[:3]), dest=names, amount=amounts, keep_alive=st.booleans())
    def submit_transfer(self, sender, dest, amount, keep_alive) -> None:
        value = min(resolve(amount, self.rt.free_balance(sender)), U64_MAX)
        call = "Balances.transfer_keep_alive" if keep_alive else "Balances.transfer"
        before, root = self.api.total_issuance.get(), self.rt.state_root()
        try:
            result = self.rt.submit(sender, call, dest=self.account(dest), value=value)
        except InvalidExtrinsic:  # e.g. CannotPayFees: not included, nothing charged
            assert self.rt.state_root() == root
            return
        assert result.fee > 0
        event(f"submitted {call}: {'done' if result.ok else 'failed'}")
        if not result.ok:
            assert self.api.total_issuance.get() == before  # a failed call moves only the fee

    @rule(who=names, reason=reasons, amount=amounts)
    def hold(self, who, reason, amount) -> None:
        value = resolve(amount, self.rt.free_balance(who))
        self.typed("hold", lambda: self.api.hold(self.account(who), reason, value))

    @rule(who=names, reason=reasons, amount=amounts)
    def release(self, who, reason, amount) -> None:
        value = resolve(amount, self.api.held_balance(self.account(who), reason))
        self.typed("release", lambda: self.api.release(self.account(who), reason, value))

    @rule(who=names, reason=reasons, amount=amounts)
    def slash(self, who, reason, amount) -> None:
        value = resolve(amount, self.api.held_balance(self.account(who), reason))
        self.typed("slash", lambda: self.api.slash_held(self.account(who), reason, value))

    @rule(who=names, dest=names, reason=reasons, amount=amounts)
    def transfer_held(self, who, dest, reason, amount) -> None:
        value = resolve(amount, self.api.held_balance(self.account(who), reason))
        self.typed(
            "transfer_held",
            lambda: self.api.transfer_held(self.account(who), reason, self.account(dest), value),
        )

    @rule(who=names, amount=amounts)
    def force_set_balance(self, who, amount) -> None:
        value = min(resolve(amount, self.rt.free_balance(who) or ED * 10), U64_MAX)
        self.dispatched("root", "Balances.force_set_balance", who=self.account(who), new_free=value)

    @rule()
    def next_block(self) -> None:
        self.rt.next_block()

    # --- invariants -------------------------------------------------------------------------------

    @invariant()
    def issuance_is_the_sum_of_balances(self) -> None:
        self.rt.check_invariants()

    @invariant()
    def nothing_is_negative(self) -> None:
        assert 0 <= self.api.total_issuance.get() <= U64_MAX
        for _, info in self.rt.runtime.system.account.items():
            assert info.nonce >= 0 and info.free >= 0 and info.held >= 0
        for (_, _), amount in self.api.holds.items():
            assert amount > 0  # emptied holds are removed

    @invariant()
    def reaped_accounts_hold_nothing_below_the_existential_deposit(self) -> None:
        for name in ("zed", "yan"):  # never fee payers: only the pallet's own rules apply to them
            info = self.rt.account_info(name)
            assert info.held > 0 or info.free == 0 or info.free >= ED


BalancesMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_balances_invariants_hold = BalancesMachine.TestCase
