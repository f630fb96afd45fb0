"""A mock runtime: the real runtime on an in-memory backend, with a block always open, like FRAME's
`new_test_ext().execute_with(...)`. `call` dispatches directly (no fee, no nonce) as pallet unit tests do;
`submit` signs a real extrinsic and applies it through every check, fee and nonce."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from pallets.balances import Balances
from runtime import dispatch as dispatching
from runtime.crypto import Keypair, dev_keypair, parse_address
from runtime.errors import DispatchError
from runtime.executive import Runtime
from runtime.extrinsic import sign_extrinsic
from runtime.frame_system import AccountInfo
from runtime.genesis import ChainSpec, dev_spec
from runtime.pallet import NONE_ORIGIN, ROOT_ORIGIN, Event, Origin, Pallet
from runtime.storage.backend import Backend, MemoryBackend
from runtime.types import AccountId

#: The pallets every mock runtime has; tests name the others they need (the dev chain has more).
MOCK_BASE_PALLETS = ("System", "Balances", "Sudo", "ModelRegistry")
#: Blocks of the mock chain are 6 seconds apart unless a test says otherwise.
BLOCK_TIME_MS = 6_000
GENESIS_TIME_MS = 1_700_000_000_000


@dataclasses.dataclass
class CallResult:
    """The outcome of MockRuntime.call: the error raised (if any) and the state roots around it."""

    name: str
    error: DispatchError | None
    root_before: bytes
    root_after: bytes
    events: list[Event]

    @property
    def ok(self) -> bool:
        """The call returned without a DispatchError."""
        return self.error is None


def assert_ok(result: CallResult | dispatching.ApplyResult) -> None:
    """Fail the test unless the call succeeded."""
    if isinstance(result, dispatching.ApplyResult):
        if result.error is not None:
            raise AssertionError(f"extrinsic failed with {result.error}: {result.message}")
        return
    if result.error is not None:
        raise AssertionError(f"{result.name} failed with {result.error.error_name()}: {result.error}")


def assert_noop(result: CallResult, error: type[DispatchError]) -> None:
    """Fail the test unless the call raised `error` and left the state root unchanged."""
    if result.error is None:
        raise AssertionError(f"{result.name} succeeded; expected {error.__name__}")
    if not isinstance(result.error, error):
        raise AssertionError(f"{result.name} raised {result.error.error_name()}, expected {error.__name__}")
    if result.root_before != result.root_after:
        raise AssertionError(f"{result.name} raised {error.__name__} but changed the state root")


class MockRuntime:
    """A runtime with a block open; pallets under test are driven through `call` and `submit`."""

    def __init__(self, runtime: Runtime, *, block_time_ms: int = BLOCK_TIME_MS) -> None:
        self.runtime = runtime
        self.block_time_ms = block_time_ms
        self.author = dev_keypair("alice")
        self._builder = runtime.new_block(self._next_timestamp(), self.author.account)

    # --- identities ------------------------------------------------------------------------------

    @staticmethod
    def account(name: str) -> AccountId:
        """The AccountId of a dev name (alice, bob, ...) or of any name's derived key, or of 0x-hex."""
        if name.startswith("0x"):
            return parse_address(name)
        return dev_keypair(name).account

    @staticmethod
    def keypair(name: str) -> Keypair:
        """The key pair derived from a name."""
        return dev_keypair(name)

    def pallet(self, cls: type[Any]) -> Any:
        """The runtime's instance of a pallet class."""
        return self.runtime.pallet(cls)

    # --- driving ---------------------------------------------------------------------------------

    def call(self, who: str | AccountId | Origin | None, name: str, /, **kwargs: Any) -> CallResult:
        """Dispatch `Pallet.call` directly with an origin: a name/AccountId (signed), "root" or None."""
        rt = self.runtime
        call = rt.make_call(name, **kwargs)
        origin = self._origin(who)
        before = self.state_root()
        mark = len(rt.events)
        rt.overlay.begin()
        try:
            call.spec.function(rt.pallet_by_name(call.spec.pallet), origin, *call.args)
        except DispatchError as exc:
            rt.overlay.rollback()
            del rt.events[mark:]
            return CallResult(name, exc, before, self.state_root(), [])
        rt.overlay.commit()
        return CallResult(name, None, before, self.state_root(), [e for _, e in rt.events[mark:]])

    def sign(
        self, who: str | Keypair, name: str, /, *, nonce: int | None = None, tip: int = 0, **kwargs: Any
    ) -> bytes:
        """A signed extrinsic for `Pallet.call`, with the sender's next nonce unless given."""
        rt = self.runtime
        pair = who if isinstance(who, Keypair) else dev_keypair(who)
        call = rt.make_call(name, **kwargs)
        next_nonce = rt.system.next_nonce(pair.account) if nonce is None else nonce
        return sign_extrinsic(
            pair,
            call.to_wire(),
            nonce=next_nonce,
            genesis_hash=rt.genesis_hash,
            spec_version=rt.VERSION.spec_version,
            tip=tip,
        )

    def submit(self, who: str | Keypair, name: str, /, **kwargs: Any) -> dispatching.ApplyResult:
        """Sign and apply an extrinsic in the open block through every check (fee and nonce charged)."""
        return self._builder.push(self.sign(who, name, **kwargs))

    def push(self, extrinsic: bytes) -> dispatching.ApplyResult:
        """Apply already-encoded extrinsic bytes in the open block."""
        return self._builder.push(extrinsic)

    def run_to_block(self, number: int) -> None:
        """Finish blocks (running on_finalize and on_initialize hooks) until block `number` is open."""
        while self.block_number < number:
            self.next_block()

    def next_block(self, *, advance_ms: int | None = None) -> None:
        """Seal and commit the open block, then open the next one `advance_ms` later."""
        rt = self.runtime
        pending = self._builder.finish(self.author)
        rt.commit(pending)
        step = self.block_time_ms if advance_ms is None else advance_ms
        self._builder = rt.new_block(rt.head.timestamp + step, self.author.account)

    def _next_timestamp(self) -> int:
        head = self.runtime.head
        return (head.timestamp or GENESIS_TIME_MS) + self.block_time_ms

    def _origin(self, who: str | AccountId | Origin | None) -> Origin:
        if isinstance(who, Origin):
            return who
        if who is None:
            return NONE_ORIGIN
        if isinstance(who, str) and who == "root":
            return ROOT_ORIGIN
        account = who if isinstance(who, AccountId) else self.account(who)
        return Origin.signed(account)

    # --- observing -------------------------------------------------------------------------------

    @property
    def block_number(self) -> int:
        """The number of the open block."""
        return self.runtime.block_number

    @property
    def now(self) -> int:
        """The open block's timestamp (ms)."""
        return self.runtime.timestamp

    def events(self) -> list[Event]:
        """The open block's events so far, in order."""
        return [event for _, event in self.runtime.events]

    def last_event(self) -> Event | None:
        """The most recent event of the open block."""
        events = self.runtime.events
        return events[-1][1] if events else None

    def state_root(self) -> bytes:
        """The state root the open block would have now (head root plus pending writes)."""
        trie = self.runtime.trie
        previous = trie.root
        root, _nodes = trie.update(self.runtime.overlay.changes())
        trie.set_root(previous)
        return root

    @property
    def balances(self) -> Balances:
        """The chain's Balances pallet."""
        return self.runtime.pallet(Balances)

    def account_info(self, who: str | AccountId) -> AccountInfo:
        """An account's nonce and balances."""
        account = who if isinstance(who, AccountId) else self.account(who)
        return self.runtime.system.account_info(account)

    def free_balance(self, who: str | AccountId) -> int:
        """An account's free balance."""
        return self.account_info(who).free

    def check_invariants(self) -> None:
        """Total issuance equals the sum of free and held balances; held equals the sum of holds."""
        rt = self.runtime
        total = 0
        for who, info in rt.system.account.items():
            total += info.free + info.held
            holds = sum(amount for _, amount in rt.pallet(Balances).holds.iter_prefix(who))
            if holds != info.held:
                raise AssertionError(f"{who}: held {info.held} != sum of holds {holds}")
        issuance = rt.pallet(Balances).total_issuance.get()
        if total != issuance:
            raise AssertionError(f"total issuance {issuance} != sum of balances {total}")


def build_runtime(
    *pallets: str | type[Pallet],
    genesis: Mapping[str, Any] | None = None,
    spec: ChainSpec | None = None,
    backend: Backend | None = None,
    autoload: bool | None = None,
) -> MockRuntime:
    """A mock runtime with MOCK_BASE_PALLETS (the dev chain's funded accounts) plus `pallets` (names or
    classes) and extra genesis."""
    classes = [p for p in pallets if isinstance(p, type)]
    names = [p if isinstance(p, str) else p.name for p in pallets]
    base = spec or dataclasses.replace(dev_spec(), pallets=MOCK_BASE_PALLETS)
    genesis_sections = {**base.genesis, **(genesis or {})}
    full = dataclasses.replace(
        base, pallets=base.pallets + tuple(_new(names, base.pallets)), genesis=genesis_sections
    )
    runtime = Runtime(full, backend or MemoryBackend(), extra_pallets=classes, autoload=autoload)
    return MockRuntime(runtime)


def _new(names: Iterable[str], existing: tuple[str, ...]) -> list[str]:
    return [n for n in names if n not in existing]
