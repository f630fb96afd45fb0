"""Benchmark: how long `cmu model upload` takes for a 4 MiB artifact on a fresh dev node, as a user runs
it: `node.py --dev` (its seal: a block as soon as transactions are ready) and `node.py --dev --seal
interval:2000` (a block every 2 s only, as a timer-driven chain makes them). Chunks are pipelined (many a
block); the figure is the CLI's wall time, begin_upload to the finish_upload receipt, plus its startup.
Last line: upload_4mib_s=<n> upload_4mib_interval2s_s=<n> chunks_per_block_max=<n> (the last on the 2-s node)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cmu.client.rpc import Client  # noqa: E402

SIZE = 4 * 1024 * 1024


def start_node(*flags: str) -> tuple[subprocess.Popen[str], str]:
    """A dev node on a free port; its process and RPC URL."""
    command = [sys.executable, str(REPO / "node.py"), "--dev", "--rpc-port", "0", "--no-prometheus", *flags]
    node = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and node.stdout is not None:
        found = re.search(r"RPC listening on (http://[\d.]+:\d+)", node.stdout.readline())
        if found:
            return node, found.group(1)
    node.kill()
    raise SystemExit("the node did not start")


def upload_seconds(url: str, path: Path) -> float:
    """Wall time of `cmu model upload FILE` (exits non-zero -> SystemExit)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "cmu.client", "--url", url, "--signer", "alice", "--json", "model", "upload",
         str(path)],
        capture_output=True, text=True, cwd=REPO, check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"upload failed: {result.stderr}")
    return elapsed


def most_chunks_in_a_block(url: str) -> int:
    """The largest extrinsic count of any block so far, less the timestamp inherent."""
    with Client(url) as client:
        best = int(client.request("chain_getHeader")["number"])
        blocks = client.batch([("chain_getBlockHash", [n]) for n in range(1, best + 1)])
        bodies = client.batch([("chain_getBlock", [h]) for h in blocks])
    return max((len(b["block"]["extrinsics"]) - 1 for b in bodies), default=0)


def measure(path: Path, *flags: str) -> tuple[float, int]:
    """(upload seconds, most extrinsics in one block) on a fresh node started with `flags`."""
    node, url = start_node(*flags)
    try:
        return upload_seconds(url, path), most_chunks_in_a_block(url)
    finally:
        node.terminate()
        node.wait(timeout=30)


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.bin"
        path.write_bytes(os.urandom(SIZE))
        dev_s, _ = measure(path)
        interval_s, per_block = measure(path, "--seal", "interval:2000")
    print(f"4 MiB upload: {dev_s:.1f} s on --dev, {interval_s:.1f} s on --dev --seal interval:2000 "
          f"(up to {per_block} extrinsics a block)")
    figures = f"upload_4mib_s={dev_s:.1f} upload_4mib_interval2s_s={interval_s:.1f}"
    print(f"{figures} chunks_per_block_max={per_block}")


if __name__ == "__main__":
    main()
