"""The `training_` JSON-RPC namespace: contributions of a model, what an account can get back, and the
deposit a contribution would hold. Read-only, no fee; a refused query is error 4000 like the model_ ones.
`at` of training_depositFor is a block time in ms (an integer) or a block hash (0x-hex: that block's
state and timestamp); left out, the best block."""

from __future__ import annotations

from typing import Any

from cmu.node.model_api import ModelApi, answer
from cmu.node.rpc import bad_params, method
from cmu.node.rpc_api import parse_account, parse_number
from cmu.node.rpc_views import training as query
from runtime.executive import Runtime


class TrainingApi:
    """The training_* methods; block-pinned reads go through the model API's historic views."""

    def __init__(self, head_runtime: Runtime, model_api: ModelApi) -> None:
        self.head_runtime = head_runtime
        self.model_api = model_api

    @method("training_contributions")
    def training_contributions(
        self, model: Any, who: Any = None, start: Any = 0, limit: Any = 50
    ) -> dict[str, Any]:
        """A model's contributions in id order (all, or one contributor's), paged."""
        model_id = parse_number(model, "model")
        account = None if who is None else parse_account(who)
        first, count = parse_number(start, "start"), parse_number(limit, "limit")
        return answer(lambda: query.contributions(self.head_runtime, model_id, account, first, count))

    @method("training_claimable")
    def training_claimable(self, who: Any) -> dict[str, Any]:
        """An account's open contributions that still hold a deposit: {"total", "contributions"}."""
        account = parse_account(who)
        return answer(lambda: query.claimable(self.head_runtime, account))

    @method("training_depositFor")
    def training_deposit_for(self, model: Any, at: Any = None) -> dict[str, Any]:
        """The deposit of one contribution to `model` at a block time (ms) or at a block (hash)."""
        model_id = parse_number(model, "model")
        if at is None or isinstance(at, str):
            rt = self.head_runtime if at is None else self.model_api._view(at)
            return answer(lambda: query.deposit_for(rt, model_id, rt.head.timestamp))
        if isinstance(at, bool) or not isinstance(at, int):
            raise bad_params("at must be a block time in ms or a 0x block hash")
        at_ms = parse_number(at, "at")
        return answer(lambda: query.deposit_for(self.head_runtime, model_id, at_ms))
