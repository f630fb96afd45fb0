"""Chaos run: 4 validators over 3 etcd members under a steady flood of transfers, with a seeded random
schedule of faults, at most one validator and one etcd member impaired at any time.

etcd faults: the member every node starts on frozen (SIGSTOP) for --freeze-s, one member partitioned from
its peers (its peer proxy blackholes) for --freeze-s, the leader SIGKILLed and restarted. Validator faults:
SIGKILL + restart, SIGKILL + restart + SIGKILL again while it replays the log + restart, SIGSTOP/SIGCONT,
a restart with its clock skewed by +-skew seconds (then back). The order, the members and the pauses come
from --seed.

Afterwards every node is up again and the load stops; the checks: the same block hash, state root and
extrinsics at every height on every node (root_mismatches), every finalized head any node announced during
the run still in every node's chain (lost_after_finality), each sender's nonces continuous in the chain
and total issuance unchanged. The longest finality stall is the longest time between two advances of the
network's finalized height, as the nodes' chain_subscribeFinalizedHeads announced them.
Last line: faults=<n> lost_after_finality=<n> root_mismatches=<n> max_finality_stall_s=<x>
finalized_after_faults=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import msgpack

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "network"))
sys.path.insert(0, str(REPO / "tests" / "node"))

from etcd_cluster import EtcdCluster, etcd_unavailable_reason  # noqa: E402
from network_harness import Network  # noqa: E402
from node_harness import NodeProcess, Signer  # noqa: E402
from node_rpc import account_key, make_keys, write_spec  # noqa: E402

from pallets.system import AccountInfo  # noqa: E402
from runtime import codec  # noqa: E402
from runtime.crypto import Keypair  # noqa: E402
from runtime.genesis import CONSORTIUM_VALIDATORS  # noqa: E402
from runtime.storage.items import item_prefix  # noqa: E402
from runtime.types import converter  # noqa: E402

AMOUNT = 1_000
WINDOW = 4  # transfers per sender in flight


class Chaos:
    """The network, its load and the fault schedule."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        # one generator per schedule, so that each schedule is the same for a seed whatever the timing
        self.etcd_rng = random.Random(args.seed * 2)
        self.validator_rng = random.Random(args.seed * 2 + 1)
        self.keys = make_keys(args.senders, b"chaos")
        self.dests = [Keypair.from_seed(bytes([i % 256]) * 31 + b"d") for i in range(args.senders)]
        spec = work / "spec.json"
        write_spec(self.keys, spec, chain="consortium", chain_id="chaos")
        self.etcd = EtcdCluster(3)
        self.net = Network(self.etcd, turn_ms=args.turn_ms, gap_ms=args.gap_ms, chain=str(spec))
        self.impaired: set[str] = set()  # nodes that are down or frozen now
        self.faults = 0
        self.shutdown_hangs = 0
        self.faults_over = 0.0
        self.stopped_at = 0.0
        self.finalized: dict[int, tuple[float, dict[str, Any]]] = {}  # number -> first seen, header
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.signer: Signer | None = None
        self.signed: dict[tuple[int, int], str] = {}

    # --- faults -------------------------------------------------------------------------------------

    def log(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def sleep(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def etcd_faults(self) -> None:
        plan: list[Callable[[], None]] = [self.freeze_first_member, self.partition_member, self.kill_leader]
        self.etcd_rng.shuffle(plan)
        for fault in plan:
            self.sleep(self.etcd_rng.uniform(3, 8))
            fault()
            self.faults += 1

    def freeze_first_member(self) -> None:
        self.log(f"etcd m0 (every node's first) frozen for {self.args.freeze_s} s")
        self.etcd.members[0].freeze()
        self.sleep(self.args.freeze_s)
        self.etcd.members[0].thaw()
        self.log("etcd m0 thawed")

    def partition_member(self) -> None:
        index = self.etcd_rng.randrange(3)
        self.log(f"etcd m{index} partitioned from its peers for {self.args.freeze_s} s")
        self.etcd.partition(index)
        self.sleep(self.args.freeze_s)
        self.etcd.heal(index)
        self.log(f"etcd m{index} healed")

    def kill_leader(self) -> None:
        leader = self.etcd.leader()
        index = leader if leader is not None else self.etcd_rng.randrange(3)
        self.log(f"etcd m{index} (leader: {leader == index}) killed")
        self.etcd.kill(index)
        self.sleep(self.etcd_rng.uniform(5, 10))
        self.etcd.restart(index)
        self.log(f"etcd m{index} restarted")

    def validator_faults(self) -> None:
        plan: list[Callable[[str], None]] = [self.kill_restart, self.kill_in_replay, self.freeze_validator]
        if self.args.skew_s:
            plan += [
                lambda name: self.skewed(name, self.args.skew_s),
                lambda name: self.skewed(name, -self.args.skew_s),
            ]
        self.validator_rng.shuffle(plan)
        for fault in plan:
            self.sleep(self.validator_rng.uniform(3, 6))
            if self.stop.is_set():
                return
            name = self.validator_rng.choice(CONSORTIUM_VALIDATORS)
            with self.lock:
                self.impaired.add(name)
            fault(name)
            self.wait_caught_up(name)  # a node still replaying the log is still impaired: no vote yet
            with self.lock:
                self.impaired.discard(name)
            self.faults += 1

    def wait_caught_up(self, name: str, timeout: float = 60.0) -> None:
        """Until node `name` has executed what the others finalized (or `timeout`)."""
        node = self.net.nodes[name]
        others = [n for other, n in self.net.nodes.items() if other != name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stop.is_set():
            try:
                if node.best_number() >= max(final_number(n) for n in others):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.log(f"validator {name} did not catch up within {timeout:.0f} s")

    def kill_restart(self, name: str) -> None:
        self.log(f"validator {name} killed")
        self.net.nodes[name].kill()
        self.sleep(self.validator_rng.uniform(3, 8))
        self.net.start(name)
        self.log(f"validator {name} restarted")

    def kill_in_replay(self, name: str) -> None:
        self.log(f"validator {name} killed, restarted, killed again while it replays")
        self.net.nodes[name].kill()
        self.sleep(self.validator_rng.uniform(5, 10))
        self.net.start(name)
        self.sleep(0.3)
        self.net.nodes[name].kill()
        self.sleep(1)
        self.net.start(name)
        self.log(f"validator {name} restarted")

    def freeze_validator(self, name: str) -> None:
        seconds = self.validator_rng.uniform(5, 15)
        self.log(f"validator {name} frozen for {seconds:.0f} s")
        proc = self.net.nodes[name].proc
        assert proc is not None
        proc.send_signal(signal.SIGSTOP)
        self.sleep(seconds)
        proc.send_signal(signal.SIGCONT)
        self.log(f"validator {name} thawed")

    def graceful_stop(self, name: str) -> None:
        """SIGTERM; a node that does not exit within 20 s is counted and killed."""
        proc = self.net.nodes[name].proc
        assert proc is not None
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.shutdown_hangs += 1
            self.log(f"validator {name} did not stop within 20 s of SIGTERM: killed")
            proc.kill()
            proc.wait(timeout=20)

    def skewed(self, name: str, skew_s: float) -> None:
        self.log(f"validator {name} restarted with its clock {skew_s:+.1f} s off")
        self.graceful_stop(name)
        self.net.start(name, skew_s=skew_s)
        with self.lock:
            self.impaired.discard(name)  # skewed, not down: it takes part
        self.sleep(self.validator_rng.uniform(15, 25))
        with self.lock:
            self.impaired.add(name)
        self.graceful_stop(name)
        self.net.start(name)
        self.log(f"validator {name} restarted with a true clock")

    # --- load and observation ------------------------------------------------------------------------

    def live_nodes(self) -> list[NodeProcess]:
        with self.lock:
            return [n for name, n in self.net.nodes.items() if name not in self.impaired]

    def transfer(self, sender: int, nonce: int) -> str:
        key = (sender, nonce)
        if key not in self.signed:
            assert self.signer is not None
            data = self.signer.transfer(self.keys[sender], bytes(self.dests[sender].account), AMOUNT, nonce)
            self.signed[key] = "0x" + data.hex()
        return self.signed[key]

    async def load(self) -> None:
        """Keep WINDOW transfers per sender in flight, re-sent from the committed nonce on."""
        keys = [account_key(k) for k in self.keys]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
            while not self.stop.is_set():
                live = self.live_nodes()
                if live:
                    node = self.rng.choice(live)
                    with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError, ValueError):
                        nonces = await nonces_at(session, node.url, keys)
                        calls = [
                            {"jsonrpc": "2.0", "id": i, "method": "author_submitExtrinsic",
                             "params": [self.transfer(s, n)]}
                            for i, (s, n) in enumerate(
                                (s, n) for s, first in enumerate(nonces) for n in range(first, first + WINDOW)
                            )
                        ]  # fmt: skip
                        async with session.post(node.url, json=calls) as response:
                            await response.read()
                await asyncio.sleep(0.5)

    async def watch(self, name: str) -> None:
        """Record the finalized heads node `name` announces (reconnecting across its restarts)."""
        while not self.stop.is_set():
            node = self.net.nodes[name]
            try:
                async with aiohttp.ClientSession() as session, session.ws_connect(node.ws_url) as ws:
                    await ws.send_json(
                        {"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeFinalizedHeads", "params": []}
                    )
                    while not self.stop.is_set() and self.net.nodes[name] is node:
                        with contextlib.suppress(TimeoutError):
                            message = await asyncio.wait_for(ws.receive(), 0.5)
                            if message.type != aiohttp.WSMsgType.TEXT:
                                break
                            data = json.loads(message.data)
                            if data.get("method") == "chain_finalizedHead":
                                header = data["params"]["result"]
                                self.finalized.setdefault(header["number"], (time.monotonic(), header))
            except (aiohttp.ClientError, OSError, TimeoutError):
                await asyncio.sleep(0.2)

    async def observe(self) -> None:
        tasks = [asyncio.create_task(self.watch(name)) for name in CONSORTIUM_VALIDATORS]
        tasks.append(asyncio.create_task(self.load()))
        while not self.stop.is_set():
            await asyncio.sleep(0.2)
        await asyncio.gather(*tasks)

    # --- the run --------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.etcd.start()
        self.net.start_all()
        first = self.net.nodes["alice"]
        self.signer = Signer.for_node(first)
        genesis_issuance = total_issuance(first, None)
        observer = threading.Thread(target=lambda: asyncio.run(self.observe()), daemon=True)
        observer.start()
        time.sleep(self.args.warmup_s)
        started = time.monotonic()
        threads = [threading.Thread(target=self.etcd_faults), threading.Thread(target=self.validator_faults)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.faults_over = time.monotonic()
        self.log(f"faults over after {self.faults_over - started:.0f} s; settling for {self.args.settle_s} s")
        time.sleep(self.args.settle_s)
        self.stop.set()
        self.stopped_at = time.monotonic()
        observer.join(30)
        return self.check(started, genesis_issuance)

    def check(self, started: float, genesis_issuance: int) -> dict[str, Any]:
        nodes = list(self.net.nodes.values())
        target = max(n.best_number() for n in nodes)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and min(final_number(n) for n in nodes) < target:
            time.sleep(0.5)
        final = min(final_number(n) for n in nodes)
        mismatches = 0
        chain: list[list[Any]] = []
        for number in range(1, final + 1):
            seen = set()
            for node in nodes:
                block = node.rpc("chain_getBlock", node.rpc("chain_getBlockHash", number))["block"]
                seen.add(
                    json.dumps([block["header"]["hash"], block["header"]["stateRoot"], block["extrinsics"]])
                )
            mismatches += len(seen) > 1
            chain.append(json.loads(next(iter(seen))))
        lost = 0
        for number, (_at, header) in self.finalized.items():
            if number <= final and any(n.rpc("chain_getBlockHash", number) != header["hash"] for n in nodes):
                lost += 1
        missing = nonce_gaps(chain)
        issuance_delta = (
            total_issuance(nodes[0], nodes[0].rpc("chain_getBlockHash", final)) - genesis_issuance
        )
        times = sorted(at for at, _header in self.finalized.values() if at >= started)
        points = [started, *times, self.stopped_at]
        gaps = sorted(((b - a, a) for a, b in itertools.pairwise(points)), reverse=True)
        stall = gaps[0][0] if gaps else float("inf")
        for gap, since in gaps[:3]:
            wall = time.strftime("%H:%M:%S", time.localtime(time.time() - (time.monotonic() - since)))
            self.log(f"finality stalled {gap:.1f} s from {wall}")
        after = sum(1 for at, _h in self.finalized.values() if at > self.faults_over)
        transfers = sum(len(c[2]) - 1 for c in chain)
        return {
            "final": final, "transfers": transfers, "nonce_gaps": missing, "issuance_delta": issuance_delta,
            "shutdown_hangs": self.shutdown_hangs, "faults": self.faults, "lost_after_finality": lost,
            "root_mismatches": mismatches,
            "max_finality_stall_s": stall, "finalized_after_faults": after,
        }  # fmt: skip

    def close(self) -> None:
        self.stop.set()
        self.net.close()
        self.etcd.close()


def final_number(node: NodeProcess) -> int:
    try:
        number: int = node.rpc("chain_getHeader", node.rpc("chain_getFinalizedHead"))["number"]
        return number
    except OSError:
        return -1


async def nonces_at(session: aiohttp.ClientSession, url: str, keys: list[str]) -> list[int]:
    """Each sender's committed nonce at the node's best block."""
    calls = [
        {"jsonrpc": "2.0", "id": i, "method": "state_getStorage", "params": [k]} for i, k in enumerate(keys)
    ]
    async with session.post(url, json=calls) as response:
        answers = sorted(await response.json(), key=lambda a: a["id"])
    read = converter(AccountInfo).from_wire
    return [0 if a.get("result") is None else read(codec.unpack(bytes.fromhex(a["result"][2:]))).nonce
            for a in answers]  # fmt: skip


def nonce_gaps(chain: list[list[Any]]) -> int:
    """Transfers whose nonce is not the one after the sender's previous transfer in the chain."""
    expected: dict[bytes, int] = {}
    gaps = 0
    for _hash, _root, extrinsics in chain:
        for raw in extrinsics[1:]:
            wire = msgpack.unpackb(bytes.fromhex(raw[2:]), raw=False)
            signer, nonce = wire[1], wire[4]
            gaps += nonce != expected.get(signer, 0)
            expected[signer] = nonce + 1
    return gaps


def total_issuance(node: NodeProcess, at: str | None) -> int:
    params: list[Any] = ["0x" + item_prefix("Balances", "total_issuance").hex()] + ([at] if at else [])
    raw = node.rpc("state_getStorage", *params)
    value: int = codec.unpack(bytes.fromhex(raw[2:]))
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--senders", type=int, default=60)
    parser.add_argument("--turn-ms", type=int, default=2_000)
    parser.add_argument("--gap-ms", type=int, default=100)
    parser.add_argument("--freeze-s", type=float, default=30.0, help="how long an etcd member is frozen/cut")
    parser.add_argument("--skew-s", type=float, default=2.0, help="validator clock skew (0: no skew faults)")
    parser.add_argument("--warmup-s", type=float, default=8.0)
    parser.add_argument("--settle-s", type=float, default=15.0)
    args = parser.parse_args()
    reason = etcd_unavailable_reason()
    if reason is not None:
        raise SystemExit(reason)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="cmu-chaos-") as work:
        chaos = Chaos(args, Path(work))
        try:
            result = chaos.run()
        finally:
            chaos.close()
    print(
        f"cpus={os.cpu_count()} seed={args.seed} final_height={result['final']} "
        f"transfers={result['transfers']} nonce_gaps={result['nonce_gaps']} "
        f"issuance_delta={result['issuance_delta']} shutdown_hangs={result['shutdown_hangs']}"
    )
    print(
        f"faults={result['faults']} lost_after_finality={result['lost_after_finality']} "
        f"root_mismatches={result['root_mismatches']} "
        f"max_finality_stall_s={result['max_finality_stall_s']:.1f} "
        f"finalized_after_faults={result['finalized_after_faults']}"
    )


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")


if __name__ == "__main__":
    main()
