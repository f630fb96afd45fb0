"""The Access pallet's stored types and its permission table: visibility and training policies, roles,
grants with an optional expiry block, and pass terms. Integers and enums only (no floats)."""

from __future__ import annotations

import dataclasses
import enum

from cmu.formats.envelope import WRAPPED_KEY_SIZE
from runtime.types import H256, U32, AccountId, Balance, BlockNumber, bounded_bytes

SealedKey = bounded_bytes(WRAPPED_KEY_SIZE)

PERMILL = 1_000_000  # contributor_share_permill is parts per million of the price

#: Actions `Access.can` answers for.
ACTIONS = ("predict", "download", "train", "publish_version", "manage_roles", "transfer", "plaintext_weights")
PLAINTEXT = "plaintext_weights"
"""The action other pallets ask before they put plaintext weights of a model on chain (Versioning's
publish_version and rollback, the registry's set_artifact, Training's updates): refused for a
Permissioned model, whose weights are always confidential."""

PERMISSIONS = """Who may do what on a model (Access.can). Roles rank Owner > Admin > Maintainer > Trainer >
Reader; each includes the rights of those below it. The Owner is the token holder (implicit, never
granted). A grant counts while block_number < expires_at (or forever with no expiry).

action           Public model                        Permissioned model (deny by default)
predict          anyone, also anonymous (who=None)   Reader and up
download         anyone, also anonymous (who=None)   Reader and up
train, Open      any signed account                  Reader and up
train, Trainers  Trainer and up                      Trainer and up
publish_version  Maintainer and up                   Maintainer and up
manage_roles     Admin and up                        Admin and up
transfer         Owner or the registry's approved operator, whatever the policy
plaintext_weights  anyone (the caller's own right is     nobody: a permissioned model's weights are
                   checked by the asking pallet)         confidential (encrypted before upload)

Managing roles: Owner and Admin grant and revoke Maintainer, Trainer and Reader (and set the policy);
only the Owner grants or revokes Admin, or replaces a live Admin grant; anyone may renounce their own
role; only the Owner sets pass terms. A model becomes Permissioned only with a confidential version.
Confidential models: Maintainer and up publish an encrypted version
(publish_confidential) and post its key (post_key) to the Owner and holders of a live role. An unknown
action is denied; can() is None only for an unknown model. Retirement is the registry's check
(live_model), not part of this table."""


class Visibility(enum.Enum):
    """Who may predict with and download a model."""

    PUBLIC = "Public"
    PERMISSIONED = "Permissioned"


class Training(enum.Enum):
    """Who may train a model: anyone who stakes (Open) or holders of the Trainer role and up."""

    OPEN = "Open"
    TRAINERS = "Trainers"


class Role(enum.Enum):
    """A role granted on one model. The Owner is implicit (the token holder) and not a Role."""

    ADMIN = "Admin"
    MAINTAINER = "Maintainer"
    TRAINER = "Trainer"
    READER = "Reader"


#: Rank of each role; OWNER_RANK is the token holder's, 0 no role at all.
RANK: dict[Role, int] = {Role.READER: 1, Role.TRAINER: 2, Role.MAINTAINER: 3, Role.ADMIN: 4}
OWNER_RANK = 5


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    """A model's access policy (a model without one is Public with Open training)."""

    visibility: Visibility
    training: Training


DEFAULT_POLICY = Policy(Visibility.PUBLIC, Training.OPEN)


@dataclasses.dataclass(frozen=True, slots=True)
class Grant:
    """A role held on a model, valid while block_number < expires_at (forever if None)."""

    role: Role
    expires_at: BlockNumber | None

    def live_at(self, block: int) -> bool:
        """Whether the grant still counts in block `block`."""
        return self.expires_at is None or block < self.expires_at


@dataclasses.dataclass(frozen=True, slots=True)
class PassTerms:
    """What an access pass costs, how many blocks it lasts and the contributors' part of each sale."""

    price: Balance
    duration_blocks: BlockNumber
    contributor_share_permill: U32


@dataclasses.dataclass(frozen=True, slots=True)
class Confidential:
    """A confidential model's current encrypted artifact, the id of its data key, who published it and
    whether the key must change at the next publication (a key holder lost access)."""

    artifact: H256
    key_id: H256
    publisher: AccountId
    rotation_pending: bool


@dataclasses.dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key sealed to one holder's X25519 key (SealedBox), with the id of the key it wraps."""

    key_id: H256
    sealed: SealedKey  # type: ignore[valid-type]


def required_rank(action: str, policy: Policy, signed: bool) -> int | None:
    """The least rank that may take `action` under `policy` (PERMISSIONS); None: nobody may.

    Rank 0 means anyone: anonymous callers for reads of a public model, signed callers for training.
    """
    permissioned = policy.visibility is Visibility.PERMISSIONED
    if action in ("predict", "download"):
        return RANK[Role.READER] if permissioned else 0
    if action == "train":
        if policy.training is Training.TRAINERS:
            return RANK[Role.TRAINER]
        if permissioned:
            return RANK[Role.READER]
        return 0 if signed else None
    if action == "publish_version":
        return RANK[Role.MAINTAINER]
    if action == "manage_roles":
        return RANK[Role.ADMIN]
    if action == PLAINTEXT:
        return None if permissioned else 0
    return None  # unknown actions (transfer is answered from the registry's token)


def split_revenue(price: int, permill: int, counts: list[int]) -> tuple[int, list[int]]:
    """Split `price` into the owner's credit and one credit per contributor (by good-contribution count).

    The contributors' part is price x permill / 10^6 (rounded down); each contributor gets part x count /
    total (rounded down); every remainder goes to the owner, so owner + sum(contributors) == price.
    """
    total = sum(counts)
    pool = price * permill // PERMILL if total else 0
    shares = [pool * count // total for count in counts] if total else [0 for _ in counts]
    return price - sum(shares), shares


__all__ = [
    "ACTIONS",
    "DEFAULT_POLICY",
    "OWNER_RANK",
    "PERMILL",
    "PERMISSIONS",
    "PLAINTEXT",
    "RANK",
    "Confidential",
    "Grant",
    "PassTerms",
    "Policy",
    "Role",
    "SealedKey",
    "Training",
    "Visibility",
    "WrappedKey",
    "required_rank",
    "split_revenue",
]
