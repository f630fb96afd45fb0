"""Access's RPC view: the read-side access decisions behind the `model_*` RPC methods: who may predict
with or download a model (Access.can on the state), which models use an artifact root, and what a
model's public description shows. Grants are judged as in the block after the state's (`block` = its
number + 1, given by the caller, which knows the best block), like a transaction sent now: a grant that
expires at block N reads while the best block is below N - 1, and no longer once N - 1 is the best.

Read-only, run on a node's read runtime. A refusal is a QueryError: AccessDenied for a model the caller
may not read (the same whether or not the caller signed, and whatever the model holds), UnknownArtifact
for a root that is unknown or used only by models the caller may not read (one answer for both, so a
refusal does not tell whether the artifact exists), ConfidentialModel for a prediction the node cannot make.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmu.node.rpc_views import model_registry as query
from cmu.node.rpc_views.model_registry import QueryError
from pallets.access.pallet import Access
from pallets.access.types import Confidential, Visibility
from pallets.model_registry.types import ModelInfo
from runtime.types import AccountId

if TYPE_CHECKING:
    from runtime.executive import Runtime

READS = ("predict", "download")


def access_pallet(rt: Runtime) -> Access | None:
    """The chain's Access pallet (None: a chain without one, where every model is public)."""
    return rt.pallet(Access) if rt.has_pallet(Access.name) else None


def ensure_may_read(rt: Runtime, who: AccountId | None, model: int, action: str, block: int) -> None:
    """Nothing if `who` (None: unsigned) may `action` ("predict" or "download") the model in `block`;
    AccessDenied otherwise (UnknownModel for no such model)."""
    query.model_info(rt, model)
    access = access_pallet(rt)
    if access is None or (action in READS and access.policy(model).visibility is Visibility.PUBLIC):
        return  # anyone reads a public model (the PERMISSIONS table), without decoding the token again
    if access.can(who, model, action, block) is False:
        raise QueryError(
            "AccessDenied",
            f"model {model} is permissioned: {action} needs a query signed by an account with Reader or "
            "a higher role (the `auth` parameter; cmu signs it with --signer)",
        )


def confidential(rt: Runtime, model: int) -> Confidential | None:
    """The model's confidential version, if it has one."""
    access = access_pallet(rt)
    return None if access is None else access.confidential.get(model)


def ensure_predictable(rt: Runtime, model: int) -> None:
    """ConfidentialModel if the node cannot predict with the model: its weights are encrypted (a
    confidential version, which every Permissioned model has). Callers check access first, so a caller
    without a role gets AccessDenied, a grantee this answer."""
    access = access_pallet(rt)
    permissioned = access is not None and access.policy(model).visibility is Visibility.PERMISSIONED
    if permissioned or confidential(rt, model) is not None:
        raise QueryError(
            "ConfidentialModel",
            f"model {model} is confidential: the node cannot read its weights; download it and predict "
            "locally (cmu model predict --local) with a key posted to you",
        )


def download_root(rt: Runtime, model: int) -> bytes:
    """The artifact a download of a model id serves: the confidential version, else the current one."""
    found = confidential(rt, model)
    return found.artifact if found is not None else query.model_info(rt, model).artifact


def models_using(rt: Runtime, root: bytes) -> list[int]:
    """The models that use an artifact root now: as their current artifact, their confidential version
    or one of their versions. Costs a pass over the models (and versions) unless no model uses it."""
    reg = query.registry(rt)
    manifest = reg.artifacts.get(root)
    if manifest is None or manifest.refs == 0:
        return []
    users = {model for model, info in reg.models.items() if info.artifact == root}
    access = access_pallet(rt)
    if access is not None:
        users.update(model for model, found in access.confidential.items() if found.artifact == root)
    if rt.has_pallet("Versioning"):
        from pallets.versioning import Versioning

        versions = rt.pallet(Versioning).versions.items()
        users.update(model for (model, _), record in versions if record.artifact == root)
    return sorted(users)


def ensure_may_download_root(rt: Runtime, who: AccountId | None, root: bytes, block: int) -> None:
    """Nothing if the artifact exists and `who` may download it in `block`: no model uses it, or `who`
    may read one of the models that do. UnknownArtifact otherwise (the same answer for an unknown root)."""
    reg = query.registry(rt)
    access = access_pallet(rt)
    if root in reg.artifacts:
        users = models_using(rt, root)
        allowed = (access.can(who, m, "download", block) for m in users) if access else ()
        if access is None or not users or any(allowed):
            return
    raise QueryError(
        "UnknownArtifact",
        f"no artifact 0x{root.hex()} that this caller may download (unknown, or used only by "
        "permissioned models the caller may not read)",
    )


def access_json(rt: Runtime, model: int) -> dict[str, Any] | None:
    """A model's access policy, confidential key id and pass terms, as public metadata."""
    access = access_pallet(rt)
    if access is None:
        return None
    policy = access.policy(model)
    terms = access.pass_terms.get(model)
    found = access.confidential.get(model)
    public = policy.visibility is Visibility.PUBLIC
    return {
        "visibility": policy.visibility.value,
        "training": policy.training.value,
        "confidential": None
        if found is None
        else {
            "keyId": "0x" + found.key_id.hex(),
            "rotationDue": found.rotation_pending,
            "artifact": "0x" + found.artifact.hex() if public else None,
        },
        "pass": None
        if terms is None
        else {
            "price": terms.price,
            "durationBlocks": terms.duration_blocks,
            "contributorSharePermill": terms.contributor_share_permill,
        },
    }


def public_model_json(rt: Runtime, model: int, info: ModelInfo) -> dict[str, Any]:
    """What anyone may see of a model: its description and access policy. A permissioned model's artifact
    root is left out (null): it names the weights' bytes."""
    shown = query.model_json(model, info)
    access = access_json(rt, model)
    shown["access"] = access
    if access is not None and access["visibility"] != Visibility.PUBLIC.value:
        shown["artifact"] = None
    return shown
