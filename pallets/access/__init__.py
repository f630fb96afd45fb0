"""Access: per-model policies (Public or Permissioned; Open or Trainer-only training), roles with expiry
(Admin, Maintainer, Trainer, Reader; the Owner is implicit), one access check `can(who, model, action)`
also answering the `model_access` hook, paid Reader passes whose revenue owner and contributors claim, and
confidential models (encrypted weights, keys sealed per holder); the RPC's checks are node side, in
cmu/node/rpc_views/access.py."""

from pallets.access.pallet import Access

__all__ = ["Access"]
