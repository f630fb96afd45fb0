"""Joining a network with bad flags or keys: each refusal names the problem and the node exits with
code 2 (no half-started node)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from etcd_cluster import EtcdCluster, free_ports
from node_harness import run_cli

from cmu.node.keys import write_validator_key_file
from cmu.node.network.etcd import EtcdClient
from cmu.node.network.layout import Layout
from cmu.node.runner import open_chain
from runtime.genesis import consortium_spec
from runtime.validators import dev_validator_keys


def run_node(*args: str) -> tuple[int, str]:
    done = run_cli("--tmp", "--rpc-port", "0", "--no-prometheus", *args, timeout=120)
    return done.returncode, done.stderr


def test_a_chain_without_validators_cannot_join() -> None:
    code, err = run_node("--chain", "local", "--etcd", "http://127.0.0.1:1")
    assert code == 2 and "lists no validators" in err


def test_validator_needs_a_key_file_and_etcd() -> None:
    code, err = run_node("--chain", "consortium", "--etcd", "http://127.0.0.1:1", "--validator")
    assert code == 2 and "--validator needs --key-file" in err
    code, err = run_node("--chain", "consortium", "--validator", "--key-file", "x.json")
    assert code == 2 and "need --etcd" in err
    code, err = run_node("--chain", "consortium", "--etcd", "127.0.0.1:2379")
    assert code == 2 and "http:// URLs" in err


def test_a_key_that_is_not_a_validators_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "eve.json"
    write_validator_key_file(key_file, dev_validator_keys("eve"))
    code, err = run_node("--chain", "consortium", "--etcd", "http://127.0.0.1:1", "--validator",
                         "--key-file", str(key_file))  # fmt: skip
    assert code == 2 and "'eve'" in err and "is not a validator of the spec" in err


def test_unreachable_etcd_is_named() -> None:
    port = free_ports(1)[0]
    code, err = run_node("--chain", "consortium", "--etcd", f"http://127.0.0.1:{port}")
    assert code == 2 and "etcd" in err and "no etcd member answered" in err


def test_a_node_with_other_turn_timings_refuses_to_join(etcd_cluster: EtcdCluster, tmp_path: Path) -> None:
    chain = open_chain(consortium_spec(), tmp_path / "db")
    genesis = chain.runtime.genesis_hash
    chain.close()

    async def network_runs_with_3s_turns() -> None:
        client = EtcdClient(etcd_cluster.urls)
        try:
            await client.put(Layout(genesis).config, json.dumps({"turnMs": 3000}).encode())
        finally:
            await client.close()

    asyncio.run(network_runs_with_3s_turns())
    urls = etcd_cluster.url_list
    code, err = run_node("--chain", "consortium", "--etcd", urls, "--turn-timeout-ms", "1000")
    assert code == 2 and "--turn-timeout-ms" in err and "3000" in err
