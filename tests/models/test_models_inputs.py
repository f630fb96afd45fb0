"""Bad input is refused with a typed error that names the problem: rows, labels, specs and parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cmu.models import (
    SCALE,
    BadLabel,
    BadParams,
    BadSpec,
    IndexOutOfRange,
    InputSpec,
    ModelError,
    NegativeCount,
    NotFinite,
    OutOfRange,
    SparseRow,
    TooManyNonZeros,
    UnsortedIndices,
    WrongFeatureCount,
    WrongType,
    get_kind,
    quantize,
    validate_fixed,
)

DENSE = InputSpec(3, False, -4 * SCALE, 4 * SCALE)
COUNTS = InputSpec(3, False, 0, 10 * SCALE)
SPARSE = InputSpec(50, True, 0, 5 * SCALE, max_nonzeros=4)


def test_quantize_works_and_rounds_half_to_even() -> None:
    q = quantize([[1.0, -0.5, 3 / SCALE / 2], [0, 2, 4]], DENSE)
    assert q.tolist() == [[SCALE, -SCALE // 2, 2], [0, 2 * SCALE, 4 * SCALE]]  # type: ignore[union-attr]
    assert quantize(np.float32([[0.25, 0, 0]]), DENSE).tolist() == [[SCALE // 4, 0, 0]]  # type: ignore[union-attr]


def test_empty_batches_give_empty_results() -> None:
    for name, spec in (("dense_perceptron", DENSE), ("naive_bayes", COUNTS), ("nearest_centroid", DENSE),
                       ("sparse_perceptron", SPARSE)):
        kind = get_kind(name)
        labels, scores = kind.predict(kind.init_weights(spec, 2), [])
        assert labels.shape == (0,) and scores.shape == (0, 2)


def test_quantize_sparse_sums_repeats_and_sorts() -> None:
    rows = quantize([[7, 3, 7], {9: 2.5, 1: 1}, []], SPARSE)
    assert rows == (SparseRow(np.array([3, 7]), np.array([SCALE, 2 * SCALE])),
                    SparseRow(np.array([1, 9]), np.array([SCALE, 5 * SCALE // 2])),
                    SparseRow(np.zeros(0, np.int64), np.zeros(0, np.int64)))


@pytest.mark.parametrize("rows", [[[1.0, 2.0]], [[1.0, 2.0, 3.0, 4.0]], [[1.0, 2.0, 3.0], [1.0]]])
def test_quantize_fails_when_feature_count_is_wrong(rows: object) -> None:
    with pytest.raises(WrongFeatureCount, match=r"features|lengths"):
        quantize(rows, DENSE)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_quantize_fails_when_not_finite(bad: float) -> None:
    with pytest.raises(NotFinite, match="row 1, feature 2"):
        quantize([[0.0, 0.0, 0.0], [0.0, 0.0, bad]], DENSE)


@pytest.mark.parametrize("bad", [4.00001, -5, 1e300, 2**70])
def test_quantize_fails_when_out_of_range(bad: float) -> None:
    with pytest.raises(OutOfRange, match="outside"):
        quantize([[0, bad, 0]], DENSE)


def test_fixed_rows_fail_when_out_of_range() -> None:
    with pytest.raises(OutOfRange):
        validate_fixed([[0, 4 * SCALE + 1, 0]], DENSE)
    with pytest.raises(OutOfRange):
        validate_fixed(np.array([[0, 2**63, 0]], dtype=np.uint64), DENSE)
    with pytest.raises(OutOfRange):
        validate_fixed([[0, 2**80, 0]], DENSE)


def test_naive_bayes_fails_on_negative_counts() -> None:
    nb = get_kind("naive_bayes")
    w = nb.init_weights(COUNTS, 2)
    with pytest.raises(NegativeCount, match="negative"):
        nb.quantize([[1, -1, 0]], COUNTS)
    with pytest.raises(NegativeCount):
        nb.predict(w, [[0, -SCALE, 0]])
    with pytest.raises(NegativeCount):
        nb.update(w, [0, 0, -1], 0)
    sparse = InputSpec(50, True, -5 * SCALE, 5 * SCALE)
    with pytest.raises(NegativeCount):
        quantize([{3: -1.0}], sparse, counts=True)
    with pytest.raises(BadSpec, match="counts"):
        nb.init_weights(sparse, 2)


@pytest.mark.parametrize("row", [[-1], [50], [3, 2**40]])
def test_sparse_fails_when_index_out_of_range(row: list[int]) -> None:
    with pytest.raises(IndexOutOfRange, match="feature index"):
        quantize([row], SPARSE)
    with pytest.raises(IndexOutOfRange):
        validate_fixed([(row, [SCALE] * len(row))], SPARSE)


def test_sparse_fails_when_too_many_nonzeros() -> None:
    with pytest.raises(TooManyNonZeros, match="5 non-zero"):
        quantize([[1, 2, 3, 4, 5]], SPARSE)
    assert quantize([[1, 2, 3, 4, 4]], SPARSE)[0].nnz == 4  # type: ignore[union-attr]


def test_sparse_value_range_applies_to_repeat_counts() -> None:
    with pytest.raises(OutOfRange):
        quantize([[1] * 6], SPARSE)


def test_fixed_sparse_fails_when_indices_unsorted_or_repeated() -> None:
    for idx in ([3, 1], [2, 2]):
        with pytest.raises(UnsortedIndices, match="strictly increasing"):
            validate_fixed([(idx, [SCALE, SCALE])], SPARSE)


@pytest.mark.parametrize("rows", [
    [["a", 1, 2]], [[None, 1, 2]], np.array([[True, False, True]]), "abc", 7, [1.0, 2.0, 3.0],
    [[1 + 2j, 0, 0]],
])
def test_quantize_fails_on_wrong_types(rows: object) -> None:
    with pytest.raises(WrongType):
        quantize(rows, DENSE)


@pytest.mark.parametrize("rows", [[[1.5, 2]], [["x"]], [[1.5]], [{1: "a"}], [{"a": 1}], [{1.0: 1}],
                                  [(1.0, 2.0)], [[True]], [7], "ab"])
def test_sparse_fails_on_wrong_types(rows: object) -> None:
    with pytest.raises(WrongType):
        quantize(rows, SPARSE)


def test_fixed_rows_must_be_integers() -> None:
    kind = get_kind("dense_perceptron")
    w = kind.init_weights(DENSE, 2)
    with pytest.raises(WrongType, match="fixed point"):
        kind.predict(w, [[0.5, 0.0, 0.0]])
    with pytest.raises(WrongType):
        validate_fixed([([1, 2], [1.5, 2.0])], SPARSE)
    with pytest.raises(WrongType):
        validate_fixed([{1: 0.5}], SPARSE)


@pytest.mark.parametrize("label", [2, -1, True, "1", 1.0, None])
def test_update_fails_on_bad_label(label: object) -> None:
    kind = get_kind("nearest_centroid")
    w = kind.init_weights(DENSE, 2)
    with pytest.raises(BadLabel):
        kind.update(w, [0, 0, 0], label)  # type: ignore[arg-type]


def test_train_fails_when_labels_do_not_match_rows() -> None:
    kind = get_kind("naive_bayes")
    w = kind.init_weights(COUNTS, 2)
    with pytest.raises(BadLabel, match="2 labels for 1 rows"):
        kind.train(w, [[1, 1, 1]], [0, 1])
    with pytest.raises(BadLabel):
        kind.train(w, [[1, 1, 1]], "0")


@pytest.mark.parametrize("args", [
    (0, False, 0, 1), (3, False, 1, 1), (3, False, 0, 2**48), (3, "no", 0, 1), (3, False, 0.0, 1),
    (3, False, 0, 1, 2), (3, True, 0, 1, 4),
])
def test_input_spec_fails_when_out_of_limits(args: tuple[object, ...]) -> None:
    with pytest.raises(BadSpec):
        InputSpec(*args)  # type: ignore[arg-type]


def test_kinds_refuse_specs_they_cannot_bound() -> None:
    huge = InputSpec(2**24, False, -(2**47), 2**47)
    with pytest.raises(BadSpec, match="2\\*\\*62"):
        get_kind("dense_perceptron").init_weights(huge, 2)
    with pytest.raises(BadSpec, match="2\\*\\*62"):
        get_kind("nearest_centroid").init_weights(huge, 2)
    with pytest.raises(BadSpec, match="2\\*\\*62"):
        get_kind("naive_bayes").init_weights(InputSpec(2**24, False, 0, 2**47), 2)
    with pytest.raises(BadSpec, match="sparse"):
        get_kind("nearest_centroid").init_weights(SPARSE, 2)
    with pytest.raises(BadSpec, match="dense"):
        get_kind("sparse_perceptron").init_weights(DENSE, 2)
    with pytest.raises(BadSpec, match="n_labels"):
        get_kind("dense_perceptron").init_weights(DENSE, 1)
    with pytest.raises(BadSpec, match="exceeds"):
        get_kind("sparse_perceptron").init_weights(InputSpec(2**24, True, 0, SCALE, 10), 2**5)


@pytest.mark.parametrize(("name", "params"), [
    ("dense_perceptron", {"weight_bound": 0}), ("dense_perceptron", {"weight_bound": 2**62}),
    ("dense_perceptron", {"lr": 1}), ("dense_perceptron", {"weight_bound": True}),
    ("naive_bayes", {"alpha_num": 0}), ("naive_bayes", {"alpha_den": 2**17}),
    ("naive_bayes", {"count_bound": 2**62}), ("naive_bayes", {"example_bound": 2**47}),
    ("nearest_centroid", {"count_bound": 0}), ("nearest_centroid", {"count_bound": 2**41}),
])
def test_init_weights_fails_on_bad_params(name: str, params: dict[str, int]) -> None:
    spec = COUNTS if name == "naive_bayes" else DENSE
    with pytest.raises(BadParams):
        get_kind(name).init_weights(spec, 2, params)


def test_every_error_is_a_model_error() -> None:
    for err in (WrongFeatureCount, NotFinite, OutOfRange, NegativeCount, IndexOutOfRange, BadLabel,
                WrongType, BadSpec, BadParams, UnsortedIndices, TooManyNonZeros):
        assert issubclass(err, ModelError)


def test_prepare_rows_takes_json_shaped_fixed_rows() -> None:
    kind = get_kind("sparse_perceptron")
    rows = kind.prepare_rows([[1, 3, 3], {"7": 2 * SCALE, 2: SCALE}, [[4, 5], [SCALE, 3]], {}], SPARSE)
    assert rows == (SparseRow(np.array([1, 3]), np.array([SCALE, 2 * SCALE])),
                    SparseRow(np.array([2, 7]), np.array([SCALE, 2 * SCALE])),
                    SparseRow(np.array([4, 5]), np.array([SCALE, 3])),
                    SparseRow(np.zeros(0, np.int64), np.zeros(0, np.int64)))
    with pytest.raises(WrongType):
        kind.prepare_rows([{"07": SCALE}], SPARSE)
    with pytest.raises(WrongType):
        kind.prepare_rows([{"1": 0.5}], SPARSE)
    dense = get_kind("dense_perceptron")
    assert dense.prepare_rows([[1, 2, 3]], DENSE).tolist() == [[1, 2, 3]]  # type: ignore[union-attr]


def test_base_module_exposes_the_registry() -> None:
    from cmu.models import base

    assert base.KINDS is get_kind.__globals__["KINDS"]
    assert base.get_kind("naive_bayes") is get_kind("naive_bayes")
    with pytest.raises(AttributeError):
        _ = base.no_such_name
