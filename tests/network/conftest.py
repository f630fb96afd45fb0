"""Fixtures of the network tests: a 3-member etcd cluster on loopback (etcd installed as root on Debian
when it is missing; the tests skip, saying why, only where it cannot be had)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "node"))

from etcd_cluster import EtcdCluster, etcd_binary, etcd_unavailable_reason


def _install_etcd() -> None:
    """apt-get install etcd-server, as root on Debian, when etcd is missing (what ./run.sh test does)."""
    if etcd_binary() is not None or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300, check=False)
    install = ["apt-get", "install", "-y", "-qq", "etcd-server"]
    subprocess.run(install, env=env, capture_output=True, timeout=600, check=False)


@pytest.fixture(scope="session")
def etcd_available() -> None:
    """Skip (with the reason) unless etcd can run here."""
    _install_etcd()
    reason = etcd_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture
def etcd_cluster(etcd_available: None) -> Iterator[EtcdCluster]:
    """Three etcd members on loopback, healthy, removed afterwards."""
    cluster = EtcdCluster(3)
    try:
        yield cluster.start()
    finally:
        cluster.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Keep each phase's report on the test item, so fixtures can tell a failed test at teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)
