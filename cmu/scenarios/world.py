"""What agents see and do: the simulated clock, the chain's read views (balances, predictions, the
deposit a contribution would need now), the event ledger, and `submit`, which signs a real extrinsic and
hands it to the node's validator and pool. Agents never write storage.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from cmu.scenarios.chain import OnResult, SimChain, Submitted
from cmu.scenarios.data import Dataset
from cmu.scenarios.ledger import Ledger

if TYPE_CHECKING:
    from cmu.scenarios.agents.base import Agent

GENESIS_MS = 1_700_000_000_000


@dataclasses.dataclass(frozen=True)
class Incentives:
    """The model's training configuration (amounts in smallest units, waits in seconds)."""

    mechanism: str = "Stake"
    cost_weight: int = 0
    refund_wait: int = 86_400
    owner_claim_wait: int = 8 * 86_400
    any_claim_wait: int = 9 * 86_400
    batch_limit: int = 32


class World:
    """The shared state of one run, as the agents may see it."""

    def __init__(self, chain: SimChain, data: Dataset, kind: str, incentives: Incentives) -> None:
        self.chain = chain
        self.data = data
        self.kind = kind
        self.incentives = incentives
        self.ledger = Ledger()
        self.now = 0
        self.model: int | None = None
        self.agents: list[Agent] = []
        self._model_cache: tuple[bytes, Any, Any] | None = None

    # --- time --------------------------------------------------------------------------------------

    @staticmethod
    def timestamp_ms(seconds: int) -> int:
        """The block timestamp (ms) of simulated second `seconds`."""
        return GENESIS_MS + seconds * 1_000

    # --- acting ------------------------------------------------------------------------------------

    def submit(self, agent: Agent, name: str, /, on_result: OnResult | None = None,
               **kwargs: Any) -> Submitted:
        """Sign `Pallet.call(**kwargs)` with the agent's key and submit it to the pool."""
        outcome = self.chain.submit(agent.keypair, name, on_result=on_result, **kwargs)
        agent.submitted += 1
        if not outcome.accepted:
            agent.refused += 1
        return outcome

    # --- reading -----------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """The model exists and training is configured (contributors may start)."""
        return self.model is not None and self.training_config() is not None

    def training_config(self) -> Any | None:
        """The Training pallet's configuration of the model, if set."""
        rt = self.chain.runtime
        if self.model is None or not rt.has_pallet("Training"):
            return None
        return rt.pallet_by_name("Training").configs.get(self.model)  # type: ignore[attr-defined]

    def predict(self, rows: Sequence[Sequence[int]]) -> list[int]:
        """Labels the chain's current model (its latest version) gives `rows` (fixed-point chain rows),
        computed by the model kind the chain runs on the weights the chain stores."""
        if self.model is None or not rows:
            return []
        kind, weights = self._current_model()
        labels, _scores = kind.predict(weights, kind.prepare_rows([list(r) for r in rows], weights.spec))
        return [int(v) for v in labels]

    def _current_model(self) -> tuple[Any, Any]:
        """(kind, weights) of the model at the head, cached per head block."""
        rt = self.chain.runtime
        head = rt.head.hash()
        if self._model_cache is not None and self._model_cache[0] == head:
            return self._model_cache[1], self._model_cache[2]
        from cmu.node.rpc_views import model_registry as query

        info = query.model_info(rt, self.model or 0)
        if rt.has_pallet("Versioning"):
            versioning: Any = rt.pallet_by_name("Versioning")
            kind = rt.pallet_by_name("ModelRegistry").kind(info.kind)  # type: ignore[attr-defined]
            weights = versioning.weights_at(self.model, versioning.latest(self.model))
        else:
            kind, weights = query.load_weights(rt, info)
        self._model_cache = (head, kind, weights)
        return kind, weights

    def accuracy(self, rows: Sequence[Sequence[int]], labels: Sequence[int]) -> float:
        """The share of `rows` the current model labels as `labels` (0.0 with no model)."""
        predicted = self.predict(rows)
        if not predicted:
            return 0.0
        return int(np.sum(np.asarray(predicted) == np.asarray(labels))) / len(labels)

    def agrees(self, features: Sequence[int], label: int) -> bool:
        """Whether the current model predicts `label` for one row."""
        return self.predict([features]) == [label]

    def seconds_since_update(self) -> int:
        """Whole seconds from the model's last update to now (as the deposit rule counts them)."""
        rt = self.chain.runtime
        if self.model is None or not rt.has_pallet("Training"):
            return 0
        last_ms = rt.pallet_by_name("Training").last_update.get(self.model)  # type: ignore[attr-defined]
        if last_ms is None:
            return 1 << 40
        return max(0, self.timestamp_ms(self.now) - int(last_ms)) // 1_000

    def deposit_now(self) -> int:
        """The deposit a contribution would hold if it were included at the current second (the
        Training pallet's own deposit_at, read at the head as training_depositFor does)."""
        rt = self.chain.runtime
        if self.model is None or not self.ready:
            return 0
        training: Any = rt.pallet_by_name("Training")
        return int(training.deposit_at(self.model, self.timestamp_ms(self.now)))

    def wait_for_deposit(self, most: int) -> int:
        """Seconds from now until a contribution's deposit is at most `most` (0: already)."""
        cost = self.incentives.cost_weight * 3_600
        if self.incentives.mechanism != "Stake":
            return 0  # no deposit under Points or Trainers
        if most <= 0 or cost // max(1, math.isqrt(self.seconds_since_update())) <= most:
            return 0
        # smallest s with cost // isqrt(s) <= most: isqrt(s) >= cost // (most + 1) + 1
        root = cost // (most + 1) + 1
        return max(0, root * root - self.seconds_since_update())

    def balance(self, agent: Agent) -> int:
        """An agent's free plus held balance."""
        return self.chain.total_balance(agent.keypair.account)

    def free(self, agent: Agent) -> int:
        """An agent's free balance."""
        return self.chain.free_balance(agent.keypair.account)
