"""Weights artifacts and deltas: exact layout, canonical round trips, and refusal of malformed bytes."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmu.models import (
    SCALE,
    IncompatibleWeights,
    InputSpec,
    MalformedDelta,
    MalformedWeights,
    Weights,
    apply_delta,
    decode_delta,
    diff,
    encode_delta,
    get_kind,
    read_header,
)
from cmu.models.codec import _HEADER

SPEC = InputSpec(5, False, -2 * SCALE, 2 * SCALE)
COUNTS = InputSpec(5, False, 0, 2 * SCALE)


def trained(name: str = "dense_perceptron") -> Weights:
    kind = get_kind(name)
    spec = COUNTS if name == "naive_bayes" else SPEC
    rows = np.random.default_rng(3).integers(spec.min_value, spec.max_value, (40, 5))
    return kind.train(kind.init_weights(spec, 3), rows, [i % 3 for i in range(40)])


def test_artifact_layout_is_header_params_flat() -> None:
    w = trained()
    blob = get_kind("dense_perceptron").encode(w)
    assert _HEADER.size == 78
    assert len(blob) == 78 + 8 * 1 + 8 * 3 * 6
    assert blob[:4] == b"CMUW" and blob[6:22].rstrip(b"\0") == b"dense_perceptron"
    assert np.array_equal(np.frombuffer(blob[86:], "<i8"), w.flat)
    header = read_header(blob)
    assert (header.kind, header.spec, header.n_labels, header.n_flat) == ("dense_perceptron", SPEC, 3, 18)


def test_decode_fails_when_truncated_or_extended() -> None:
    kind = get_kind("dense_perceptron")
    blob = kind.encode(trained())
    for bad in (blob[:-1], blob[:50], blob[:80], b"", blob + b"\0"):
        with pytest.raises(MalformedWeights):
            kind.decode(bad, SPEC, 3)


def patched(blob: bytes, offset: int, fmt: str, value: object) -> bytes:
    out = bytearray(blob)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


@pytest.mark.parametrize(("offset", "fmt", "value", "match"), [
    (0, "<4s", b"XXXX", "magic"), (4, "<H", 2, "magic"), (6, "<32s", b"dense_perceptron\0x", "kind"),
    (6, "<32s", b"Dense_perceptron", "kind"), (38, "<B", 15, "scale"), (39, "<B", 2, "sparse"),
    (40, "<I", 4, "expected"), (44, "<I", 6, "expected"), (52, "<q", -SCALE, "expected"),
    (52, "<q", 3 * SCALE, "min_value"),
    (68, "<H", 2, "parameters|long"), (70, "<Q", 17, "long"), (78, "<q", 0, "weight_bound"),
    (40, "<I", 1, "n_labels"), (44, "<I", 0, "n_features"),
])
def test_decode_fails_on_wrong_header(offset: int, fmt: str, value: object, match: str) -> None:
    kind = get_kind("dense_perceptron")
    blob = patched(kind.encode(trained()), offset, fmt, value)
    with pytest.raises(MalformedWeights, match=match):
        kind.decode(blob, SPEC, 3)


def test_decode_fails_on_other_kind_spec_or_labels() -> None:
    blob = get_kind("dense_perceptron").encode(trained())
    with pytest.raises(MalformedWeights, match="expected"):
        get_kind("nearest_centroid").decode(blob, SPEC, 3)
    with pytest.raises(MalformedWeights, match="expected"):
        get_kind("dense_perceptron").decode(blob, InputSpec(5, False, -SCALE, 2 * SCALE), 3)
    with pytest.raises(MalformedWeights, match="expected"):
        get_kind("dense_perceptron").decode(blob, SPEC, 4)


@pytest.mark.parametrize(("name", "word", "value", "match"), [
    ("dense_perceptron", 4, 2**62, "outside"),
    ("naive_bayes", 0, -1, "negative"),
    ("naive_bayes", 3, 5, "sum"),
    ("naive_bayes", 8, 1, "sum"),
    ("nearest_centroid", 0, 0, "sum|outside"),
    ("nearest_centroid", 5, 2**40, "outside"),
])
def test_decode_fails_when_weights_break_their_bounds(name: str, word: int, value: int, match: str) -> None:
    kind = get_kind(name)
    w = trained(name)
    blob = kind.encode(w)
    bad = patched(blob, len(blob) - 8 * w.flat.size + 8 * word, "<q", value)
    with pytest.raises(MalformedWeights, match=match):
        kind.decode(bad, w.spec, 3)


def test_decode_fails_on_non_bytes() -> None:
    with pytest.raises(MalformedWeights):
        get_kind("dense_perceptron").decode("text", SPEC, 3)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-(2**40), 2**40), min_size=18, max_size=18))
def test_encode_decode_roundtrip_for_any_in_bound_weights(values: list[int]) -> None:
    kind = get_kind("dense_perceptron")
    base = kind.init_weights(SPEC, 3)
    w = apply_delta(base, np.arange(18, dtype=np.int64), np.array(values, dtype=np.int64))
    blob = kind.encode(kind.validate(w))
    assert kind.decode(blob, SPEC, 3) == w
    assert kind.encode(kind.decode(blob, SPEC, 3)) == blob


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(0, 17), st.integers(-(2**62), 2**62), max_size=18))
def test_diff_and_apply_delta_are_exact(changes: dict[int, int]) -> None:
    old = trained()
    idx = np.array(sorted(changes), dtype=np.int64)
    new = apply_delta(old, idx, np.array([changes[i] for i in sorted(changes)], dtype=np.int64))
    d_idx, d_vals = diff(old, new)
    assert apply_delta(old, d_idx, d_vals) == new
    assert set(d_idx.tolist()) == {i for i, v in changes.items() if old.flat[i] != v}
    back = decode_delta(encode_delta(d_idx, d_vals))
    assert np.array_equal(back[0], d_idx) and np.array_equal(back[1], d_vals)


def test_apply_delta_fails_on_malformed_deltas() -> None:
    w = trained()
    cases = [([2, 1], [0, 0]), ([1, 1], [0, 0]), ([-1], [0]), ([18], [0]), ([1, 2], [0])]
    for idx, vals in cases:
        with pytest.raises(MalformedDelta):
            apply_delta(w, np.array(idx, dtype=np.int64), np.array(vals, dtype=np.int64))
    with pytest.raises(MalformedDelta):
        apply_delta(w, np.array([1.0]), np.array([1], dtype=np.int64))  # type: ignore[arg-type]


def test_decode_delta_fails_on_malformed_bytes() -> None:
    blob = encode_delta(np.array([1, 5], dtype=np.int64), np.array([-3, 4], dtype=np.int64))
    assert len(blob) == 12 + 32
    swapped = blob[:12] + blob[20:28] + blob[12:20] + blob[28:]
    bad = [blob[:-1], blob + b"\0", b"XXXX" + blob[4:], swapped, b""]
    for data in bad:
        with pytest.raises(MalformedDelta):
            decode_delta(data)


def test_diff_fails_on_incompatible_weights() -> None:
    with pytest.raises(IncompatibleWeights):
        diff(trained("dense_perceptron"), trained("nearest_centroid"))


def test_validate_refuses_out_of_bound_results_of_untrusted_deltas() -> None:
    w = trained()
    bad = apply_delta(w, np.array([0], dtype=np.int64), np.array([2**62], dtype=np.int64))
    with pytest.raises(MalformedWeights):
        get_kind("dense_perceptron").validate(bad)
