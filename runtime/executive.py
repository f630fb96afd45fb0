"""The executive: assembles a runtime from a chain spec and runs blocks through it.

Building:  new_block() -> BlockBuilder: initialize, timestamp inherent, push(extrinsic)..., finish(seal)
Importing: import_block(block) recomputes everything and refuses a mismatch with InvalidBlock
Both end in a PendingBlock; commit() writes its state changes, trie nodes, head and any caller extras
(the node's block records) in ONE backend write batch, so a crash leaves the old head or the new one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import msgpack
import pluggy

from pallets.balances import Balances
from pallets.system import System
from runtime import dispatch as dispatching
from runtime.block import ZERO_HASH, Block, Header, extrinsics_root
from runtime.crypto import Keypair, verify
from runtime.errors import (
    BadArguments,
    CodecError,
    ExhaustsResources,
    InvalidBlock,
    InvalidExtrinsic,
    PalletError,
)
from runtime.extrinsic import encode_inherent
from runtime.genesis import ChainSpec, resolve_pallets
from runtime.hookspecs import PROJECT, RuntimeHooks
from runtime.pallet import Call, Event, Origin, Pallet
from runtime.storage.backend import Backend
from runtime.storage.overlay import Overlay
from runtime.trie import StateTrie
from runtime.types import CALL_DECODER, AccountId

P = TypeVar("P", bound=Pallet)

META_HEAD = b"M:head"
META_GENESIS = b"M:genesis"
META_SPEC = b"M:spec"
TRIE_PREFIX = b"T"
PHASE_INITIALIZATION = -1
PHASE_FINALIZATION = -2
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


@dataclasses.dataclass
class PendingBlock:
    """An executed block not yet written: its header, block, results and the writes to make."""

    header: Header
    block: Block | None
    results: list[dispatching.ApplyResult]
    events: list[tuple[int, Event]]
    puts: list[tuple[bytes, bytes]]
    deletes: list[bytes]

    @property
    def hash(self) -> bytes:
        """The block hash."""
        return self.header.hash()


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
        self.block_number = 0
        self.timestamp = 0
        self.author = ZERO_ACCOUNT
        classes = resolve_pallets(spec.pallets, extra=extra_pallets, autoload=autoload)
        self.pallets: list[Pallet] = [cls(self) for cls in classes]
        self._by_class: dict[type[Pallet], Pallet] = {type(p): p for p in self.pallets}
        self._by_name = {p.name: p for p in self.pallets}
        self._by_index = {p.index: p for p in self.pallets}
        self.system: System = self.pallet(System)
        self.balances: Balances = self.pallet(Balances)
        self.hooks = self._register_hooks()
        self.trie, self.head, self.genesis_hash = self._open_or_build_genesis()

    # --- assembly --------------------------------------------------------------------------------

    def _register_hooks(self) -> Any:
        manager = pluggy.PluginManager(PROJECT)
        manager.add_hookspecs(RuntimeHooks)
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
        token = CALL_DECODER.set(self.decode_call)
        try:
            return dispatching.decode_call_wire(self, wire)
        finally:
            CALL_DECODER.reset(token)

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
        self._require_idle()
        xt = dispatching.decode_extrinsic(self, data)
        if xt.signer is None:
            raise InvalidExtrinsic("inherents are made by block authors, not submitted")
        return dispatching.check_signed(self, xt, self.head.number + 1, allow_future=True)

    def check_extrinsic(self, data: bytes) -> dispatching.Checked:
        """Check a signed extrinsic against the state of the block being executed."""
        xt = dispatching.decode_extrinsic(self, data)
        if xt.signer is None:
            raise InvalidExtrinsic("an inherent where a signed extrinsic was expected")
        return dispatching.check_signed(self, xt, self.block_number)

    def dispatch_nested(self, call: Call, origin: Origin) -> str:
        """Dispatch a call from inside another (sudo, batches): "" on success, else the error name."""
        error, _message, _weight = dispatching.dispatch(self, call, origin, call.weight())
        return error or ""

    # --- blocks ----------------------------------------------------------------------------------

    def new_block(self, timestamp: int, author: AccountId) -> BlockBuilder:
        """Start building the block after the head."""
        return BlockBuilder(self, timestamp, author)

    def import_block(self, block: Block) -> PendingBlock:
        """Execute a received block and verify every field; InvalidBlock leaves the state untouched."""
        self._require_idle()
        header = block.header
        self._check_seal(block)
        try:
            self._initialize(header.number, header.parent_hash, header.timestamp, header.author)
            results = self._apply_block_extrinsics(block)
            pending = self._finalize(block.extrinsics, results, block)
            _compare_headers(header, pending.header)
        except BaseException:
            self.discard()
            raise
        return pending

    def _check_seal(self, block: Block) -> None:
        header = block.header
        if header.parent_hash != self.head.hash():
            raise InvalidBlock(
                f"parent 0x{header.parent_hash.hex()} is not the head 0x{self.head.hash().hex()}"
            )
        if header.number != self.head.number + 1:
            raise InvalidBlock(f"number {header.number} does not follow the head {self.head.number}")
        self.system.check_author(header.author)
        if not verify(header.author, header.hash(), block.seal):
            raise InvalidBlock("the seal is not the author's signature of the header")

    def _apply_block_extrinsics(self, block: Block) -> list[dispatching.ApplyResult]:
        if not block.extrinsics:
            raise InvalidBlock("a block starts with the timestamp inherent")
        length = sum(len(data) for data in block.extrinsics)
        if length > self.fees.max_block_length:  # the limit BlockBuilder.push enforces
            raise InvalidBlock(f"extrinsics of {length} bytes exceed the block length limit")
        results = []
        for index, data in enumerate(block.extrinsics):
            self.phase = index
            try:
                results.append(self._apply_one(index, data, block.header.timestamp))
            except InvalidExtrinsic as exc:
                raise InvalidBlock(f"extrinsic {index}: {exc.code}: {exc}") from exc
        return results

    def _apply_one(self, index: int, data: bytes, timestamp: int) -> dispatching.ApplyResult:
        if index == 0:
            xt = dispatching.decode_extrinsic(self, data)
            expected = self.timestamp_inherent(timestamp)
            if data != expected:
                raise InvalidBlock("extrinsic 0 must be System.set_timestamp of the header's timestamp")
            result = dispatching.apply_inherent(self, xt)
            if result.error is not None:
                raise InvalidBlock(f"timestamp inherent failed: {result.error}: {result.message}")
            return result
        return dispatching.apply_signed(self, self.check_extrinsic(data), index)

    def timestamp_inherent(self, timestamp: int) -> bytes:
        """The encoded System.set_timestamp inherent."""
        spec = self.system.call_specs["set_timestamp"]
        return encode_inherent([spec.pallet_index, spec.index, [timestamp]])

    def _initialize(self, number: int, parent_hash: bytes, timestamp: int, author: AccountId) -> None:
        self.block_number = number
        self.timestamp = timestamp
        self.author = author
        self.events = []
        self.phase = PHASE_INITIALIZATION
        self.system.initialize_block(number, parent_hash, author)
        self.hooks.on_initialize(block_number=number)

    def _finalize(
        self, extrinsics: Sequence[bytes], results: list[dispatching.ApplyResult], block: Block | None
    ) -> PendingBlock:
        self.phase = PHASE_FINALIZATION
        self.hooks.on_finalize(block_number=self.block_number)
        self.system.finalize_block(self.encode_events(self.events), len(self.events))
        previous_root = self.trie.root
        state_root, nodes = self.trie.update(self.overlay.changes())
        self.trie.set_root(previous_root)  # the head moves only on commit
        header = Header(
            parent_hash=self.head.hash(),
            number=self.block_number,
            state_root=state_root,
            extrinsics_root=extrinsics_root(list(extrinsics)),
            timestamp=self.timestamp,
            author=self.author,
        )
        puts, deletes = self.overlay.backend_ops()
        return PendingBlock(header, block, results, list(self.events), puts + nodes, deletes)

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

    def _require_idle(self) -> None:
        if self.overlay.pending:
            raise RuntimeError("a block is being executed on this runtime; finish or discard it first")

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
        runtime._require_idle()
        self.runtime = runtime
        self.extrinsics: list[bytes] = []
        self.results: list[dispatching.ApplyResult] = []
        self.length = 0
        parent = runtime.head
        runtime._initialize(parent.number + 1, parent.hash(), timestamp, author)
        self._push_inherent(runtime.timestamp_inherent(timestamp))

    def _push_inherent(self, data: bytes) -> None:
        rt = self.runtime
        rt.phase = len(self.extrinsics)
        result = dispatching.apply_inherent(rt, dispatching.decode_extrinsic(rt, data))
        if result.error is not None:
            rt.discard()
            raise InvalidBlock(f"inherent failed: {result.error}: {result.message}")
        self._record(data, result)

    def push(self, data: bytes) -> dispatching.ApplyResult:
        """Apply one signed extrinsic; InvalidExtrinsic (or any bug) leaves the block as it was."""
        rt = self.runtime
        if self.length + len(data) > rt.fees.max_block_length:
            raise ExhaustsResources("the block is full (length)")
        checked = rt.check_extrinsic(data)
        overlay, mark = rt.overlay, len(rt.events)
        rt.phase = len(self.extrinsics)
        depth = overlay.depth
        overlay.begin()
        try:
            result = dispatching.apply_signed(rt, checked, rt.phase)
        except BaseException:  # a bug below: undo every layer it left open (the call's too), re-raise
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
        rt = self.runtime
        pending = rt._finalize(self.extrinsics, self.results, None)
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


def _compare_headers(claimed: Header, computed: Header) -> None:
    for field in dataclasses.fields(Header):
        if getattr(claimed, field.name) != getattr(computed, field.name):
            raise InvalidBlock(f"header field {field.name} does not match the re-execution")


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
