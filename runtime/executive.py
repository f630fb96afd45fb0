"""The executive: assembles a runtime from a chain spec and holds its state between blocks.

Building:  new_block() -> BlockBuilder: begin_block, timestamp inherent, push(extrinsic)..., finish(seal)
Importing: import_block(block) -> stf.apply_block, which recomputes everything (InvalidBlock on a mismatch)
Both run the functions of runtime/stf.py and end in a PendingBlock; commit() writes its state changes,
trie nodes, head and any caller extras (the node's block records) in ONE backend write batch, so a crash
leaves the old head or the new one. Readers follow the chain with view(header).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import msgpack
import pluggy

from runtime import dispatch as dispatching
from runtime import fees, stf
from runtime.block import ZERO_HASH, Block, Header, extrinsics_root
from runtime.crypto import Keypair
from runtime.errors import BadArguments, CodecError, ExhaustsResources, InvalidExtrinsic, PalletError
from runtime.frame_system import SYSTEM_PALLET, FrameSystem, as_frame_system
from runtime.genesis import ChainSpec, resolve_pallets
from runtime.hookspecs import PROJECT, RuntimeHooks, TransactionPaymentHooks
from runtime.pallet import Call, Event, Origin, Pallet
from runtime.stf import PHASE_FINALIZATION as PHASE_FINALIZATION
from runtime.stf import PHASE_INITIALIZATION, BlockEnv
from runtime.stf import PendingBlock as PendingBlock
from runtime.storage.backend import Backend
from runtime.storage.overlay import Overlay
from runtime.trie import StateTrie
from runtime.types import AccountId

P = TypeVar("P", bound=Pallet)

META_HEAD = b"M:head"
META_GENESIS = b"M:genesis"
META_SPEC = b"M:spec"
TRIE_PREFIX = b"T"
ZERO_ACCOUNT = AccountId(bytes(32))


@dataclasses.dataclass(frozen=True)
class RuntimeVersion:
    """What state_getRuntimeVersion reports; spec_version is part of every signing payload."""

    spec_name: str = "cmu"
    impl_name: str = "cmu-python"
    spec_version: int = 1
    transaction_version: int = 1

    def to_json(self) -> dict[str, Any]:
        """Substrate's field names."""
        return {
            "specName": self.spec_name,
            "implName": self.impl_name,
            "specVersion": self.spec_version,
            "transactionVersion": self.transaction_version,
        }


class Runtime:
    """A chain's state-transition function bound to one backend."""

    VERSION = RuntimeVersion()

    def __init__(
        self,
        spec: ChainSpec,
        backend: Backend,
        *,
        extra_pallets: Iterable[type[Pallet]] = (),
        autoload: bool | None = None,
    ) -> None:
        self.spec = spec
        self.fees = spec.fees
        self.backend = backend
        self.overlay = Overlay(backend)
        self.events: list[tuple[int, Event]] = []
        self.last_events: list[tuple[int, Event]] = []
        self.phase = PHASE_INITIALIZATION
        self.env = BlockEnv(0, ZERO_HASH, 0, ZERO_ACCOUNT)
        classes = resolve_pallets(spec.pallets, extra=extra_pallets, autoload=autoload)
        self.pallets: list[Pallet] = [cls(self) for cls in classes]
        self._by_class: dict[type[Pallet], Pallet] = {type(p): p for p in self.pallets}
        self._by_name = {p.name: p for p in self.pallets}
        self._by_index = {p.index: p for p in self.pallets}
        self.system: FrameSystem = as_frame_system(self.pallet_by_name(SYSTEM_PALLET))
        self.hooks = self._register_hooks()
        self.fee_hooks = fees.FeeHooks(self.hooks)
        self.trie, self.head, self.genesis_hash = self._open_or_build_genesis()

    # --- assembly --------------------------------------------------------------------------------

    def _register_hooks(self) -> Any:
        manager = pluggy.PluginManager(PROJECT)
        manager.add_hookspecs(RuntimeHooks)
        manager.add_hookspecs(TransactionPaymentHooks)
        for pallet in self.pallets:
            extra_specs = getattr(type(pallet), "hookspecs", None)
            if extra_specs is not None:
                manager.add_hookspecs(extra_specs)
        for pallet in reversed(self.pallets):  # pluggy calls last-registered first
            manager.register(pallet, name=pallet.name)
        _check_hook_order(manager, [p.name for p in self.pallets])
        self.plugin_manager = manager
        manager.hook.integrity_check()
        return manager.hook

    def _open_or_build_genesis(self) -> tuple[StateTrie, Header, bytes]:
        raw_head = self.backend.get(META_HEAD)
        if raw_head is None:
            return self._build_genesis()
        if self.backend.get(META_SPEC) != self.spec.spec_hash():
            raise PalletError("this database holds another chain (its chain spec differs)")
        head = Header.decode(raw_head)
        genesis = self.backend.get(META_GENESIS) or b""
        return StateTrie(self.backend, TRIE_PREFIX, head.state_root), head, genesis

    def _build_genesis(self) -> tuple[StateTrie, Header, bytes]:
        self.system.chain_spec.set(self.spec.spec_hash())
        self.hooks.build_genesis(genesis=self.spec.genesis)
        trie = StateTrie(self.backend, TRIE_PREFIX)
        state_root, nodes = trie.update(self.overlay.changes())
        header = Header(
            ZERO_HASH, 0, state_root, extrinsics_root([]), self.system.timestamp.get(), ZERO_ACCOUNT
        )
        genesis_hash = header.hash()
        puts, deletes = self.overlay.backend_ops()
        meta = [
            (META_HEAD, header.encode()),
            (META_GENESIS, genesis_hash),
            (META_SPEC, self.spec.spec_hash()),
        ]
        self.backend.write(puts + nodes + meta, deletes)
        self.overlay.discard()
        return trie, header, genesis_hash

    # --- the block being executed ------------------------------------------------------------------

    @property
    def block_number(self) -> int:
        """The number of the block being executed (the head's between blocks)."""
        return self.env.number

    @property
    def timestamp(self) -> int:
        """The timestamp (ms) of the block being executed."""
        return self.env.timestamp

    @property
    def author(self) -> AccountId:
        """The author of the block being executed."""
        return self.env.author

    # --- lookups ---------------------------------------------------------------------------------

    def pallet(self, cls: type[P]) -> P:
        """The runtime's instance of a pallet class (PalletError if the chain does not include it)."""
        found = self._by_class.get(cls)
        if found is None:
            for candidate in self.pallets:
                if isinstance(candidate, cls):
                    return candidate
            raise PalletError(f"this runtime has no {cls.__name__} pallet")
        return found  # type: ignore[return-value]

    def pallet_by_name(self, name: str) -> Pallet:
        """A pallet instance by name (PalletError when absent)."""
        found = self._by_name.get(name)
        if found is None:
            raise PalletError(f"this runtime has no pallet called {name!r}")
        return found

    def pallet_by_index(self, index: Any) -> Pallet | None:
        """A pallet instance by index, or None."""
        return self._by_index.get(index) if type(index) is int else None

    def has_pallet(self, name: str) -> bool:
        """Whether the chain includes the pallet."""
        return name in self._by_name

    def decode_call(self, wire: Any) -> Call:
        """Decode [pallet, call, [args]] (BadFormat, UnknownCall or BadArguments otherwise)."""
        return dispatching.decode_call_wire(self, wire)

    def make_call(self, name: str, /, **kwargs: Any) -> Call:
        """A Call from `Pallet.call` and keyword arguments, validated like decoded ones."""
        pallet_name, _, call_name = name.partition(".")
        spec = self.pallet_by_name(pallet_name).call_specs.get(call_name)
        if spec is None:
            raise PalletError(f"{pallet_name} has no call {call_name!r}")
        unknown = set(kwargs) - set(spec.arg_names)
        missing = [n for n in spec.arg_names if n not in kwargs]
        if unknown or missing:
            raise PalletError(f"{name}: unknown arguments {sorted(unknown)}, missing {missing}")
        try:
            wire_args = [c.to_wire(kwargs[n]) for n, c in zip(spec.arg_names, spec.converters, strict=True)]
        except CodecError as exc:  # the same refusal a decoded extrinsic gets
            raise BadArguments(f"{name}: {exc}") from exc
        return self.decode_call([spec.pallet_index, spec.index, wire_args])

    def block_hash(self, number: int) -> bytes | None:
        """The hash of block `number` if still kept (the head's is always known)."""
        if number == self.head.number:
            return self.head.hash()
        if number == 0:
            return self.genesis_hash
        found: bytes | None = self.system.block_hash.get(number)
        return found

    # --- events ----------------------------------------------------------------------------------

    def deposit_event(self, event: Event) -> None:
        """Record an event in the current phase of the block."""
        if len(self.events) >= self.system.MAX_EVENTS:
            raise InvalidExtrinsic("too many events in one block")
        self.events.append((self.phase, event))

    def encode_events(self, events: Sequence[tuple[int, Event]]) -> bytes:
        """The canonical encoding of event records: [[phase, pallet index, event index, [fields]], ...]."""
        records = [
            [phase, self._by_name[type(e).pallet].index, type(e).index, _event_wire(e)]
            for phase, e in events
        ]
        data: bytes = msgpack.packb(records, use_bin_type=True)
        return data

    # --- transactions ----------------------------------------------------------------------------

    def validate_transaction(self, data: bytes) -> dispatching.Checked:
        """Check an extrinsic against the head state for the pool; future nonces are accepted."""
        self.require_idle()
        return stf.validate_transaction(self, data, self.head.number + 1)

    def dispatch_nested(self, call: Call, origin: Origin) -> str:
        """Dispatch a call from inside another (sudo, batches): "" on success, else the error name."""
        error, _message, _weight = stf.dispatch_call(self, call, origin, call.weight())
        return error or ""

    # --- blocks ----------------------------------------------------------------------------------

    def new_block(self, timestamp: int, author: AccountId) -> BlockBuilder:
        """Start building the block after the head."""
        return BlockBuilder(self, timestamp, author)

    def import_block(self, block: Block) -> PendingBlock:
        """Execute a received block and verify every field; InvalidBlock leaves the state untouched."""
        self.require_idle()
        return stf.apply_block(self, block)

    def timestamp_inherent(self, timestamp: int) -> bytes:
        """The encoded System.set_timestamp inherent."""
        return stf.timestamp_inherent(self, timestamp)

    def commit(self, pending: PendingBlock, extra_puts: Iterable[tuple[bytes, bytes]] = ()) -> None:
        """Write the block's state, trie nodes, head and the caller's records in one atomic batch."""
        puts = [*pending.puts, (META_HEAD, pending.header.encode()), *extra_puts]
        self.backend.write(puts, pending.deletes)
        self.trie.set_root(pending.header.state_root)
        self.head = pending.header
        self.last_events = pending.events
        self.overlay.discard()
        self.events = []

    def discard(self) -> None:
        """Drop an executed but uncommitted block (the state stays at the head)."""
        self.overlay.discard()
        self.trie.set_root(self.head.state_root)
        self.events = []

    def require_idle(self) -> None:
        """RuntimeError while a block is being executed on this runtime (finish or discard it first)."""
        if self.overlay.pending:
            raise RuntimeError("a block is being executed on this runtime; finish or discard it first")

    def view(self, header: Header) -> None:
        """Read the state as of `header` from now on: for readers (the pool's validator, RPC readers) that
        share the database with the runtime that commits, whose head moves under them."""
        self.require_idle()
        self.head = header
        self.trie.set_root(header.state_root)

    # --- reads -----------------------------------------------------------------------------------

    def read(self, key: bytes) -> bytes | None:
        """A raw state value at the head (or as pending in a block being executed)."""
        return self.overlay.get(key)

    def prove(self, keys: Sequence[bytes]) -> list[bytes]:
        """A read proof of raw state keys against the head's state root."""
        return self.trie.prove(list(keys), self.head.state_root, self.overlay.backend_value)

    def metadata(self) -> dict[str, Any]:
        """The runtime metadata: pallets, calls, storage, events, errors, constants."""
        from runtime.metadata import build_metadata

        return build_metadata(self)


class BlockBuilder:
    """Builds the next block: the timestamp inherent first, then pushed extrinsics, then the seal."""

    def __init__(self, runtime: Runtime, timestamp: int, author: AccountId) -> None:
        runtime.require_idle()
        self.runtime = runtime
        parent = runtime.head
        self.env = BlockEnv(parent.number + 1, parent.hash(), timestamp, author)
        self.extrinsics: list[bytes] = []
        self.results: list[dispatching.ApplyResult] = []
        self.length = 0
        inherent = stf.timestamp_inherent(runtime, timestamp)
        try:
            stf.begin_block(runtime, self.env)
            self._record(inherent, stf.apply_timestamp(runtime, self.env, inherent))
        except BaseException:
            runtime.discard()
            raise

    def push(self, data: bytes) -> dispatching.ApplyResult:
        """Apply one signed extrinsic; InvalidExtrinsic (or any bug) leaves the block as it was."""
        rt = self.runtime
        if self.length + len(data) > rt.fees.max_block_length:
            raise ExhaustsResources("the block is full (length)")
        overlay, mark = rt.overlay, len(rt.events)
        depth = overlay.depth
        overlay.begin()
        try:
            result = stf.apply_extrinsic(rt, self.env, len(self.extrinsics), data)
        except BaseException:  # refused, or a bug below: undo every layer left open (the call's too)
            while overlay.depth > depth:
                overlay.rollback()
            del rt.events[mark:]
            raise
        overlay.commit()
        self._record(data, result)
        return result

    def _record(self, data: bytes, result: dispatching.ApplyResult) -> None:
        self.extrinsics.append(data)
        self.results.append(result)
        self.length += len(data)

    def finish(self, sealer: Keypair | Callable[[bytes], bytes]) -> PendingBlock:
        """Finalize the block and seal it with the author's key (or a signing function)."""
        pending = stf.finish_block(self.runtime, self.env, self.extrinsics, self.results)
        header_hash = pending.header.hash()
        seal = sealer.sign(header_hash) if isinstance(sealer, Keypair) else sealer(header_hash)
        pending.block = Block(pending.header, tuple(self.extrinsics), seal)
        return pending

    def abandon(self) -> None:
        """Throw the block away."""
        self.runtime.discard()


def _event_wire(event: Event) -> Any:
    from runtime.types import converter

    event_type: Any = type(event)
    return converter(event_type).to_wire(event)


def _check_hook_order(manager: pluggy.PluginManager, declared: list[str]) -> None:
    position = {name: i for i, name in enumerate(declared)}
    for name in dir(manager.hook):
        if name.startswith("_"):
            continue
        caller = getattr(manager.hook, name)
        impls = [i for i in caller.get_hookimpls() if i.plugin_name in position]
        for impl in impls:
            if impl.tryfirst or impl.trylast:
                raise PalletError(
                    f"{impl.plugin_name}.{name}: pallet hooks run in declared order; drop tryfirst/trylast"
                )
        order = [i.plugin_name for i in reversed(impls) if not (i.hookwrapper or i.wrapper)]
        if order != sorted(order, key=position.__getitem__):
            raise PalletError(f"hook {name} would run in order {order}, not the declared pallet order")
