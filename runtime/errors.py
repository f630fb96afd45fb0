"""The runtime's error hierarchy: every refusal is a typed exception that names the problem.

Three families, as DESIGN.md asks: `InvalidExtrinsic` (the transaction can't be included at all),
`DispatchError` (the call ran and failed; its writes are rolled back, fee and nonce stay charged) and
`InvalidBlock` (an imported block does not check). `CodecError` covers malformed bytes everywhere.
"""

from __future__ import annotations

from typing import ClassVar


class RuntimeFailure(Exception):
    """Base of every error the runtime raises on purpose."""


class CodecError(RuntimeFailure, ValueError):
    """Bytes that are not a canonical encoding of the expected type."""


class InvalidExtrinsic(RuntimeFailure):
    """An extrinsic that must not be included in a block. `code` is a stable short name for RPC clients."""

    code: ClassVar[str] = "Invalid"


class BadFormat(InvalidExtrinsic):
    """The extrinsic bytes do not decode."""

    code = "BadFormat"


class ExtrinsicTooLong(InvalidExtrinsic):
    """The encoded extrinsic is longer than the runtime allows."""

    code = "ExhaustsResources"


class ExhaustsResources(InvalidExtrinsic):
    """The extrinsic's weight or length does not fit in a block."""

    code = "ExhaustsResources"


class BadSignature(InvalidExtrinsic):
    """The signature does not verify for the sender over the signing payload."""

    code = "BadProof"


class StaleNonce(InvalidExtrinsic):
    """The nonce was already used by this sender."""

    code = "Stale"


class FutureNonce(InvalidExtrinsic):
    """The nonce is ahead of the sender's next nonce (valid later, not now)."""

    code = "Future"


class ExpiredEra(InvalidExtrinsic):
    """The mortality era of the extrinsic has ended."""

    code = "AncientBirthBlock"


class NotYetValidEra(InvalidExtrinsic):
    """The era's birth block is ahead of the chain (the extrinsic is not valid yet)."""

    code = "BadMortality"


class WrongGenesis(InvalidExtrinsic):
    """The extrinsic was made for another chain (its genesis tag does not match)."""

    code = "WrongGenesis"


class CannotPayFees(InvalidExtrinsic):
    """The sender's free balance does not cover the fee."""

    code = "Payment"


class UnknownCall(InvalidExtrinsic):
    """The pallet or call index does not exist in this runtime."""

    code = "Call"


class BadArguments(InvalidExtrinsic):
    """The call's arguments do not have the declared types or count."""

    code = "BadArguments"


class BadOriginKind(InvalidExtrinsic):
    """An inherent call sent signed, or a signed-only call sent as an inherent."""

    code = "BadOrigin"


class InvalidBlock(RuntimeFailure):
    """An imported block does not check; the state is left as it was before the import."""


class DispatchError(RuntimeFailure):
    """A call failed. Pallets declare subclasses with a docstring; the runtime fills `pallet` and `index`."""

    pallet: ClassVar[str] = "System"
    index: ClassVar[int] = 0

    @classmethod
    def error_name(cls) -> str:
        """`Pallet.Error`, the name RPC clients and events use."""
        return f"{cls.pallet}.{cls.__name__}"

    @classmethod
    def describe(cls) -> str:
        """The first line of the error's docstring."""
        return (cls.__doc__ or cls.__name__).strip().splitlines()[0]


class BadOrigin(DispatchError):
    """The call needs another origin (signed, root or none)."""


class Overflow(DispatchError):
    """An arithmetic result left its type's bounds."""


class PalletError(RuntimeFailure):
    """A pallet definition or a chain spec that the runtime cannot assemble."""
