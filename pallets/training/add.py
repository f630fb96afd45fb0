"""Adding contributions: who may add (configuration, access policy, mechanism), the deposit, the record
and the model update through the kind's own rule, fed to Versioning. Verify everything, then mutate."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pallets.training import rules
from pallets.training.rows import BadRow, ModelView
from pallets.training.types import DEPOSIT_REASON, Contribution, DataItem, Mechanism, Status, TrainingConfig
from runtime.pallet import ensure, fail
from runtime.types import AccountId

if TYPE_CHECKING:
    from cmu import models
    from pallets.model_registry.types import ModelInfo
    from pallets.training.pallet import Training

@dataclasses.dataclass(frozen=True)
class TextItem:
    """One labelled document of a text model (add_text): the data is the text itself."""

    features: str
    label: int


TRAIN = "train"
TRAINER_ROLE = "Trainer"
"""The model_access action training needs (Access: PERMISSIONS)."""
PLAINTEXT = "plaintext_weights"
"""The model_access action asked before plaintext weights go on chain (refused for Permissioned models)."""


def deposit_at(pallet: Training, model: int, config: TrainingConfig, now_ms: int) -> int:
    """The deposit of one contribution at block time `now_ms`: Stake only, from the model's last update."""
    if config.mechanism is not Mechanism.STAKE:
        return 0
    last = pallet.last_update.get(model)
    seconds = 0 if last is None else rules.seconds_between(last, now_ms)
    return rules.deposit_for(config.cost_weight, seconds)


def add_items(pallet: Training, who: AccountId, model: int, items: Sequence[DataItem | TextItem], *,
              batch: bool) -> None:
    """add_data (one item) and add_batch: every check for every item first, then each item in order."""
    config = pallet.config(model)
    if not config.enabled:
        fail(pallet.TrainingDisabled, f"training of model {model} is disabled")
    info = pallet.registry.live_model(model)
    ensure_plaintext(pallet, who, model)
    ensure_may_train(pallet, who, model, info, config)
    if batch:
        ensure(items, pallet.EmptyBatch)
        if len(items) > config.batch_limit:
            fail(pallet.BatchTooLarge, f"at most {config.batch_limit} items")
    view = ModelView.of(info, pallet.registry.kind(info.kind))
    rows = [_row(pallet, view, item) for item in items]
    now = pallet.now()
    # after the first item the model's last update is now: 0 seconds, divisor 1
    later = rules.deposit_for(config.cost_weight, 0) if config.mechanism is Mechanism.STAKE else 0
    deposits = [deposit_at(pallet, model, config, now)] + [later] * (len(items) - 1)
    free = pallet.balances.free_balance(who)
    if free < sum(deposits):  # messages are formatted only on failure (this is the hot path)
        fail(pallet.CannotPayDeposit, f"deposits {sum(deposits)}, free {free}")
    terms = pallet.model_terms[model]  # set with the configuration: the terms this contribution keeps
    for item, row, deposit in zip(items, rows, deposits, strict=True):
        _add_one(pallet, who, model, view, item, row, deposit, now, terms)


def ensure_plaintext(pallet: Training, who: AccountId, model: int) -> None:
    """ConfidentialModel when the model's weights are confidential (Permissioned): the chain trains only
    plaintext weights."""
    if pallet.runtime.hooks.model_access(who=who, model=model, action=PLAINTEXT) is False:
        fail(pallet.ConfidentialModel, f"model {model} is permissioned: its weights are encrypted and the "
             "chain cannot train them")


def ensure_may_train(pallet: Training, who: AccountId, model: int, info: ModelInfo,
                     config: TrainingConfig) -> None:
    """NotAllowed unless the access policy lets `who` train (any signed account when no access pallet
    answers); NotTrainer unless, under mechanism Trainers, `who` holds Trainer or above (the owner only
    when the chain has no Access pallet)."""
    if not may_train(pallet, who, model):
        fail(pallet.NotAllowed, f"{who} may not train model {model}")
    if config.mechanism is Mechanism.TRAINERS:
        ensure(is_trainer(pallet, who, model, info), pallet.NotTrainer)


def may_train(pallet: Training, who: AccountId, model: int) -> bool:
    """The `model_access` hook's answer for "train" (Access.can; None, no access pallet: allowed)."""
    answer = pallet.runtime.hooks.model_access(who=who, model=model, action=TRAIN)
    return answer is None or bool(answer)


def is_trainer(pallet: Training, who: AccountId, model: int, info: ModelInfo) -> bool:
    """Whether `who` holds the Trainer role or above on `model` (the `model_role_at_least` hook; without
    an access pallet, the owner only)."""
    answer = pallet.runtime.hooks.model_role_at_least(who=who, model=model, role=TRAINER_ROLE)
    return who == info.owner if answer is None else bool(answer)


def _row(pallet: Training, view: ModelView, item: DataItem | TextItem) -> models.FixedRow:
    try:
        return view.row(item.features, item.label)
    except BadRow as exc:
        fail(pallet.BadData, str(exc))


def _add_one(pallet: Training, who: AccountId, model: int, view: ModelView, item: DataItem | TextItem,
             row: models.FixedRow, deposit: int, now: int, terms: int) -> None:
    contribution = pallet.next_contribution.get()
    pallet.next_contribution.set(contribution + 1)
    if deposit:
        pallet.balances.hold(who, DEPOSIT_REASON, deposit)
    versioning = pallet.versioning
    version = versioning.latest(model)
    result = view.update(versioning.current_weights(model), row, item.label)
    versioning.record_training_update(model, contribution, result.indices, result.values, trusted=True)
    data_hash = rules.data_hash(item.features, item.label)
    pallet.contributions[contribution] = Contribution(
        model, who, data_hash, item.label, deposit, deposit, now, version, Status.OPEN, terms
    )
    pallet.by_model[model, contribution] = True
    pallet.by_contributor[who, contribution] = True
    pallet.last_update[model] = now
    text = item.features if isinstance(item.features, str) else None
    features = item.features if not isinstance(item.features, str) else []
    pallet.deposit_event(pallet.DataAdded(
        model=model, contribution=contribution, contributor=who, deposit=deposit, label=item.label,
        data_hash=data_hash, features=features, version=version,
        changed=result.changed,
    ))
    if text is not None:  # a document: the data is the text (DataAdded keeps its shape, features empty)
        pallet.deposit_event(pallet.TextAdded(model=model, contribution=contribution, text=text))

