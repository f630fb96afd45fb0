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

from scenarios.chain import OnResult, SimChain, Submitted
from scenarios.data import Dataset
from scenarios.ledger import Ledger

if TYPE_CHECKING:
    from scenarios.agents.base import Agent

GENESIS_MS = 1_700_000_000_000
PREDICT_CHUNK = 1_024


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
        """Labels the chain's current model gives `rows` (fixed-point chain rows), as model_predict would."""
        if self.model is None or not rows:
            return []
        from pallets.model_registry import query

        out: list[int] = []
        for start in range(0, len(rows), PREDICT_CHUNK):
            batch = [list(r) for r in rows[start : start + PREDICT_CHUNK]]
            answer = query.predict(self.chain.runtime, self.model, batch, fixed=True)
            out.extend(int(p["label"]) for p in answer["predictions"])
        return out

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
        """The deposit a contribution would hold if it were included at the current second."""
        divisor = max(1, math.isqrt(self.seconds_since_update()))
        return self.incentives.cost_weight * 3_600 // divisor

    def wait_for_deposit(self, most: int) -> int:
        """Seconds from now until a contribution's deposit is at most `most` (0: already)."""
        cost = self.incentives.cost_weight * 3_600
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
