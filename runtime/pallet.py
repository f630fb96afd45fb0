"""The pallet model: one class holds a pallet's whole public surface, as a FRAME pallet's lib.rs does.

A pallet declares `name` and `index`, UPPER_CASE constants, storage items, `@call` methods (explicit
index, weight, required origin), events (nested frozen dataclasses subclassing Event, past tense) and
errors (nested DispatchError subclasses with a docstring). Event and error indices follow declaration
order. Hooks are pluggy hook implementations (`@hookimpl`) named in runtime.hookspecs.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from runtime.errors import BadOrigin, DispatchError, PalletError
from runtime.hookspecs import hookimpl
from runtime.storage.items import StorageItem
from runtime.types import AccountId, Converter, converter

if TYPE_CHECKING:
    from runtime.executive import Runtime

__all__ = ["Call", "CallSpec", "Event", "Origin", "Pallet", "PostInfo", "call", "ensure", "fail", "hookimpl"]

SIGNED, ROOT, NONE = "signed", "root", "none"


class Event:
    """Base of pallet events. Subclasses are frozen dataclasses named in the past tense."""

    pallet: ClassVar[str] = ""
    index: ClassVar[int] = -1

    @classmethod
    def event_name(cls) -> str:
        """`Pallet.Event`, as clients see it."""
        return f"{cls.pallet}.{cls.__name__}"


@dataclasses.dataclass(frozen=True, slots=True)
class Origin:
    """Who dispatches a call: a signed account, root (sudo) or none (inherents)."""

    kind: str
    who: AccountId | None = None

    @classmethod
    def signed(cls, who: AccountId) -> Origin:
        """The origin of an account's signed extrinsic."""
        return cls(SIGNED, who)

    def ensure_signed(self) -> AccountId:
        """The signer, or BadOrigin."""
        if self.kind != SIGNED or self.who is None:
            raise BadOrigin("this call must be signed by an account")
        return self.who

    def ensure_root(self) -> None:
        """Nothing, or BadOrigin unless the origin is root."""
        if self.kind != ROOT:
            raise BadOrigin("this call needs the root origin")

    def ensure_none(self) -> None:
        """Nothing, or BadOrigin unless this is an inherent."""
        if self.kind != NONE:
            raise BadOrigin("this call is an inherent and cannot be signed")


ROOT_ORIGIN = Origin(ROOT)
NONE_ORIGIN = Origin(NONE)


@dataclasses.dataclass(frozen=True, slots=True)
class PostInfo:
    """What a call may return: the weight it really used (unused weight is refunded)."""

    actual_weight: int | None = None


def ensure(condition: object, error: type[DispatchError], message: str | None = None) -> None:
    """Raise `error` unless `condition` holds: the verify step of verify-then-mutate."""
    if not condition:
        raise error(message or error.describe())


def fail(error: type[DispatchError], message: str | None = None) -> NoReturn:
    """Raise `error` with its documented description."""
    raise error(message or error.describe())


WeightFn = Callable[..., int]


def call(index: int, weight: int | WeightFn, origin: str = SIGNED) -> Callable[[Callable[..., Any]], Any]:
    """Declare a method as a dispatchable call with its call index, weight and required origin.

    `weight` is an int or a function of some of the call's arguments, by name; it must not depend on
    state (it is charged before the call runs). `origin` is "signed", "root" or "none" (inherent).
    """
    if origin not in (SIGNED, ROOT, NONE):
        raise PalletError(f"unknown origin {origin!r}: use 'signed', 'root' or 'none'")

    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        function.__cmu_call__ = (index, weight, origin)  # type: ignore[attr-defined]
        return function

    return mark


@dataclasses.dataclass(frozen=True)
class CallSpec:
    """A dispatchable call as the runtime and the metadata see it."""

    pallet: str
    pallet_index: int
    name: str
    index: int
    origin: str
    arg_names: tuple[str, ...]
    arg_types: tuple[Any, ...]
    converters: tuple[Converter, ...]
    function: Callable[..., Any]
    weight_fn: Callable[[tuple[Any, ...]], int]
    doc: str

    @property
    def full_name(self) -> str:
        """`Pallet.call`."""
        return f"{self.pallet}.{self.name}"

    def describe(self) -> dict[str, Any]:
        """This call's entry in the runtime metadata."""
        return {
            "name": self.name,
            "index": self.index,
            "origin": self.origin,
            "args": [
                {"name": n, "type": c.name, "schema": c.schema}
                for n, c in zip(self.arg_names, self.converters, strict=True)
            ],
            "doc": self.doc,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """A call with decoded arguments, ready to dispatch."""

    spec: CallSpec
    args: tuple[Any, ...]
    __cmu_runtime_call__: ClassVar[bool] = True

    def weight(self) -> int:
        """The weight this call declares for its arguments."""
        return self.spec.weight_fn(self.args)

    def to_wire(self) -> list[Any]:
        """[pallet index, call index, [arguments]] as codec primitives."""
        spec = self.spec
        return [
            spec.pallet_index,
            spec.index,
            [c.to_wire(a) for c, a in zip(spec.converters, self.args, strict=True)],
        ]

    def kwargs(self) -> dict[str, Any]:
        """The arguments by name."""
        return dict(zip(self.spec.arg_names, self.args, strict=True))


class Pallet:
    """Base class of every pallet. Subclasses set `name` and `index` and declare their surface."""

    name: ClassVar[str] = ""
    index: ClassVar[int] = -1
    storage_items: ClassVar[dict[str, StorageItem]] = {}
    call_specs: ClassVar[dict[str, CallSpec]] = {}
    calls_by_index: ClassVar[dict[int, CallSpec]] = {}
    event_types: ClassVar[tuple[type[Event], ...]] = ()
    error_types: ClassVar[tuple[type[DispatchError], ...]] = ()
    constants: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.name:
            return  # an abstract helper base, not a pallet
        if not 0 <= cls.index <= 255:
            raise PalletError(f"pallet {cls.name}: index must be 0..255, got {cls.index}")
        members = _members(cls)
        cls.storage_items = {k: v for k, v in members.items() if isinstance(v, StorageItem)}
        cls.event_types = _collect_events(cls, members)
        cls.error_types = _collect_errors(cls, members)
        cls.constants = {k: v for k, v in members.items() if _is_constant(k, v)}
        cls.call_specs = _collect_calls(cls, members)
        cls.calls_by_index = {spec.index: spec for spec in cls.call_specs.values()}

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        for attr, item in self.storage_items.items():
            setattr(self, attr, item.bind(self.name, runtime.overlay))

    def deposit_event(self, event: Event) -> None:
        """Record an event of the current block (emit it last, after every check and write)."""
        if type(event).pallet != self.name:
            raise PalletError(f"{self.name} cannot deposit {type(event).__qualname__}: not its event")
        self.runtime.deposit_event(event)

    def block_number(self) -> int:
        """The number of the block being executed."""
        return self.runtime.block_number

    def now(self) -> int:
        """The block's timestamp in milliseconds (the only clock the runtime has)."""
        return self.runtime.timestamp

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """This pallet's entry in the runtime metadata."""
        return {
            "name": cls.name,
            "index": cls.index,
            "doc": (cls.__doc__ or "").strip(),
            "calls": [spec.describe() for spec in sorted(cls.call_specs.values(), key=lambda s: s.index)],
            "storage": [item.describe(cls.name) for item in cls.storage_items.values()],
            "events": [_describe_event(e) for e in cls.event_types],
            "errors": [
                {"name": e.__name__, "index": e.index, "doc": (e.__doc__ or "").strip()}
                for e in cls.error_types
            ],
            "constants": [
                {"name": k, "value": _constant_value(v), "type": type(v).__name__}
                for k, v in cls.constants.items()
            ],
        }


def _members(cls: type) -> dict[str, Any]:
    """Class attributes in declaration order, inherited ones first (so subclassing a pallet works)."""
    members: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or klass is Pallet:
            continue
        members.update(vars(klass))
    return members


def _is_constant(name: str, value: Any) -> bool:
    return name.isupper() and not name.startswith("_") and isinstance(value, int | str | bytes | bool)


def _constant_value(value: Any) -> Any:
    return "0x" + value.hex() if isinstance(value, bytes) else value


def _collect_events(cls: type[Pallet], members: dict[str, Any]) -> tuple[type[Event], ...]:
    found = [v for v in members.values() if isinstance(v, type) and issubclass(v, Event) and v is not Event]
    for position, event in enumerate(found):
        if not dataclasses.is_dataclass(event):
            raise PalletError(f"{cls.name}.{event.__name__}: events must be frozen dataclasses")
        reserved = {f.name for f in dataclasses.fields(event)} & {"pallet", "index"}
        if reserved:
            raise PalletError(f"{cls.name}.{event.__name__}: field names {sorted(reserved)} are reserved")
        event.pallet = cls.name
        event.index = position
    return tuple(found)


def _collect_errors(cls: type[Pallet], members: dict[str, Any]) -> tuple[type[DispatchError], ...]:
    found = [
        v
        for v in members.values()
        if isinstance(v, type)
        and issubclass(v, DispatchError)
        and v.__qualname__.startswith(cls.__qualname__)
    ]
    for position, error in enumerate(found):
        if not (error.__doc__ or "").strip():
            raise PalletError(f"{cls.name}.{error.__name__}: every error needs a docstring")
        error.pallet = cls.name
        error.index = position
    return tuple(found)


def _collect_calls(cls: type[Pallet], members: dict[str, Any]) -> dict[str, CallSpec]:
    specs: dict[str, CallSpec] = {}
    seen: dict[int, str] = {}
    for attr, value in members.items():
        marker = getattr(value, "__cmu_call__", None)
        if marker is None:
            continue
        spec = _call_spec(cls, attr, value, *marker)
        if spec.index in seen:
            raise PalletError(f"{cls.name}: calls {seen[spec.index]} and {attr} share index {spec.index}")
        seen[spec.index] = attr
        specs[attr] = spec
    return specs


def _call_spec(
    cls: type[Pallet], attr: str, function: Callable[..., Any], index: int, weight: Any, origin: str
) -> CallSpec:
    hints = typing.get_type_hints(function, include_extras=True)
    params = list(inspect.signature(function).parameters.values())[2:]  # skip self, origin
    names = tuple(p.name for p in params)
    missing = [n for n in names if n not in hints]
    if missing:
        raise PalletError(f"{cls.name}.{attr}: arguments {missing} need type annotations")
    types_ = tuple(hints[n] for n in names)
    return CallSpec(
        pallet=cls.name,
        pallet_index=cls.index,
        name=attr,
        index=index,
        origin=origin,
        arg_names=names,
        arg_types=types_,
        converters=tuple(converter(t) for t in types_),
        function=function,
        weight_fn=_weight_function(cls.name, attr, weight, names),
        doc=(function.__doc__ or "").strip(),
    )


def _weight_function(pallet: str, attr: str, weight: Any, names: tuple[str, ...]) -> Callable[..., int]:
    if isinstance(weight, int):
        constant = weight
        return lambda args: constant
    wanted = list(inspect.signature(weight).parameters)
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise PalletError(f"{pallet}.{attr}: the weight function asks for unknown arguments {unknown}")
    positions = [names.index(n) for n in wanted]

    def weigh(args: tuple[Any, ...]) -> int:
        return int(weight(*[args[p] for p in positions]))

    return weigh


def _describe_event(event: type[Event]) -> dict[str, Any]:
    hints = typing.get_type_hints(event, include_extras=True)
    return {
        "name": event.__name__,
        "index": event.index,
        "doc": (event.__doc__ or "").strip()
        if event.__doc__ and not event.__doc__.startswith(event.__name__)
        else "",
        "fields": [
            {"name": f.name, "type": converter(hints[f.name]).name, "schema": converter(hints[f.name]).schema}
            for f in dataclasses.fields(event)  # type: ignore[arg-type]
        ],
    }
