"""Shared helpers of the Versioning tests: a small sparse perceptron model, uploads, real training deltas,
BLS keys, and a stand-in access pallet (TestMaintainers) that names extra Maintainers through the
`model_access` hook. Imported as `from versioning_helpers import ...`."""

from __future__ import annotations

import dataclasses
from typing import Any

from cmu import models
from cmu.formats import artifact as art
from pallets.model_registry import ModelRegistry
from pallets.model_registry.types import InputSpec
from pallets.versioning import Versioning
from runtime import bls
from runtime.pallet import Event, Origin, Pallet, call, hookimpl
from runtime.storage.items import StorageDoubleMap
from runtime.testing import CallResult, MockRuntime, assert_ok
from runtime.types import U32, AccountId

SCALE = models.SCALE
KIND = "sparse_perceptron"
LABELS = ("cat", "dog", "eel")
SPEC = InputSpec(12, True, 0, 4 * SCALE, 6)
V = "Versioning"
KSPEC = models.InputSpec(SPEC.n_features, SPEC.sparse, SPEC.min_value, SPEC.max_value, SPEC.max_nonzeros)


class TestMaintainers(Pallet):
    """Test stand-in for an access pallet: root names extra Maintainers of a model."""

    __test__ = False
    name, index = "TestMaintainers", 250
    maintainers: StorageDoubleMap[int, AccountId, bool] = StorageDoubleMap(
        U32, AccountId, bool, doc="Extra Maintainers per model."
    )

    @dataclasses.dataclass(frozen=True)
    class MaintainerAdded(Event):
        """Root named a Maintainer."""

        model: U32
        who: AccountId

    @call(index=0, weight=10_000, origin="root")
    def add_maintainer(self, origin: Origin, model: U32, who: AccountId) -> None:
        """Name `who` a Maintainer of `model`."""
        origin.ensure_root()
        self.maintainers[model, who] = True
        self.deposit_event(self.MaintainerAdded(model=model, who=who))

    @hookimpl
    def model_access(self, who: bytes | None, model: int, action: str) -> bool | None:
        """True for named Maintainers; None (the owner fallback) for everyone else."""
        if who is not None and (model, AccountId(who)) in self.maintainers:
            return True
        return None


def versioning(rt: MockRuntime) -> Versioning:
    """The runtime's Versioning pallet."""
    pallet: Versioning = rt.pallet(Versioning)
    return pallet


def kind() -> Any:
    """The sparse perceptron kind."""
    return models.get_kind(KIND)


def initial_weights() -> models.Weights:
    """The weights register stores when given no artifact."""
    weights: models.Weights = kind().init_weights(KSPEC, len(LABELS))
    return weights


def encode(weights: models.Weights) -> bytes:
    """Canonical artifact bytes."""
    return bytes(kind().encode(weights))


ROWS = [
    ([0, 1], [SCALE, SCALE]), ([4, 5], [SCALE, 2 * SCALE]), ([8, 9], [SCALE, SCALE]), ([1, 6], [SCALE, SCALE])
]


def training_step(weights: models.Weights, step: int) -> models.UpdateResult:
    """A real training step (kind.update) on a deterministic row; the delta is in its indices/values."""
    row = ROWS[step % len(ROWS)]
    result: models.UpdateResult = kind().update(weights, row, (step + 1) % len(LABELS))
    return result


def trained(steps: int, start: models.Weights | None = None) -> models.Weights:
    """Weights after `steps` training steps from `start` (the initial weights by default)."""
    weights = initial_weights() if start is None else start
    for step in range(steps):
        weights = training_step(weights, step).weights
    return weights


def register(rt: MockRuntime, who: str = "alice") -> int:
    """Register a sparse perceptron model with its initial weights; returns its id."""
    result = rt.call(
        who, "ModelRegistry.register", name="m", description="d", task="t", kind=KIND, input_spec=SPEC,
        labels=LABELS, license="MIT", artifact=None,
    )
    assert_ok(result)
    event = result.events[-1]
    assert isinstance(event, ModelRegistry.ModelRegistered)
    return int(event.model)


def upload(rt: MockRuntime, who: str, data: bytes) -> bytes:
    """Upload bytes as an artifact (begin, chunks, finish); returns the root."""
    root = art.artifact_root(data)
    result = rt.call(who, "ModelRegistry.begin_upload", root=root, size=len(data))
    assert_ok(result)
    upload_id = result.events[-1].upload  # type: ignore[attr-defined]
    for index, piece in enumerate(art.split_chunks(data)):
        assert_ok(rt.call(who, "ModelRegistry.upload_chunk", upload=upload_id, index=index, data=piece))
    assert_ok(rt.call(who, "ModelRegistry.finish_upload", upload=upload_id))
    return root


def publish(rt: MockRuntime, who: str, model: int, root: bytes, tag: str | None = None) -> CallResult:
    """Versioning.publish_version with no notes or metrics."""
    name = f"{V}.publish_version"
    return rt.call(who, name, model=model, artifact=root, tag=tag, notes_hash=None, metrics=[])


def publish_trained(rt: MockRuntime, model: int, steps: int, who: str = "alice") -> int:
    """Upload weights trained `steps` steps and publish them; returns the new version number."""
    data = encode(trained(steps))
    root = art.artifact_root(data)
    if root not in rt.pallet(ModelRegistry).artifacts:
        upload(rt, who, data)
    assert_ok(publish(rt, who, model, root))
    return versioning(rt).latest(model)


def bls_key(name: str) -> tuple[bytes, bytes, bytes]:
    """(secret key, public key, proof of possession) derived from a name."""
    sk = bls.keygen(name.encode().ljust(32, b"."))
    return sk, bls.public_key(sk), bls.pop_prove(sk)


def add_maintainer(rt: MockRuntime, model: int, name: str) -> None:
    """Name a Maintainer through the TestMaintainers pallet."""
    assert_ok(rt.call("root", "TestMaintainers.add_maintainer", model=model, who=rt.account(name)))


__all__ = [
    "KIND",
    "KSPEC",
    "LABELS",
    "ROWS",
    "SCALE",
    "SPEC",
    "TestMaintainers",
    "V",
    "add_maintainer",
    "bls_key",
    "encode",
    "initial_weights",
    "kind",
    "publish",
    "publish_trained",
    "register",
    "trained",
    "training_step",
    "upload",
    "versioning",
]
