"""The --rpc-* limit flags reach RpcLimits (in process): every flag, its default, and refusals."""

from __future__ import annotations

import pytest

from cmu.node.config import ConfigError, allow_unsafe
from cmu.node.server import RpcLimits
from node import build_parser, node_config


def limits_of(*flags: str) -> RpcLimits:
    return node_config(build_parser().parse_args(["--dev", *flags])).rpc_limits


def test_defaults_are_rpc_limits_defaults() -> None:
    assert limits_of() == RpcLimits()


def test_every_limit_flag_sets_its_field() -> None:
    limits = limits_of(
        "--rpc-max-request-bytes=1000",
        "--rpc-max-ws-message-bytes=2000",
        "--rpc-max-json-depth=8",
        "--rpc-max-batch-request-len=3",
        "--rpc-max-connections=4",
        "--rpc-max-http-connections=5",
        "--rpc-max-connections-per-ip=6",
        "--rpc-max-subscriptions-per-connection=7",
        "--rpc-header-timeout=1.5",
        "--rpc-body-timeout=2.5",
        "--rpc-idle-timeout=3.5",
        "--rpc-max-ws-queue=9",
        "--rpc-max-ws-queue-bytes=10",
    )
    assert limits == RpcLimits(
        max_body=1000,
        max_ws_message=2000,
        max_depth=8,
        max_batch=3,
        max_ws_connections=4,
        max_http_connections=5,
        max_per_address=6,
        max_subscriptions=7,
        header_timeout_s=1.5,
        body_timeout_s=2.5,
        idle_timeout_s=3.5,
        max_queued=9,
        max_queued_bytes=10,
    )


@pytest.mark.parametrize(
    "flag", ["--rpc-max-json-depth=0", "--rpc-header-timeout=-1", "--rpc-max-connections-per-ip=0"]
)
def test_limits_must_be_positive(flag: str) -> None:
    with pytest.raises(ConfigError, match="must be positive"):
        limits_of(flag)


def test_the_listen_address_decides_whether_unsafe_methods_are_served() -> None:
    assert (
        allow_unsafe("auto", "127.0.0.1")
        and allow_unsafe("auto", "127.0.0.2")
        and allow_unsafe("auto", "::1")
    )
    assert not allow_unsafe("auto", "0.0.0.0") and not allow_unsafe("auto", "192.168.1.10")
    assert allow_unsafe("unsafe", "0.0.0.0") and not allow_unsafe("safe", "127.0.0.1")
