"""The Training pallet's stored and call types: per-model configuration, contribution records and their
status, data items of a batch. Integers, bytes, enums only (times in ms or s as each field says)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated

from runtime.types import H256, I64, U32, U64, AccountId, Balance, ByteLength, Moment

ContributionId = U64
DEPOSIT_REASON = "training/deposit"
"""The Balances hold reason of training deposits."""
MAX_ROW = 1 << 20
"""Most entries a row may carry in a call (dense features or sparse indices); the model's spec is stricter."""
MAX_BATCH = 1_024
"""Most items one add_batch may carry (a model's batch_limit may be lower)."""
Features = Annotated[list[I64], ByteLength(most=MAX_ROW)]


class Mechanism(enum.Enum):
    """How contributions are gated and rewarded."""

    STAKE = "Stake"  # a deposit with each example (Deposit, Refund and Take)
    POINTS = "Points"  # no deposit; good (refunded) data is counted
    TRAINERS = "Trainers"  # only accounts with the Trainer role (or above) contribute; no deposit


class Status(enum.Enum):
    """Where a contribution stands: open, refunded to its author (good data), or its deposit all taken."""

    OPEN = "Open"
    REFUNDED = "Refunded"
    TAKEN = "Taken"


class TakeReason(enum.Enum):
    """Why a deposit (or part of it) was taken."""

    REPORT = "Report"  # a reporter with good contributions; the current model disagrees with the data
    OWNER_CLAIM = "OwnerClaim"  # the model's owner, after the owner-claim wait: all that remains
    ANY_CLAIM = "AnyClaim"  # any account, after the any-account wait: all that remains


@dataclasses.dataclass(frozen=True, slots=True)
class TrainingConfig:
    """A model's training configuration, set by its owner. Waits are in seconds of block time;
    refund_wait_s <= owner_claim_wait_s <= any_claim_wait_s. Deposit = cost_weight * 3600 //
    isqrt(seconds since the model's last update) (divisor 1 below 1 s). batch_limit: items per add_batch."""

    enabled: bool
    mechanism: Mechanism
    refund_wait_s: U64
    owner_claim_wait_s: U64
    any_claim_wait_s: U64
    cost_weight: Balance
    batch_limit: U32


@dataclasses.dataclass(frozen=True, slots=True)
class Terms:
    """The terms a contribution is made under, fixed for its life (Harris and Waggoner: the contract's
    terms are set when it is deployed). Stored once per distinct configuration and named by a TermsId in
    every contribution record; a later set_config makes new terms for later contributions only."""

    mechanism: Mechanism
    refund_wait_s: U64
    owner_claim_wait_s: U64
    any_claim_wait_s: U64
    cost_weight: Balance

    @classmethod
    def of(cls, config: TrainingConfig) -> Terms:
        """The settlement terms of a configuration."""
        return cls(config.mechanism, config.refund_wait_s, config.owner_claim_wait_s,
                   config.any_claim_wait_s, config.cost_weight)


TermsId = U32


@dataclasses.dataclass(frozen=True, slots=True)
class Contribution:
    """One labelled example added to a model. The raw data lives only in the extrinsic and the DataAdded
    event; `data_hash` = blake2b-256 of the canonical encoding of [features, label].
    `time` is the block timestamp (ms) it was added at; `version` the model version it was applied to
    (it is listed in the next version's contributions); `terms` the id of the Terms it was made under
    (waits, mechanism, cost weight), which settle it whatever the model's configuration says later."""

    model: U32
    contributor: AccountId
    data_hash: H256
    label: U32
    initial_deposit: Balance
    claimable: Balance
    time: Moment
    version: U32
    status: Status
    terms: TermsId


@dataclasses.dataclass(frozen=True, slots=True)
class DataItem:
    """One labelled example of add_batch (features encoded as add_data's)."""

    features: Features
    label: U32


__all__ = [
    "DEPOSIT_REASON",
    "MAX_BATCH",
    "MAX_ROW",
    "Contribution",
    "ContributionId",
    "DataItem",
    "Features",
    "Mechanism",
    "Status",
    "TakeReason",
    "Terms",
    "TermsId",
    "TrainingConfig",
]
