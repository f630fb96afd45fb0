"""The Training pallet: stake-gated incremental training of registered models ("Deposit, Refund and
Take", Harris and Waggoner 2019). Its whole public surface is here; the logic is in add.py (contributions
and deposits), settle.py (refunds, reports and claims) and rules.py (the integer arithmetic).

A contribution holds a deposit (mechanism Stake) and updates the model at once through its kind's
fixed-point rule; Versioning turns each block's updates into one version. After the refund wait its
author gets the deposit back if the current model (latest version plus this block's updates) agrees
with it; a reporter with good contributions takes part of it if the model disagrees; after the
owner-claim wait the owner, after the any-account wait anyone, takes what remains.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from cmu.models.text import MAX_TEXT_BYTES
from pallets.balances import Balances
from pallets.model_registry import ModelRegistry
from pallets.training import add, settle
from pallets.training.types import (
    MAX_BATCH,
    Contribution,
    ContributionId,
    DataItem,
    Features,
    Mechanism,
    TakeReason,
    Terms,
    TermsId,
    TrainingConfig,
)
from pallets.versioning import Versioning
from runtime.errors import DispatchError, Overflow, PalletError
from runtime.pallet import Event, Origin, Pallet, call, ensure, fail, hookimpl
from runtime.storage.items import StorageDoubleMap, StorageMap, StorageValue
from runtime.types import H256, U32, U64, U64_MAX, AccountId, Balance, ByteLength, Moment, bounded_str

Items = Annotated[list[DataItem], ByteLength(most=MAX_BATCH)]
ADD_BASE_WEIGHT, ROW_ENTRY_WEIGHT = 120_000, 200
U32_MAX = (1 << 32) - 1
TEXT_BYTE_WEIGHT = 40
"""Weight per UTF-8 byte of a document (tokenizing and hashing it on chain)."""
Document = bounded_str(MAX_TEXT_BYTES)


def _add_weight(features: list[int]) -> int:
    return ADD_BASE_WEIGHT + ROW_ENTRY_WEIGHT * len(features)


def _text_weight(text: str) -> int:
    return ADD_BASE_WEIGHT + TEXT_BYTE_WEIGHT * len(text.encode("utf-8"))


def _settle_text_weight(text: str) -> int:
    return 150_000 + TEXT_BYTE_WEIGHT * len(text.encode("utf-8"))


def _batch_weight(items: list[DataItem]) -> int:
    return 20_000 + sum(_add_weight(item.features) for item in items)


class Training(Pallet):
    """Deposit, Refund and Take: staked contributions that train a model at once, refunds for good data,
    deposits of bad data taken by reporters with good data, by the owner or by anyone after set waits."""

    name, index = "Training", 13
    SECONDS_PER_HOUR = 3_600  # deposit = cost_weight * SECONDS_PER_HOUR // isqrt(seconds since last update)
    MAX_BATCH = MAX_BATCH
    MAX_COST_WEIGHT = U64_MAX // 3_600

    configs: StorageMap[int, TrainingConfig] = StorageMap(
        U32, TrainingConfig, doc="Each model's training configuration (absent: training is off)."
    )
    terms: StorageMap[int, Terms] = StorageMap(
        TermsId, Terms, doc="Settlement terms by id; written once, never changed (contributions name one)."
    )
    next_terms: StorageValue[int] = StorageValue(TermsId, default=0, doc="The id the next terms get.")
    model_terms: StorageMap[int, int] = StorageMap(
        U32, TermsId, doc="The terms id each model's new contributions are made under."
    )
    last_update: StorageMap[int, int] = StorageMap(
        U32, Moment, doc="Block time (ms) of the model's last contribution (or of its first configuration)."
    )
    next_contribution: StorageValue[int] = StorageValue(
        U64, default=0, doc="The id the next contribution gets."
    )
    contributions: StorageMap[int, Contribution] = StorageMap(
        U64, Contribution, doc="Contribution records by id (the data itself only as its hash)."
    )
    by_model: StorageDoubleMap[int, int, bool] = StorageDoubleMap(
        U32, U64, bool, doc="Contribution ids of each model."
    )
    by_contributor: StorageDoubleMap[AccountId, int, bool] = StorageDoubleMap(
        AccountId, U64, bool, doc="Contribution ids of each contributor."
    )
    good_counts: StorageDoubleMap[int, AccountId, int] = StorageDoubleMap(
        U32, AccountId, U32, doc="Good (refunded) contributions by model and contributor."
    )
    total_good: StorageMap[int, int] = StorageMap(U32, U64, default=0, doc="Good contributions per model.")
    reports: StorageDoubleMap[int, AccountId, bool] = StorageDoubleMap(
        U64, AccountId, bool, doc="Who has reported each contribution (a reporter reports one only once)."
    )

    # --- events ----------------------------------------------------------------------------------

    @dataclasses.dataclass(frozen=True)
    class ConfigSet(Event):
        """The owner set a model's training configuration."""

        model: U32
        config: TrainingConfig

    @dataclasses.dataclass(frozen=True)
    class DataAdded(Event):
        """A labelled example was added and the model updated; `features` is the raw data (only here and
        in the extrinsic), `data_hash` what the record keeps, `changed` whether the weights moved."""

        model: U32
        contribution: ContributionId
        contributor: AccountId
        deposit: Balance
        label: U32
        data_hash: H256
        features: Features
        version: U32
        changed: bool

    @dataclasses.dataclass(frozen=True)
    class Refunded(Event):
        """The current model agrees with a contribution: its author got back what remained of the deposit
        and the contribution counts as good (`good`: the author's good count on this model now)."""

        model: U32
        contribution: ContributionId
        contributor: AccountId
        amount: Balance
        good: U32

    @dataclasses.dataclass(frozen=True)
    class Taken(Event):
        """Part or all of a contribution's deposit was taken (by a report, or a claim after a wait)."""

        model: U32
        contribution: ContributionId
        taker: AccountId
        amount: Balance
        remaining: Balance
        reason: TakeReason

    @dataclasses.dataclass(frozen=True)
    class TextAdded(Event):  # last: an event's index is its position, and stored events keep theirs
        """The contribution just added (its DataAdded has empty features) is this document of a text model."""

        model: U32
        contribution: ContributionId
        text: Document  # type: ignore[valid-type]

    # --- errors ----------------------------------------------------------------------------------

    class NotOwner(DispatchError):
        """Only the model's owner may configure its training."""

    class BadWaits(DispatchError):
        """The waits must satisfy refund_wait_s <= owner_claim_wait_s <= any_claim_wait_s."""

    class CostTooHigh(DispatchError):
        """cost_weight * 3600 must fit in a u64 balance (cost_weight <= MAX_COST_WEIGHT)."""

    class BadBatchLimit(DispatchError):
        """batch_limit must be between 1 and MAX_BATCH."""

    class NotTrainable(DispatchError):
        """The model's kind has no training rule."""

    class TrainingDisabled(DispatchError):
        """The model's owner has not enabled training."""

    class ConfidentialModel(DispatchError):
        """The model is Permissioned: its weights are confidential (encrypted), so the chain cannot train
        them; open contributions still settle."""

    class NotAllowed(DispatchError):
        """The access policy does not let the caller train this model."""

    class NotTrainer(DispatchError):
        """Mechanism Trainers: only accounts with the Trainer role (or above) on the model contribute."""

    class BadData(DispatchError):
        """The features or the label do not fit the model's input spec and labels."""

    class EmptyBatch(DispatchError):
        """add_batch needs at least one item."""

    class BatchTooLarge(DispatchError):
        """The batch has more items than the model's batch_limit."""

    class CannotPayDeposit(DispatchError):
        """The caller's free balance does not cover the deposit(s)."""

    class UnknownContribution(DispatchError):
        """No contribution has this id."""

    class DataMismatch(DispatchError):
        """The features and label given do not hash to the contribution's data_hash."""

    class NotContributor(DispatchError):
        """Only the contribution's author may ask for its refund."""

    class AlreadySettled(DispatchError):
        """The contribution was refunded already, or its whole deposit was taken."""

    class TooEarly(DispatchError):
        """The wait this needs has not passed since the contribution was added."""

    class ModelDisagrees(DispatchError):
        """The current model does not predict the contributed label: no refund."""

    class ModelAgrees(DispatchError):
        """The current model predicts the contributed label: nothing to report."""

    class OwnDeposit(DispatchError):
        """A reporter cannot take the deposit of their own contribution."""

    class NoGoodContributions(DispatchError):
        """A reporter needs at least one good (refunded) contribution to this model."""

    class AlreadyReported(DispatchError):
        """This account has reported this contribution already."""

    class NothingToTake(DispatchError):
        """The contribution holds no deposit (mechanism Points or Trainers, or a zero deposit)."""

    # --- typed API for other pallets, queries and the RPC ------------------------------------------

    @property
    def registry(self) -> ModelRegistry:
        """The ModelRegistry pallet (models, kinds, owners)."""
        return self.runtime.pallet(ModelRegistry)

    @property
    def versioning(self) -> Versioning:
        """The Versioning pallet (the current model and the block's automatic version)."""
        return self.runtime.pallet(Versioning)

    @property
    def balances(self) -> Balances:
        """The Balances pallet (deposits are holds under DEPOSIT_REASON)."""
        return self.runtime.pallet(Balances)

    def config(self, model: int) -> TrainingConfig:
        """A model's configuration, or TrainingDisabled when it has none (UnknownModel for no model)."""
        raw = self.runtime.overlay.get(self.configs.key(model))
        if raw is None:
            self.registry.model(model)
            fail(self.TrainingDisabled, f"model {model} has no training configuration")
        cache: dict[bytes, TrainingConfig] = self.__dict__.setdefault("_decoded_configs", {})
        found = cache.get(raw)
        if found is None:  # decoded once per stored value (a pure function of the bytes)
            found = self.configs[model]
            if len(cache) >= 256:
                cache.clear()
            cache[raw] = found
        return found

    def contribution(self, contribution: int) -> Contribution:
        """A contribution record, or UnknownContribution."""
        found = self.contributions.get(contribution)
        if found is None:
            fail(self.UnknownContribution, f"no contribution {contribution}")
        return found

    def terms_of(self, record: Contribution) -> Terms:
        """The terms a contribution was made under (stored when its model's configuration was set)."""
        return self.terms[record.terms]

    def deposit_at(self, model: int, now_ms: int) -> int:
        """The deposit one contribution to `model` would hold at block time `now_ms` (0 unless Stake)."""
        return add.deposit_at(self, model, self.config(model), now_ms)

    def good_count(self, model: int, who: AccountId) -> int:
        """`who`'s good (refunded) contributions to `model`."""
        return self.good_counts.get(model, who, 0) or 0

    # --- calls -----------------------------------------------------------------------------------

    @call(index=0, weight=60_000)
    def set_config(
        self,
        origin: Origin,
        model: U32,
        enabled: bool,
        mechanism: Mechanism,
        refund_wait_s: U64,
        owner_claim_wait_s: U64,
        any_claim_wait_s: U64,
        cost_weight: Balance,
        batch_limit: U32,
    ) -> None:
        """The owner sets how a model is trained: on or off, the mechanism, the three waits (seconds,
        refund <= owner claim <= any-account claim), the deposit's cost weight and the batch limit."""
        who = origin.ensure_signed()
        info = self.registry.live_model(model)
        ensure(info.owner == who, self.NotOwner)
        ensure(refund_wait_s <= owner_claim_wait_s <= any_claim_wait_s, self.BadWaits)
        ensure(cost_weight <= self.MAX_COST_WEIGHT, self.CostTooHigh)
        ensure(1 <= batch_limit <= self.MAX_BATCH, self.BadBatchLimit)
        ensure(self.registry.kind(info.kind).trainable, self.NotTrainable)
        add.ensure_plaintext(self, who, model)
        config = TrainingConfig(
            enabled, mechanism, refund_wait_s, owner_claim_wait_s, any_claim_wait_s, cost_weight, batch_limit
        )
        self.configs[model] = config
        self._set_terms(model, Terms.of(config))
        if model not in self.last_update:
            self.last_update[model] = self.now()
        self.deposit_event(self.ConfigSet(model=model, config=config))

    def _set_terms(self, model: int, terms: Terms) -> None:
        """New terms for the model's later contributions, unless they equal its current ones (the terms
        of contributions made already never change)."""
        current = self.model_terms.get(model)
        if current is not None and self.terms[current] == terms:
            return
        terms_id = self.next_terms.get()
        ensure(terms_id < U32_MAX, Overflow)
        self.terms[terms_id] = terms
        self.next_terms.set(terms_id + 1)
        self.model_terms[model] = terms_id

    @call(index=1, weight=_add_weight)
    def add_data(self, origin: Origin, model: U32, features: Features, label: U32) -> None:
        """Add one labelled example: hold the deposit, record it (its hash), update the model at once.
        Features: dense models, n_features Q.16 ints; sparse models, strictly increasing feature indices."""
        who = origin.ensure_signed()
        add.add_items(self, who, model, [DataItem(features, label)], batch=False)

    @call(index=2, weight=_batch_weight)
    def add_batch(self, origin: Origin, model: U32, items: Items) -> None:
        """add_data for each item in order (at most the model's batch_limit); all or nothing."""
        who = origin.ensure_signed()
        add.add_items(self, who, model, list(items), batch=True)

    @call(index=3, weight=lambda features: 150_000 + ROW_ENTRY_WEIGHT * len(features))
    def refund(self, origin: Origin, contribution: U64, features: Features, label: U32) -> None:
        """After the refund wait, the author gets back what remains of the deposit if the current model
        predicts the contributed label; the contribution counts as good (once)."""
        who = origin.ensure_signed()
        settle.refund(self, who, contribution, features, label)

    @call(index=4, weight=lambda features: 150_000 + ROW_ENTRY_WEIGHT * len(features))
    def report(self, origin: Origin, contribution: U64, features: Features, label: U32) -> None:
        """Take a contribution's deposit: after the owner-claim wait the owner, after the any-account wait
        anyone, takes all that remains; otherwise, after the refund wait and if the current model disagrees,
        a reporter (not the author, with good contributions, first report of it) takes
        initial_deposit * reporter_good // total_good (0 or more than remains: all that remains)."""
        who = origin.ensure_signed()
        settle.report(self, who, contribution, features, label)

    @call(index=10, weight=_text_weight)
    def add_text(
        self, origin: Origin, model: U32, text: Document, label: U32  # type: ignore[valid-type]
    ) -> None:
        """add_data for a text model: the document is featurized on chain by the model's stored featurizer
        (cmu/models/text.py); the record keeps the hash of [text, label], the TextAdded event the text."""
        who = origin.ensure_signed()
        add.add_items(self, who, model, [add.TextItem(text, label)], batch=False)

    @call(index=11, weight=_settle_text_weight)
    def refund_text(
        self, origin: Origin, contribution: U64, text: Document, label: U32  # type: ignore[valid-type]
    ) -> None:
        """refund for a text contribution (the document given again)."""
        who = origin.ensure_signed()
        settle.refund(self, who, contribution, text, label)

    @call(index=12, weight=_settle_text_weight)
    def report_text(
        self, origin: Origin, contribution: U64, text: Document, label: U32  # type: ignore[valid-type]
    ) -> None:
        """report for a text contribution (the document given again)."""
        who = origin.ensure_signed()
        settle.report(self, who, contribution, text, label)

    # --- hooks -----------------------------------------------------------------------------------

    @hookimpl
    def integrity_check(self) -> None:
        """Training needs the registry (models, kinds) and Versioning (current weights, versions)."""
        for needed in ("ModelRegistry", "Versioning"):
            if not self.runtime.has_pallet(needed):
                raise PalletError(f"the Training pallet needs the {needed} pallet in the chain")
