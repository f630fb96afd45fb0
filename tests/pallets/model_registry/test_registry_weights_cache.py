"""The runtime's one weights cache (ModelRegistry.weights): version reads and the node's predictions
share it, each runtime has its own, and a hit must match the model's kind, inputs and labels."""

from __future__ import annotations

from registry_helpers import register_ok

from cmu.node.rpc_views import model_registry as view
from pallets.model_registry import ModelRegistry
from pallets.model_registry.weights import MAX_BYTES, WeightsCache
from pallets.versioning import Versioning
from runtime.testing import build_runtime


def test_weights_are_decoded_once_for_versions_and_predictions():
    rt = build_runtime("ModelRegistry", "Versioning")
    model = register_ok(rt)
    registry, info = rt.pallet(ModelRegistry), rt.pallet(ModelRegistry).model(model)
    spec = info.input_spec.to_models()
    assert registry.weights.get(info.artifact, info.kind, spec, len(info.labels)) is None
    first = rt.pallet(Versioning).weights_at(model, 0)
    assert registry.weights.get(info.artifact, info.kind, spec, len(info.labels)) is first
    assert rt.pallet(Versioning).weights_at(model, 0) is first
    assert view.load_weights(rt.runtime, info)[1] is first  # the node's reads use the same cache


def test_weights_cache_is_each_runtimes_own():
    one, other = build_runtime("ModelRegistry", "Versioning"), build_runtime("ModelRegistry", "Versioning")
    model = register_ok(one)
    register_ok(other)
    one.pallet(Versioning).weights_at(model, 0)
    assert len(one.pallet(ModelRegistry).weights) == 1
    assert len(other.pallet(ModelRegistry).weights) == 0


def test_weights_cache_misses_for_another_spec_or_label_count():
    rt = build_runtime("ModelRegistry", "Versioning")
    model = register_ok(rt)
    info = rt.pallet(ModelRegistry).model(model)
    weights = rt.pallet(Versioning).weights_at(model, 0)
    cache = WeightsCache()
    cache.put(info.artifact, weights)
    spec = info.input_spec.to_models()
    assert cache.get(info.artifact, info.kind, spec, len(info.labels)) is weights
    assert cache.get(info.artifact, info.kind, spec, len(info.labels) + 1) is None
    assert cache.get(info.artifact, "naive_bayes", spec, len(info.labels)) is None
    assert cache.nbytes == weights.flat.nbytes <= MAX_BYTES


def test_weights_cache_stays_within_its_byte_limit():
    rt = build_runtime("ModelRegistry", "Versioning")
    model = register_ok(rt)
    weights = rt.pallet(Versioning).weights_at(model, 0)
    cache = WeightsCache(max_entries=100, max_bytes=2 * weights.flat.nbytes)
    for n in range(5):
        cache.put(bytes([n]) * 32, weights)
    assert len(cache) == 2 and cache.nbytes == 2 * weights.flat.nbytes
