"""model_predict never ends in an unhandled exception: for every kind, arbitrary JSON-shaped rows give a
prediction or a QueryError that names the problem (the node turns it into RPC error 4000)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry_helpers import KIND_NAMES, register_ok

from cmu.node.rpc_views import model_registry as query
from runtime.testing import build_runtime

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=24,
)


@pytest.fixture(scope="module")
def chain() -> tuple[Any, dict[str, int]]:
    rt = build_runtime("ModelRegistry")
    ids = {kind: register_ok(rt, "alice", kind=kind) for kind in KIND_NAMES}
    rt.next_block()
    return rt, ids


@pytest.mark.parametrize("kind", KIND_NAMES)
@settings(max_examples=60, deadline=None)
@given(rows=_JSON, fixed=st.booleans())
def test_predict_answers_or_names_the_problem(chain: Any, kind: str, rows: Any, fixed: bool) -> None:
    rt, ids = chain
    try:
        answer = query.predict(rt.runtime, ids[kind], rows, fixed=fixed)
    except query.QueryError as exc:
        assert exc.error and str(exc)
        return
    assert all(0 <= p["label"] < 3 for p in answer["predictions"])
