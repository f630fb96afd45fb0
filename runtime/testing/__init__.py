"""Testing helpers for pallet authors: a mock runtime on the in-memory backend, assert_ok, assert_noop,
events, run_to_block, and a pytest plugin (registered through the pytest11 entry point) with fixtures."""

from runtime.testing.mock import CallResult, MockRuntime, assert_noop, assert_ok, build_runtime

__all__ = ["CallResult", "MockRuntime", "assert_noop", "assert_ok", "build_runtime"]
