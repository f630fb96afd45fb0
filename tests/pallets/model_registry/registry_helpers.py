"""Shared helpers of the ModelRegistry tests: specs per kind, weights bytes, register and upload shortcuts,
deterministic test bytes and balance probes. Imported as `from registry_helpers import ...`."""

from __future__ import annotations

import random
from typing import Any

from cmu import models
from cmu.formats import artifact as art
from pallets.balances import Balances
from pallets.model_registry import ModelRegistry
from pallets.model_registry.pallet import UPLOAD_REASON
from pallets.model_registry.types import InputSpec
from runtime.testing import CallResult, MockRuntime, assert_ok

SCALE = models.SCALE
REG = "ModelRegistry"
CHUNK = art.CHUNK_SIZE
PER_BYTE = ModelRegistry.DEPOSIT_PER_BYTE
ED = Balances.EXISTENTIAL_DEPOSIT
LABELS = ("cat", "dog", "eel")

#: A valid chain input spec per built-in kind (naive Bayes takes non-negative counts).
SPECS: dict[str, InputSpec] = {
    "dense_perceptron": InputSpec(4, False, -8 * SCALE, 8 * SCALE),
    "sparse_perceptron": InputSpec(12, True, 0, 4 * SCALE, 6),
    "naive_bayes": InputSpec(5, False, 0, 10 * SCALE),
    "nearest_centroid": InputSpec(4, False, -8 * SCALE, 8 * SCALE),
}
KIND_NAMES = tuple(SPECS)
DENSE = SPECS["dense_perceptron"]


def kind_spec(spec: InputSpec) -> models.InputSpec:
    """The models package's InputSpec for a chain one."""
    return models.InputSpec(spec.n_features, spec.sparse, spec.min_value, spec.max_value, spec.max_nonzeros)


def initial_weights(kind: str, spec: InputSpec | None = None, labels: tuple[str, ...] = LABELS) -> Any:
    """A kind's fresh weights (what register stores when given no artifact)."""
    k = models.get_kind(kind)
    return k.init_weights(kind_spec(spec or SPECS[kind]), len(labels))


def initial_bytes(kind: str, spec: InputSpec | None = None, labels: tuple[str, ...] = LABELS) -> bytes:
    """kind.encode(kind.init_weights(...)): the artifact register stores when given none."""
    return bytes(models.get_kind(kind).encode(initial_weights(kind, spec, labels)))


def training_rows(kind: str, n: int = 24, seed: int = 7) -> tuple[list[Any], list[int]]:
    """Deterministic real-valued rows and labels inside SPECS[kind] (a learnable rule)."""
    spec = SPECS[kind]
    gen = random.Random(seed)
    rows: list[Any] = []
    labels: list[int] = []
    for i in range(n):
        label = i % len(LABELS)
        if spec.sparse:
            rows.append(sorted(gen.sample(range(label * 4, label * 4 + 4), 2)))
        else:
            lo = 0.0 if spec.min_value >= 0 else -4.0
            row = [round(gen.uniform(lo, 4.0), 2) for _ in range(spec.n_features)]
            row[label] = 7.5
            rows.append(row)
        labels.append(label)
    return rows, labels


def trained_weights(kind: str) -> Any:
    """Weights of `kind` trained on training_rows(kind) (differ from the initial ones)."""
    k = models.get_kind(kind)
    rows, labels = training_rows(kind)
    spec = kind_spec(SPECS[kind])
    return k.train(initial_weights(kind), k.quantize(rows, spec), labels)


def trained_bytes(kind: str) -> bytes:
    """The artifact of trained_weights(kind)."""
    return bytes(models.get_kind(kind).encode(trained_weights(kind)))


def random_bytes(n: int, seed: int = 1) -> bytes:
    """n deterministic pseudo-random bytes (distinct chunks for distinct seeds)."""
    return random.Random(seed).randbytes(n)


# --- calls -----------------------------------------------------------------------------------------


def register(
    rt: MockRuntime,
    who: str = "alice",
    *,
    kind: str = "dense_perceptron",
    spec: InputSpec | None = None,
    labels: tuple[str, ...] = LABELS,
    artifact: bytes | None = None,
    name: str = "iris",
    description: str = "a test model",
    task: str = "classification",
    license: str = "MIT",
) -> CallResult:
    """ModelRegistry.register with defaults for everything but what a test cares about."""
    return rt.call(
        who,
        f"{REG}.register",
        name=name,
        description=description,
        task=task,
        kind=kind,
        input_spec=SPECS[kind] if spec is None else spec,
        labels=labels,
        license=license,
        artifact=artifact,
    )


def register_ok(rt: MockRuntime, who: str = "alice", **kwargs: Any) -> int:
    """Register and return the new model id."""
    result = register(rt, who, **kwargs)
    assert_ok(result)
    event = result.events[-1]
    assert isinstance(event, ModelRegistry.ModelRegistered)
    return int(event.model)


def begin(rt: MockRuntime, who: str, data: bytes, *, root: bytes | None = None) -> int:
    """begin_upload for `data` (its own root unless given); returns the upload id."""
    result = rt.call(
        who, f"{REG}.begin_upload", root=art.artifact_root(data) if root is None else root, size=len(data)
    )
    assert_ok(result)
    event = result.events[-1]
    assert isinstance(event, ModelRegistry.UploadStarted)
    return int(event.upload)


def send_chunks(rt: MockRuntime, who: str, upload: int, data: bytes, order: list[int] | None = None) -> None:
    """upload_chunk for every chunk of `data` (in `order` if given)."""
    pieces = art.split_chunks(data)
    for index in range(len(pieces)) if order is None else order:
        assert_ok(rt.call(who, f"{REG}.upload_chunk", upload=upload, index=index, data=pieces[index]))


def upload(rt: MockRuntime, who: str, data: bytes) -> bytes:
    """Upload `data` over several calls (begin, chunks last-first, finish); returns its root."""
    upload_id = begin(rt, who, data)
    send_chunks(rt, who, upload_id, data, list(reversed(range(art.chunk_count(len(data))))))
    assert_ok(rt.call(who, f"{REG}.finish_upload", upload=upload_id))
    return art.artifact_root(data)


def fund(rt: MockRuntime, name: str, amount: int) -> None:
    """Give a fresh (non-dev) account exactly `amount` free balance."""
    assert_ok(rt.call("root", "Balances.force_set_balance", who=rt.account(name), new_free=amount))


# --- observing -------------------------------------------------------------------------------------


def registry(rt: MockRuntime) -> ModelRegistry:
    """The runtime's registry pallet."""
    reg: ModelRegistry = rt.pallet(ModelRegistry)
    return reg


def held(rt: MockRuntime, who: str) -> int:
    """What `who` has held under the registry's upload reason."""
    return rt.balances.held_balance(rt.account(who), UPLOAD_REASON)


def stored_bytes(rt: MockRuntime, root: bytes) -> bytes:
    """The bytes of a stored artifact, read back chunk by chunk."""
    return registry(rt).artifact_bytes(root)


def error_message(result: CallResult) -> str:
    """The message of the error a call raised."""
    assert result.error is not None, f"{result.name} succeeded"
    return str(result.error)


__all__ = [
    "CHUNK",
    "DENSE",
    "ED",
    "KIND_NAMES",
    "LABELS",
    "PER_BYTE",
    "REG",
    "SCALE",
    "SPECS",
    "begin",
    "error_message",
    "fund",
    "held",
    "initial_bytes",
    "initial_weights",
    "kind_spec",
    "random_bytes",
    "register",
    "register_ok",
    "registry",
    "send_chunks",
    "stored_bytes",
    "trained_bytes",
    "trained_weights",
    "training_rows",
    "upload",
]
