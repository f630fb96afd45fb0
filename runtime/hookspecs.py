"""Every hook a pallet can implement, in one place. Pallets are pluggy plugins of the project "cmu".

State-changing hooks run in the runtime's declared pallet order (the chain spec's pallet list), never in
pluggy's registration or discovery order: the runtime registers pallets in reverse declared order, refuses
`tryfirst`/`trylast` on pallet hooks and checks the resulting call order when it assembles.
Wrappers (`hookwrapper=True`/`wrapper=True`) are for tracing and metering plugins only, never for state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

PROJECT = "cmu"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class RuntimeHooks:
    """Hook specifications called by the runtime on every pallet that implements them."""

    @hookspec
    def build_genesis(self, genesis: Mapping[str, Any]) -> None:
        """Write this pallet's genesis state. `genesis` maps pallet names to their chain-spec section."""

    @hookspec
    def on_initialize(self, block_number: int) -> int | None:
        """At the start of each block, before any extrinsic; returns the weight it used (or None)."""

    @hookspec
    def on_finalize(self, block_number: int) -> None:
        """At the end of each block, after the last extrinsic, before the state root is computed."""

    @hookspec
    def on_account_reaped(self, who: bytes) -> None:
        """An account fell below the existential deposit and was removed."""

    @hookspec
    def model_kinds(self) -> Any:
        """Model kinds (models.base.ModelKind instances) this pallet adds to the registry's built-ins."""

    @hookspec(firstresult=True)
    def model_access(self, who: bytes | None, model: int, action: str) -> bool | None:
        """May `who` (None: an anonymous RPC caller) do `action` on `model`? The access pallet answers;
        None defers (without an access pallet the registry applies its own public rules)."""

    @hookspec(firstresult=True)
    def model_role_at_least(self, who: bytes, model: int, role: str) -> bool | None:
        """Does `who` hold `role` ("Reader", "Trainer", "Maintainer" or "Admin") or a higher one on
        `model` now (the model's owner holds every role)? The access pallet answers; None defers (a
        chain without one: the caller decides, Training lets the owner alone act as a Trainer)."""

    @hookspec
    def model_artifact_changing(self, model: int, artifact: bytes, who: bytes) -> None:
        """ModelRegistry.set_artifact passed its checks and `model` is about to use `artifact` (set by
        `who`), the registry's state not yet changed; Versioning makes it the model's next version. A
        DispatchError raised here refuses the call."""

    @hookspec
    def good_contribution_recorded(self, model: int, who: bytes) -> None:
        """Training counted one more good (refunded) contribution of `who` to `model`; Access counts it
        for revenue sharing. Called in the refund call, after Training's own checks and writes."""

    @hookspec
    def integrity_check(self) -> None:
        """After assembly: raise PalletError if this pallet's configuration cannot work."""


class TransactionPaymentHooks:
    """How fees are charged (FRAME's OnChargeTransaction); runtime/fees.py computes, one pallet charges."""

    @hookspec(firstresult=True)
    def withdraw_fee(self, who: bytes, account: Any, fee: int) -> Any:
        """`who`'s record (a runtime.frame_system.AccountInfo, as read when the extrinsic was checked)
        with `fee` taken from its free balance, written by the core; raise CannotPayFees, naming why,
        when it cannot be paid (too little, or the account would fall below what keeps it alive).
        Write nothing here. None: this pallet does not charge fees."""

    @hookspec(firstresult=True)
    def correct_and_deposit_fee(
        self, who: bytes, refund: int, author: bytes, author_share: int
    ) -> bool | None:
        """After the call: give `refund` (unused weight) back to `who` and `author_share` to the block
        author; True when done."""
