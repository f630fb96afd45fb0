"""Settling contributions: refunds of data the model agrees with, and takes of deposits (reports of data
it disagrees with, the owner's claim and any account's claim after their waits). Every wait is the one of
the terms the contribution was made under, never the model's configuration now; the judge is the current
model, and, once a Maintainer or the owner replaced the model after the contribution, also the model as
contributions left it before that (see docs/training.md, "The terms are a promise").
Each verifies everything first, then moves the held deposit, then updates the record, event last."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from pallets.training import rules
from pallets.training.rows import BadRow, ModelView
from pallets.training.types import DEPOSIT_REASON, Contribution, Status, TakeReason
from runtime.pallet import ensure, fail
from runtime.types import AccountId

if TYPE_CHECKING:
    from pallets.training.pallet import Training


def refund(pallet: Training, who: AccountId, contribution: int, features: list[int] | str,
           label: int) -> None:
    """Training.refund: the author, after the refund wait, while the current model agrees."""
    record = _open_record(pallet, contribution, features, label)
    ensure(record.contributor == who, pallet.NotContributor)
    terms = pallet.terms_of(record)
    if not rules.window_open(record.time, pallet.now(), terms.refund_wait_s):
        fail(pallet.TooEarly, f"the refund wait of this contribution's terms is {terms.refund_wait_s} s")
    ensure(_agrees(pallet, record, features), pallet.ModelDisagrees)
    amount = record.claimable
    if amount:
        pallet.balances.release(who, DEPOSIT_REASON, amount)
    pallet.contributions[contribution] = dataclasses.replace(record, claimable=0, status=Status.REFUNDED)
    good = _count_good(pallet, record.model, who)
    pallet.deposit_event(pallet.Refunded(
        model=record.model, contribution=contribution, contributor=who, amount=amount, good=good
    ))


def report(pallet: Training, who: AccountId, contribution: int, features: list[int] | str,
           label: int) -> None:
    """Training.report: the owner's or any account's claim after their waits, else a reporter's take."""
    record = _open_record(pallet, contribution, features, label)
    ensure(record.claimable > 0, pallet.NothingToTake)
    terms = pallet.terms_of(record)
    now, owner = pallet.now(), pallet.registry.model(record.model).owner
    if who == owner and rules.window_open(record.time, now, terms.owner_claim_wait_s):
        reason, amount = TakeReason.OWNER_CLAIM, record.claimable
    elif rules.window_open(record.time, now, terms.any_claim_wait_s):
        reason, amount = TakeReason.ANY_CLAIM, record.claimable
    else:
        reason, amount = TakeReason.REPORT, _reporter_take(pallet, who, contribution, record, features)
    pallet.balances.transfer_held(record.contributor, DEPOSIT_REASON, who, amount)
    remaining = record.claimable - amount
    status = Status.OPEN if remaining else Status.TAKEN
    pallet.contributions[contribution] = dataclasses.replace(record, claimable=remaining, status=status)
    if reason is TakeReason.REPORT:
        pallet.reports[contribution, who] = True
    pallet.deposit_event(pallet.Taken(
        model=record.model, contribution=contribution, taker=who, amount=amount, remaining=remaining,
        reason=reason,
    ))


def _reporter_take(pallet: Training, who: AccountId, contribution: int, record: Contribution,
                   features: list[int] | str) -> int:
    """What a reporter takes, after every report rule is checked (see Training.report)."""
    terms = pallet.terms_of(record)
    if not rules.window_open(record.time, pallet.now(), terms.refund_wait_s):
        fail(pallet.TooEarly,
             f"reports open after this contribution's refund wait of {terms.refund_wait_s} s; the owner's "
             f"claim after {terms.owner_claim_wait_s} s, anyone's after {terms.any_claim_wait_s} s")
    ensure(who != record.contributor, pallet.OwnDeposit)
    good = pallet.good_count(record.model, who)
    ensure(good >= 1, pallet.NoGoodContributions)
    ensure((contribution, who) not in pallet.reports, pallet.AlreadyReported)
    ensure(not _agrees(pallet, record, features), pallet.ModelAgrees)
    total = pallet.total_good[record.model]
    return rules.take_amount(record.initial_deposit, good, total, record.claimable)


def _open_record(pallet: Training, contribution: int, features: list[int] | str, label: int) -> Contribution:
    """The record of a contribution that is still open and whose data hash matches."""
    record = pallet.contribution(contribution)
    if record.status is not Status.OPEN:
        fail(pallet.AlreadySettled, f"contribution {contribution} is settled")
    ensure(rules.data_hash(features, label) == record.data_hash, pallet.DataMismatch)
    return record


def _agrees(pallet: Training, record: Contribution, features: list[int] | str) -> bool:
    """Whether the model agrees with the data: the current model (latest version plus this block's
    updates) predicts its label, or, when a Maintainer or the owner made a version (publish, rollback,
    set_artifact) after the contribution, the version just before the first such one does. That version
    is the model as contributions left it: no one can turn good data bad by fiat, while training after
    the contribution still judges it (Harris and Waggoner's refund at refund time)."""
    info = pallet.registry.model(record.model)
    view = ModelView.of(info, pallet.registry.kind(info.kind))
    try:
        row = view.row(features, record.label)
    except BadRow as exc:  # only if the model's spec could change under stored data
        fail(pallet.BadData, str(exc))
    versioning = pallet.versioning
    if view.predict(versioning.current_weights(record.model), row) == record.label:
        return True
    replaced_at = versioning.first_explicit_after(record.model, record.version)
    if replaced_at is None:
        return False
    return view.predict(versioning.weights_at(record.model, replaced_at - 1), row) == record.label


def _count_good(pallet: Training, model: int, who: AccountId) -> int:
    """Count one good contribution (Training's counts; the `good_contribution_recorded` hook tells the
    pallets that share revenue by it, Access when the chain has it)."""
    good = pallet.good_count(model, who) + 1
    pallet.good_counts[model, who] = good
    pallet.total_good[model] = pallet.total_good[model] + 1
    pallet.runtime.hooks.good_contribution_recorded(model=model, who=who)
    return good
