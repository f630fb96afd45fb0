"""Property: random grants, revokes, renounces, policy changes, token transfers, confidential publications,
key posts and blocks, by random accounts, never let an account without the role manage or change a model,
nor read a permissioned one: neither through Access.can nor over the RPC's read path (model_predict with
signed queries and the by-root download check, in-process, as the node runs them).

The expected rights are computed here from the raw stored grants and the token's owner with this file's
own rank table, independently of Access.can."""

from __future__ import annotations

from access_helpers import (
    ADMIN,
    MAINTAINER,
    OPEN,
    PERMISSIONED,
    PUBLIC,
    READER,
    TRAINER,
    TRAINERS,
    access,
    model_api,
    rpc_predict,
    upload_sealed,
)
from access_helpers import register_model as register
from hypothesis import event, given, settings
from hypothesis import strategies as st

from cmu.client.confidential import wrap_key
from cmu.node.rpc_views import access as access_query
from cmu.node.rpc_views.model_registry import QueryError
from pallets.model_registry import ModelRegistry
from runtime.testing import build_runtime

NAMES = ("alice", "bob", "charlie", "dave", "eve")
ROLES = (ADMIN, MAINTAINER, TRAINER, READER)
RANKS = {READER: 1, TRAINER: 2, MAINTAINER: 3, ADMIN: 4}
OWNER_RANK, ADMIN_RANK = 5, 4

names = st.sampled_from(NAMES)
#: The first owner (alice) and the first admin (bob) call more often than others, so calls also succeed.
callers = st.just("alice") | st.just("bob") | names
staff = st.lists(st.tuples(names, st.sampled_from(ROLES), st.none() | st.integers(1, 4)), max_size=4)
ops = st.one_of(
    st.tuples(st.just("grant"), callers, names, st.sampled_from(ROLES), st.none() | st.integers(0, 4)),
    st.tuples(st.just("revoke"), callers, names),
    st.tuples(st.just("renounce"), names),
    st.tuples(st.just("transfer"), callers, names),
    st.tuples(
        st.just("set_policy"),
        callers,
        st.sampled_from((PUBLIC, PERMISSIONED)),
        st.sampled_from((OPEN, TRAINERS)),
    ),
    st.tuples(st.just("publish"), callers),
    st.tuples(st.just("post_key"), callers, names),
    st.tuples(st.just("next_block")),
)
KEYS = {name: bytes([n + 1]) * 32 for n, name in enumerate(NAMES)}


def rank(rt, model, name):
    """The rank of `name` read from raw storage: the token's owner, else a live stored grant."""
    who = rt.account(name)
    if rt.pallet(ModelRegistry).models[model].owner == who:
        return OWNER_RANK
    grant = access(rt).grants.get(model, who)
    live = grant is not None and (grant.expires_at is None or rt.block_number < grant.expires_at)
    return RANKS[grant.role] if live else 0


def live_role(rt, model, name):
    grant = access(rt).grants.get(model, rt.account(name))
    live = grant is not None and (grant.expires_at is None or rt.block_number < grant.expires_at)
    return grant.role if live else None


def apply(rt, model, op, sealed):
    """Run one op; returns (caller, CallResult) or None for a new block."""
    kind, *args = op
    if kind == "next_block":
        rt.next_block()
        return None
    caller = args[0]
    if kind == "grant":
        _, target, role, offset = args
        expires = None if offset is None else rt.block_number + offset
        call = ("Access.grant", {"who": rt.account(target), "role": role, "expires_at": expires})
    elif kind == "revoke":
        call = ("Access.revoke", {"who": rt.account(args[1])})
    elif kind == "renounce":
        call = ("Access.renounce", {})
    elif kind == "transfer":
        call = ("ModelRegistry.transfer", {"dest": rt.account(args[1])})
    elif kind == "publish":
        call = ("Access.publish_confidential", {"artifact": sealed[caller]})
    elif kind == "post_key":
        wrapped = wrap_key(KEYS[caller], rt.account(args[1]))
        call = ("Access.post_key", {"who": rt.account(args[1]), "sealed": wrapped})
    else:
        call = ("Access.set_policy", {"visibility": args[1], "training": args[2]})
    return caller, rt.call(caller, call[0], model=model, **call[1])


def check_management(rt, model, op, caller_rank, target_role, result):
    """A call that manages the model succeeded only for a manager (and Admin changes for the owner)."""
    kind = op[0]
    if kind in ("publish", "post_key") and result.ok:
        assert caller_rank >= 3, op  # Maintainer and up change a model's confidential version and keys
    if kind == "transfer" and result.ok:
        assert caller_rank == OWNER_RANK, op  # no operator is ever approved here: only the owner transfers
    if kind == "post_key" and result.ok:
        assert rank(rt, model, op[2]) >= 1, op  # keys go only to holders of a live role
    if kind not in ("grant", "revoke", "set_policy"):
        return
    if caller_rank < ADMIN_RANK:
        assert not result.ok and result.root_before == result.root_after, op
    touches_admin = target_role is ADMIN or (kind == "grant" and op[3] is ADMIN)
    if result.ok and kind != "set_policy" and touches_admin:
        assert caller_rank == OWNER_RANK, op


def check_reads(rt, model):
    """On a permissioned model only Reader and up may predict or download; nobody anonymous."""
    permissioned = access(rt).policy(model).visibility is PERMISSIONED
    pallet = access(rt)
    for name in NAMES:
        r = rank(rt, model, name)
        for action in ("predict", "download"):
            assert pallet.can(rt.account(name), model, action) == (r >= 1 or not permissioned)
        assert pallet.can(rt.account(name), model, "manage_roles") == (r >= ADMIN_RANK)
        assert pallet.can(rt.account(name), model, "publish_version") == (r >= 3)
    assert pallet.can(None, model, "predict") == (not permissioned)
    check_rpc_reads(rt, model, permissioned)


def check_rpc_reads(rt, model, permissioned):
    """The node's read path agrees: signed predictions and by-root downloads only for Reader and up."""
    api = model_api(rt)  # a fresh replay cache: identical signatures may recur within one millisecond
    secret = access(rt).confidential.get(model)
    roots = [rt.pallet(ModelRegistry).models[model].artifact] + ([secret.artifact] if secret else [])
    for name in (*NAMES, None):
        may = not permissioned or (name is not None and rank(rt, model, name) >= 1)
        answer = rpc_predict(api, rt, name, model)
        expected = ("ConfidentialModel" if secret else dict) if may else "AccessDenied"
        assert (type(answer) if expected is dict else answer) == expected, (name, answer)
        who = None if name is None else rt.account(name)
        for root in roots:
            try:
                access_query.ensure_may_download_root(rt.runtime, who, root, rt.block_number)
                downloaded = True
            except QueryError:
                downloaded = False
            assert downloaded == may, name


@settings(max_examples=80, deadline=None)
@given(start=st.sampled_from((PUBLIC, PERMISSIONED)), initial=staff, steps=st.lists(ops, max_size=30))
def test_access_never_leaks_to_accounts_without_the_role(start, initial, steps):
    rt = build_runtime("ModelRegistry", "Access")
    model = register(rt)
    sealed = {name: upload_sealed(rt, name, KEYS[name]) for name in NAMES}
    rt.call("alice", "Access.set_policy", model=model, visibility=start, training=OPEN)
    for name, role, offset in [("bob", ADMIN, None), *initial]:
        expires = None if offset is None else rt.block_number + offset
        rt.call("alice", "Access.grant", model=model, who=rt.account(name), role=role, expires_at=expires)
    for op in steps:
        caller_rank = rank(rt, model, op[1]) if len(op) > 1 else 0
        target = op[2] if op[0] in ("grant", "revoke") else None
        target_role = live_role(rt, model, target) if target else None
        outcome = apply(rt, model, op, sealed)
        if outcome is not None:
            event(f"{op[0]}: {'ok' if outcome[1].ok else type(outcome[1].error).__name__}")
            check_management(rt, model, op, caller_rank, target_role, outcome[1])
        check_reads(rt, model)
    rt.check_invariants()
