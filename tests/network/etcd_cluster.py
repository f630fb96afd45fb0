"""Test helper: a real etcd cluster of N members on loopback (free ports, data in a temp directory),
with members that can be killed, restarted, frozen (SIGSTOP) and partitioned from their peers (each
member's peer URL goes through a BlackholeProxy). Used by the network tests, bench/network.py and
bench/chaos.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from blackhole import BlackholeProxy

START_TIMEOUT = 60.0
#: Raft timings for a loaded two-core machine: slower elections avoid needless leader changes.
HEARTBEAT_MS = 100
ELECTION_MS = 1500
#: Requests of up to 16 MiB: a block of the chain's largest size (8 MiB) is about 11 MiB as JSON/base64.
MAX_REQUEST_BYTES = 16 * 1024 * 1024


def etcd_binary() -> str | None:
    """The etcd executable on PATH (Debian's etcd-server puts it in /usr/bin), or None."""
    return shutil.which("etcd") or (shutil.which("etcd", path="/usr/sbin:/usr/bin:/usr/local/bin"))


def free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on loopback."""
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [s.getsockname()[1] for s in sockets]
    for sock in sockets:
        sock.close()
    return ports


class EtcdMember:
    """One etcd process."""

    def __init__(self, name: str, data_dir: Path, client_port: int, peer_port: int, proxy_port: int) -> None:
        self.name = name
        self.data_dir = data_dir
        self.client_url = f"http://127.0.0.1:{client_port}"
        self.listen_peer_url = f"http://127.0.0.1:{peer_port}"
        self.peer_url = f"http://127.0.0.1:{proxy_port}"  # what the peers dial: the proxy
        self.proxy = BlackholeProxy(proxy_port, peer_port)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{name}.log"

    def start(self, initial_cluster: str, state: str) -> None:
        """Start the process (not waiting for health)."""
        binary = etcd_binary()
        if binary is None:
            raise RuntimeError("etcd is not installed")
        args = [
            binary,
            "--name", self.name,
            "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.client_url,
            "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.listen_peer_url,
            "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", initial_cluster,
            "--initial-cluster-state", state,
            "--initial-cluster-token", "cmu-test",
            "--heartbeat-interval", str(HEARTBEAT_MS),
            "--election-timeout", str(ELECTION_MS),
            "--log-level", "warn",
            "--max-request-bytes", str(MAX_REQUEST_BYTES),
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, start_new_session=True)

    def healthy(self) -> bool:
        """Whether the member answers /health with true."""
        try:
            with urllib.request.urlopen(self.client_url + "/health", timeout=2) as response:
                return b'"true"' in response.read()
        except OSError:
            return False

    def status_id(self) -> str | None:
        """The member's id, as its status reports it."""
        status = self.status()
        return status["member"] if status else None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.thaw()
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def freeze(self) -> None:
        """SIGSTOP: the member keeps its connections but answers nothing."""
        if self.running and self.proc is not None:
            self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT."""
        if self.running and self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)

    def status(self) -> dict[str, str] | None:
        """The member's maintenance status (its own id and the leader's), or None if it does not answer."""
        request = urllib.request.Request(
            self.client_url + "/v3/maintenance/status", data=b"{}", method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                answer: dict[str, str] = json.loads(response.read())
                return {"member": answer["header"]["member_id"], "leader": answer.get("leader", "")}
        except (OSError, ValueError, KeyError):
            return None


class EtcdCluster:
    """`size` members on loopback, each with its own data directory under one temp directory."""

    def __init__(self, size: int = 3) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cmu-etcd-"))
        ports = free_ports(3 * size)
        self.members = [
            EtcdMember(f"m{i}", self.root / f"m{i}", ports[3 * i], ports[3 * i + 1], ports[3 * i + 2])
            for i in range(size)
        ]
        self.initial_cluster = ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    @property
    def urls(self) -> list[str]:
        """Every member's client URL."""
        return [m.client_url for m in self.members]

    @property
    def url_list(self) -> str:
        """The client URLs joined by commas (the node's --etcd value)."""
        return ",".join(self.urls)

    def start(self) -> EtcdCluster:
        """Start every member and wait until each is healthy."""
        for member in self.members:
            member.proxy.start()
        for member in self.members:
            member.start(self.initial_cluster, "new")
        self.wait_healthy(self.members)
        return self

    def wait_healthy(self, members: list[EtcdMember], timeout: float = START_TIMEOUT) -> None:
        """Wait until each member answers healthy (AssertionError with the logs otherwise)."""
        deadline = time.monotonic() + timeout
        pending = list(members)
        while pending:
            pending = [m for m in pending if not m.healthy()]
            if not pending:
                return
            if time.monotonic() > deadline or any(not m.running for m in pending):
                logs = "\n".join(m.log_path.read_text(errors="replace")[-2000:] for m in pending)
                raise AssertionError(f"etcd members {[m.name for m in pending]} not healthy:\n{logs}")
            time.sleep(0.1)

    def kill(self, index: int) -> None:
        """SIGKILL one member."""
        self.members[index].kill()

    def restart(self, index: int) -> None:
        """Start a killed member again on its data directory (it rejoins the cluster)."""
        member = self.members[index]
        member.start(self.initial_cluster, "existing")
        self.wait_healthy([member])

    def leader(self) -> int | None:
        """The index of the current leader, as a healthy member reports it (None if none answers)."""
        for member in self.members:
            status = member.status()
            if status is not None and status["leader"]:
                ids = {m.status_id(): i for i, m in enumerate(self.members)}
                return ids.get(status["leader"])
        return None

    def partition(self, index: int) -> None:
        """Cut one member off from its peers (its clients still reach it)."""
        self.members[index].proxy.cut()

    def heal(self, index: int) -> None:
        """Undo partition()."""
        self.members[index].proxy.heal()

    def close(self) -> None:
        """Kill every member and remove the data."""
        for member in self.members:
            member.kill()
            member.proxy.close()
        shutil.rmtree(self.root, ignore_errors=True)


def etcd_unavailable_reason() -> str | None:
    """Why network tests cannot run here (None when etcd is installed)."""
    if etcd_binary() is not None:
        return None
    if os.geteuid() == 0 and shutil.which("apt-get"):
        return "etcd is not installed: run ./run.sh test (it installs Debian's etcd-server as root)"
    return "etcd is not installed and this is not root on Debian: install the etcd-server package"
