"""`cmu dev ...`: development-chain helpers. `cmu dev warp 1d` moves a --dev node's block clock forward
(the dev_warp RPC) and authors a block at once, so refund and take windows can be tried in seconds."""

from __future__ import annotations

import argparse
import re
from typing import Any

from cmu.client.chain import Chain
from cmu.client.errors import ArgumentError
from cmu.client.output import Output, table, timestamp_text

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
MAX_WARP_S = 10 * 365 * 86_400
"""The node's limit for one warp (ten years)."""
_DURATION = re.compile(r"(\d+)([smhd]?)")


def add_dev_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `dev` command group on the CLI's subparsers."""
    dev = sub.add_parser("dev", parents=[common], help="development chain helpers: warp")
    group = dev.add_subparsers(dest="dev_command", metavar="ACTION", required=True)
    warp = group.add_parser(
        "warp",
        parents=[common],
        help="move a --dev chain's clock forward and author a block (e.g. 90s, 30m, 2h, 1d)",
    )
    warp.add_argument("duration", help="a whole number with a unit: s, m, h or d (no unit: seconds)")
    warp.set_defaults(handler=cmd_warp)


def parse_duration(text: str) -> int:
    """`90`, `90s`, `30m`, `2h`, `1d` -> seconds; ArgumentError for anything else or out of range."""
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise ArgumentError(f"duration {text!r}: use a whole number with a unit s, m, h or d (e.g. 1d)")
    seconds = int(found.group(1)) * UNIT_SECONDS[found.group(2) or "s"]
    if not 0 < seconds <= MAX_WARP_S:
        raise ArgumentError(f"duration {text!r}: must be more than 0 and at most ten years")
    return seconds


def cmd_warp(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Warp the dev chain's clock."""
    seconds = parse_duration(args.duration)
    answer = chain.client.request("dev_warp", [seconds])
    text = table(
        [
            ("warped", f"{seconds} s"),
            ("block", f"#{answer['number']} {answer['hash']}"),
            ("timestamp", timestamp_text(answer["timestamp"])),
            ("clock offset", f"{answer['offsetMs'] // 1000} s"),
        ]
    )
    out.emit({"seconds": seconds, **answer}, text)
    return 0
