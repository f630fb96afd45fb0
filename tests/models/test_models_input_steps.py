"""A model's input step: the scaling step's exact integer formula, text and numeric rows kept apart, and
the combinations a ModelInput refuses."""

from __future__ import annotations

import numpy as np
import pytest

from cmu.models import SCALE, BadSpec, InputSpec, OutOfRange, get_kind
from cmu.models.inputs import ModelInput, TextForNumericModel
from cmu.models.scaling import Scaling
from cmu.models.text import NotText, TextFeaturizer

DENSE = InputSpec(3, False, -8 * SCALE, 8 * SCALE)
SCALING = Scaling((2**32 // 3, -(2**31), 5 * 2**32), (SCALE, 0, -3 * SCALE))


def test_scaling_applies_the_documented_formula_exactly() -> None:
    rows = np.array([[3 * SCALE, 2 * SCALE, SCALE], [-7, 1, 0]], dtype=np.int64)
    expected = [[((int(x) * m + 2**31) >> 32) + a for x, m, a in zip(r, SCALING.mult_q32, SCALING.add_q16,
                                                                       strict=True)] for r in rows.tolist()]
    assert SCALING.apply(rows).tolist() == expected
    assert expected[0] == [2 * SCALE, -SCALE, 2 * SCALE]


def test_scaled_rows_are_checked_against_the_kinds_range() -> None:
    inputs, kind = ModelInput(DENSE, scaling=SCALING), get_kind("dense_perceptron")
    assert inputs.rows(kind, [[3.0, 2.0, 1.0]], fixed=False).tolist() == [[2 * SCALE, -SCALE, 2 * SCALE]]
    with pytest.raises(OutOfRange):
        inputs.rows(kind, [[0.0, 0.0, 10.0]], fixed=False)  # 5 * 10 - 3 = 47 > 8 after scaling


def test_text_and_numbers_are_kept_apart() -> None:
    kind = get_kind("sparse_perceptron")
    text = ModelInput(InputSpec(64, True, -SCALE, SCALE), text=TextFeaturizer(64))
    assert text.rows(kind, ["a great movie"], fixed=False)[0].nnz == 2
    with pytest.raises(NotText):
        text.rows(kind, [[1, 2]], fixed=False)
    with pytest.raises(TextForNumericModel):
        ModelInput(DENSE).rows(get_kind("dense_perceptron"), ["a great movie"], fixed=False)


@pytest.mark.parametrize("make", [
    lambda: ModelInput(InputSpec(64, True, -SCALE, SCALE), TextFeaturizer(64), Scaling((1,), (0,))),
    lambda: ModelInput(DENSE, text=TextFeaturizer(3)),
    lambda: ModelInput(InputSpec(64, True, -SCALE, SCALE), text=TextFeaturizer(32)),
    lambda: ModelInput(DENSE, scaling=Scaling((1, 1), (0, 0))),
    lambda: Scaling((1 << 63,), (0,)),
    lambda: Scaling((), ()),
])
def test_bad_input_steps_are_refused(make: object) -> None:
    with pytest.raises(BadSpec):
        make()  # type: ignore[operator]
