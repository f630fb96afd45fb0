"""The Access pallet: who may predict, download, train, publish versions, manage roles and transfer each
model (see PERMISSIONS), roles granted per model with an optional expiry block, and paid access passes
whose revenue is credited to the owner and to contributors of good training data, claimable by them.

Confidential models (confidential.py): an encrypted artifact per model and its data key wrapped per
holder (`wrapped_keys`, keyed (model, account) like `grants`); a lost role makes the key's rotation due.
"""

from __future__ import annotations

import dataclasses

from pallets.access import confidential as conf
from pallets.access.types import (
    DEFAULT_POLICY,
    OWNER_RANK,
    PERMILL,
    PERMISSIONS,
    RANK,
    Confidential,
    Grant,
    PassTerms,
    Policy,
    Role,
    SealedKey,
    Training,
    Visibility,
    WrappedKey,
    required_rank,
    split_revenue,
)
from pallets.balances import Balances
from pallets.model_registry import ModelRegistry
from pallets.model_registry.types import ModelInfo
from runtime.crypto import blake2_256
from runtime.errors import DispatchError, Overflow
from runtime.pallet import Event, Origin, Pallet, call, ensure, fail, hookimpl
from runtime.storage.items import StorageDoubleMap, StorageMap
from runtime.types import H256, U32, AccountId, Balance, BlockNumber

REVENUE_REASON = "access/revenue"
U32_MAX = (1 << 32) - 1


class Access(Pallet):
    """Per-model policies, roles and paid passes; `can(who, model, action)` is the one access check."""

    name, index = "Access", 11
    PERMISSIONS = PERMISSIONS
    PERMILL = PERMILL
    MAX_CONTRIBUTORS = 1_000  # contributors credited per model (bounds buy_pass's weight)
    PALLET_ACCOUNT = AccountId(blake2_256(b"modl/cmu/access"))  # holds unclaimed revenue
    MAX_KEY_HOLDERS = 256  # wrapped keys per confidential model (bounds publish_confidential's weight)

    policies: StorageMap[int, Policy] = StorageMap(U32, Policy, doc="Policies (absent: Public, Open).")
    grants: StorageDoubleMap[int, AccountId, Grant] = StorageDoubleMap(
        U32, AccountId, Grant, doc="Roles by model and account, with their expiry block."
    )
    pass_terms: StorageMap[int, PassTerms] = StorageMap(U32, PassTerms, doc="Pass price and duration.")
    good_counts: StorageDoubleMap[int, AccountId, int] = StorageDoubleMap(
        U32, AccountId, U32, doc="Good (refunded) training contributions by model and contributor."
    )
    contributors: StorageMap[int, int] = StorageMap(U32, U32, default=0, doc="Contributors per model.")
    revenue: StorageDoubleMap[int, AccountId, int] = StorageDoubleMap(
        U32, AccountId, Balance, doc="Unclaimed pass revenue by model and account."
    )
    confidential: StorageMap[int, Confidential] = StorageMap(
        U32, Confidential, doc="Confidential models: encrypted artifact, key id, rotation due."
    )
    wrapped_keys: StorageDoubleMap[int, AccountId, WrappedKey] = StorageDoubleMap(
        U32, AccountId, WrappedKey, doc="The current data key of a confidential model, sealed per holder."
    )
    key_holders: StorageMap[int, int] = StorageMap(U32, U32, default=0, doc="Wrapped keys per model.")

    # --- events ----------------------------------------------------------------------------------

    @dataclasses.dataclass(frozen=True)
    class PolicySet(Event):
        """A model's visibility and training policy changed."""

        model: U32
        visibility: Visibility
        training: Training

    @dataclasses.dataclass(frozen=True)
    class RoleGranted(Event):
        """An account was granted a role on a model (replacing any role it held there)."""

        model: U32
        who: AccountId
        role: Role
        expires_at: BlockNumber | None
        by: AccountId

    @dataclasses.dataclass(frozen=True)
    class RoleRevoked(Event):
        """An account's role on a model was taken away."""

        model: U32
        who: AccountId
        role: Role
        by: AccountId

    @dataclasses.dataclass(frozen=True)
    class RoleRenounced(Event):
        """An account gave up its role on a model."""

        model: U32
        who: AccountId
        role: Role

    @dataclasses.dataclass(frozen=True)
    class PassTermsSet(Event):
        """The owner set the price, duration and contributor share of a model's passes."""

        model: U32
        price: Balance
        duration_blocks: BlockNumber
        contributor_share_permill: U32

    @dataclasses.dataclass(frozen=True)
    class PassSalesClosed(Event):
        """The owner stopped selling passes (set_pass_terms with price 0)."""

        model: U32

    @dataclasses.dataclass(frozen=True)
    class PassBought(Event):
        """An account bought Reader until `expires_at`; the price was credited to owner and contributors."""

        model: U32
        buyer: AccountId
        expires_at: BlockNumber
        price: Balance
        owner_share: Balance
        contributor_share: Balance

    @dataclasses.dataclass(frozen=True)
    class GoodContributionRecorded(Event):
        """Training recorded a good (refunded) contribution; `count` is the contributor's new total."""

        model: U32
        contributor: AccountId
        count: U32

    @dataclasses.dataclass(frozen=True)
    class RevenueClaimed(Event):
        """An account was paid its pass revenue of a model."""

        model: U32
        who: AccountId
        amount: Balance

    @dataclasses.dataclass(frozen=True)
    class ConfidentialPublished(Event):
        """A Maintainer made an encrypted artifact the model's confidential version (key named by id)."""

        model: U32
        artifact: H256
        key_id: H256
        by: AccountId

    @dataclasses.dataclass(frozen=True)
    class KeyPosted(Event):
        """The model's data key was posted sealed to `who` (only `who` can open it)."""

        model: U32
        who: AccountId
        key_id: H256
        by: AccountId

    @dataclasses.dataclass(frozen=True)
    class KeyRotationDue(Event):
        """A role on a confidential model ended: its next version must use a new data key."""

        model: U32

    # --- errors ----------------------------------------------------------------------------------

    class NotAllowed(DispatchError):
        """The caller's role does not allow this (managing roles and policy needs Owner or Admin)."""

    class OwnerOnly(DispatchError):
        """Only the model's owner may do this (grant or revoke Admin, set pass terms)."""

    class ExpiryInPast(DispatchError):
        """expires_at must be a block after the current one."""

    class NoGrant(DispatchError):
        """The account holds no role on this model."""

    class PriceTooLow(DispatchError):
        """A pass price must be at least the existential deposit (it is paid into the pallet account)."""

    class ZeroDuration(DispatchError):
        """A pass must last at least one block."""

    class ShareTooLarge(DispatchError):
        """contributor_share_permill is at most 1_000_000 (the whole price)."""

    class NoPassTerms(DispatchError):
        """The model's owner sells no passes."""

    class AlreadyHasAccess(DispatchError):
        """The buyer may read the model already: it is public, theirs, or they hold a role above an
        expiring Reader."""

    class NothingToClaim(DispatchError):
        """No revenue of this model is waiting for the caller."""

    class NotConfidential(DispatchError):
        """The model has no confidential version (publish_confidential first)."""

    class NotSealed(DispatchError):
        """The artifact is not a confidential envelope (it must start with the CMUSEAL1 header)."""

    class KeyRotationPending(DispatchError):
        """Someone who had the data key lost access: the next version must use a new key."""

    class BadWrappedKey(DispatchError):
        """A wrapped key is a SealedBox of a 32-byte key: exactly 80 bytes."""

    class NoReadRole(DispatchError):
        """Keys are posted only to the owner and to accounts holding a live role on the model."""

    class TooManyKeyHolders(DispatchError):
        """The model has MAX_KEY_HOLDERS wrapped keys already."""

    # --- the one access check ------------------------------------------------------------------

    @property
    def registry(self) -> ModelRegistry:
        """The ModelRegistry pallet (model tokens and their owners)."""
        return self.runtime.pallet(ModelRegistry)

    @property
    def balances(self) -> Balances:
        """The Balances pallet (pass payments and revenue)."""
        return self.runtime.pallet(Balances)

    def can(self, who: AccountId | None, model: int, action: str, at: int | None = None) -> bool | None:
        """May `who` (None: anonymous) take `action` on `model` in block `at` (default: the current one;
        read queries pass the block their state is of)? None only if there is no such model."""
        info = self._find(model)
        if info is None:
            return None
        if action == "transfer":
            return who is not None and who in (info.owner, info.approved)
        need = required_rank(action, self.policy(model), who is not None)
        if need is None:
            return False
        return self.rank(model, who, info, at) >= need

    @hookimpl
    def model_access(self, who: bytes | None, model: int, action: str) -> bool | None:
        """The `model_access` hook: Access.can for every pallet and the RPC."""
        account = None if who is None else AccountId(bytes(who))
        return self.can(account, model, action)

    @hookimpl
    def model_role_at_least(self, who: bytes, model: int, role: str) -> bool | None:
        """The `model_role_at_least` hook: `who`'s rank on `model` now against the role's (None for an
        unknown model)."""
        info = self._find(model)
        if info is None:
            return None
        return self.rank(model, AccountId(bytes(who)), info) >= RANK[Role(role)]

    def policy(self, model: int) -> Policy:
        """A model's policy (Public with Open training unless set)."""
        return self.policies.get(model) or DEFAULT_POLICY

    def role(self, model: int, who: AccountId, at: int | None = None) -> Role | None:
        """The role `who` holds on `model` in block `at` (default: now); None if none or expired."""
        grant = self.grants.get(model, who)
        block = self.block_number() if at is None else at
        return grant.role if grant is not None and grant.live_at(block) else None

    def rank(self, model: int, who: AccountId | None, info: ModelInfo, at: int | None = None) -> int:
        """`who`'s rank on the model in block `at` (default: now): OWNER_RANK for the token holder, 0
        without a live role."""
        if who is None:
            return 0
        if who == info.owner:
            return OWNER_RANK
        role = self.role(model, who, at)
        return 0 if role is None else RANK[role]

    def _find(self, model: int) -> ModelInfo | None:
        try:
            return self.registry.model(model)
        except ModelRegistry.UnknownModel:
            return None

    # --- the training pallet's contract: the good_contribution_recorded hook ----------------------

    @hookimpl
    def good_contribution_recorded(self, model: int, who: bytes) -> None:
        """Training counted a good contribution: count it here too, for revenue sharing."""
        self.record_good_contribution(model, AccountId(bytes(who)))

    def record_good_contribution(self, model: int, who: AccountId) -> bool:
        """Count one good (refunded) training contribution of `who` to `model`, for revenue sharing.

        Returns False, counting nothing, when the model already has MAX_CONTRIBUTORS other contributors.
        Raises ModelRegistry.UnknownModel for an unknown model.
        """
        self.registry.model(model)
        count = self.good_counts.get(model, who, 0) or 0
        new = count == 0
        if new and self.contributors[model] >= self.MAX_CONTRIBUTORS:
            return False
        ensure(count < U32_MAX, Overflow)
        if new:
            self.contributors[model] = self.contributors[model] + 1
        self.good_counts[model, who] = count + 1
        self.deposit_event(self.GoodContributionRecorded(model=model, contributor=who, count=count + 1))
        return True

    # --- policy and roles ------------------------------------------------------------------------

    @call(index=0, weight=40_000)
    def set_policy(self, origin: Origin, model: U32, visibility: Visibility, training: Training) -> None:
        """Set who may read (visibility) and who may train a model (Owner or Admin)."""
        who = origin.ensure_signed()
        self._manager_rank(who, model)
        self.policies[model] = Policy(visibility, training)
        self.deposit_event(self.PolicySet(model=model, visibility=visibility, training=training))

    @call(index=1, weight=50_000)
    def grant(
        self, origin: Origin, model: U32, who: AccountId, role: Role, expires_at: BlockNumber | None
    ) -> None:
        """Give `who` a role on a model until block `expires_at` (or for good), replacing its role there.

        Owner and Admin grant Maintainer, Trainer and Reader; only the Owner grants Admin or replaces a
        live Admin grant.
        """
        by = origin.ensure_signed()
        rank = self._manager_rank(by, model)
        ensure(expires_at is None or expires_at > self.block_number(), self.ExpiryInPast)
        touches_admin = role is Role.ADMIN or self.role(model, who) is Role.ADMIN
        ensure(rank == OWNER_RANK or not touches_admin, self.OwnerOnly)
        self.grants[model, who] = Grant(role, expires_at)
        granted = self.RoleGranted(model=model, who=who, role=role, expires_at=expires_at, by=by)
        self.deposit_event(granted)

    @call(index=2, weight=50_000)
    def revoke(self, origin: Origin, model: U32, who: AccountId) -> None:
        """Take `who`'s role on a model away (Owner or Admin; a live Admin grant: the Owner only).

        An expired grant may be removed by any manager. A revoked pass is not refunded.
        """
        by = origin.ensure_signed()
        rank = self._manager_rank(by, model)
        grant = self._grant_of(model, who)
        ensure(rank == OWNER_RANK or self.role(model, who) is not Role.ADMIN, self.OwnerOnly)
        del self.grants[model, who]
        rotate = conf.key_lost(self, model, who)
        self.deposit_event(self.RoleRevoked(model=model, who=who, role=grant.role, by=by))
        if rotate:
            self.deposit_event(self.KeyRotationDue(model=model))

    @call(index=3, weight=30_000)
    def renounce(self, origin: Origin, model: U32) -> None:
        """Give up the caller's own role on a model."""
        who = origin.ensure_signed()
        grant = self._grant_of(model, who)
        del self.grants[model, who]
        rotate = conf.key_lost(self, model, who)
        self.deposit_event(self.RoleRenounced(model=model, who=who, role=grant.role))
        if rotate:
            self.deposit_event(self.KeyRotationDue(model=model))

    def _manager_rank(self, who: AccountId, model: int) -> int:
        """The caller's rank, or NotAllowed unless it may manage roles (UnknownModel for no model)."""
        rank = self.rank(model, who, self.registry.model(model))
        ensure(rank >= RANK[Role.ADMIN], self.NotAllowed)
        return rank

    def _grant_of(self, model: int, who: AccountId) -> Grant:
        grant = self.grants.get(model, who)
        if grant is None:
            fail(self.NoGrant)
        return grant

    # --- passes and revenue ----------------------------------------------------------------------

    @call(index=4, weight=40_000)
    def set_pass_terms(
        self,
        origin: Origin,
        model: U32,
        price: Balance,
        duration_blocks: BlockNumber,
        contributor_share_permill: U32,
    ) -> None:
        """The owner sells Reader passes of `duration_blocks` for `price`; contributors get
        contributor_share_permill / 10^6 of each sale. Price 0 stops sales."""
        who = origin.ensure_signed()
        ensure(self.registry.model(model).owner == who, self.OwnerOnly)
        if price == 0:
            del self.pass_terms[model]
            self.deposit_event(self.PassSalesClosed(model=model))
            return
        ensure(price >= self.balances.EXISTENTIAL_DEPOSIT, self.PriceTooLow)
        ensure(duration_blocks > 0, self.ZeroDuration)
        ensure(contributor_share_permill <= PERMILL, self.ShareTooLarge)
        self.pass_terms[model] = PassTerms(price, duration_blocks, contributor_share_permill)
        self.deposit_event(
            self.PassTermsSet(
                model=model,
                price=price,
                duration_blocks=duration_blocks,
                contributor_share_permill=contributor_share_permill,
            )
        )

    @call(index=5, weight=150_000 + 5_000 * MAX_CONTRIBUTORS)
    def buy_pass(self, origin: Origin, model: U32) -> None:
        """Pay the pass price for Reader until the pass expires (an expiring Reader pass is extended).

        The price is held in the pallet account and credited to the owner and, by their good-contribution
        counts, to contributors; any rounding remainder goes to the owner. Each claims with claim_revenue.
        """
        buyer = origin.ensure_signed()
        info = self.registry.model(model)
        terms = self.pass_terms.get(model)
        if terms is None:
            fail(self.NoPassTerms)
        expires_at = self._pass_expiry(model, buyer, info, terms)
        contributors = list(self.good_counts.iter_prefix(model))
        owner_share, shares = split_revenue(
            terms.price, terms.contributor_share_permill, [count for _, count in contributors]
        )
        self.balances.do_transfer(buyer, self.PALLET_ACCOUNT, terms.price, keep_alive=True)
        self.balances.hold(self.PALLET_ACCOUNT, REVENUE_REASON, terms.price)
        self._credit(model, info.owner, owner_share)
        for (contributor, _), share in zip(contributors, shares, strict=True):
            self._credit(model, contributor, share)
        self.grants[model, buyer] = Grant(Role.READER, expires_at)
        bought = self.PassBought(
            model=model,
            buyer=buyer,
            expires_at=expires_at,
            price=terms.price,
            owner_share=owner_share,
            contributor_share=terms.price - owner_share,
        )
        self.deposit_event(bought)

    @call(index=6, weight=60_000)
    def claim_revenue(self, origin: Origin, model: U32) -> None:
        """Pay the caller all pass revenue of `model` credited to it (as owner or contributor)."""
        who = origin.ensure_signed()
        amount = self.revenue.get(model, who, 0) or 0
        ensure(amount > 0, self.NothingToClaim)
        self.balances.transfer_held(self.PALLET_ACCOUNT, REVENUE_REASON, who, amount)
        del self.revenue[model, who]
        self.deposit_event(self.RevenueClaimed(model=model, who=who, amount=amount))

    def _pass_expiry(self, model: int, buyer: AccountId, info: ModelInfo, terms: PassTerms) -> int:
        """The block a pass bought now expires at, or AlreadyHasAccess if the buyer needs none."""
        ensure(self.policy(model).visibility is Visibility.PERMISSIONED, self.AlreadyHasAccess)
        ensure(buyer != info.owner, self.AlreadyHasAccess)
        now = self.block_number()
        grant = self.grants.get(model, buyer)
        start = now
        if grant is not None and grant.live_at(now):
            ensure(grant.role is Role.READER and grant.expires_at is not None, self.AlreadyHasAccess)
            start = grant.expires_at or now
        expires_at = start + terms.duration_blocks
        ensure(expires_at <= U32_MAX, Overflow)
        return expires_at

    def _credit(self, model: int, who: AccountId, amount: int) -> None:
        if amount:
            self.revenue[model, who] = (self.revenue.get(model, who, 0) or 0) + amount

    # --- confidential models (confidential.py) ---------------------------------------------------

    @call(index=7, weight=200_000 + 20_000 * MAX_KEY_HOLDERS)
    def publish_confidential(self, origin: Origin, model: U32, artifact: H256) -> None:
        """Make an encrypted artifact the caller uploaded the model's confidential version (Maintainer and
        up). Its header names the data key; the old key id is refused while a rotation is due. A new key
        drops every wrapped key of the old one: post the new key to each holder with post_key."""
        conf.do_publish(self, origin.ensure_signed(), model, artifact)

    @call(index=8, weight=60_000)
    def post_key(
        self,
        origin: Origin,
        model: U32,
        who: AccountId,
        sealed: SealedKey,
    ) -> None:
        """Post the current data key sealed to `who`'s X25519 key (Maintainer and up; `who` must be the
        owner or hold a live role). Replaces `who`'s previous wrapped key."""
        conf.do_post_key(self, origin.ensure_signed(), model, who, sealed)
