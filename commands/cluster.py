"""A real Spark standalone cluster on this machine: a master and workers started from the installed pyspark's
``bin/spark-class``, bound to 127.0.0.1, with their logs and pid files under ``<root>/cluster``.

``lakehouse cluster up`` (``make cluster-up``) prints the master URL to pass as ``--master``;
``lakehouse cluster down`` stops what ``up`` started. On a real cluster the lakehouse root must be storage
every worker sees (the README says what changes).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pyspark

from pipelines.config import Config
from pipelines.errors import PipelineError
from pipelines.log import get_logger

HOST = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


class ClusterError(PipelineError):
    """The cluster could not start or stop."""


@dataclass(frozen=True)
class Cluster:
    directory: Path
    port: int = 7077
    ui_port: int = 8080
    workers: int = 2
    cores: int = 1
    memory: str = "2g"

    @property
    def url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    @property
    def logs(self) -> Path:
        return self.directory / "logs"


def of(config: Config, workers: int = 2) -> Cluster:
    return Cluster(config.root.resolve() / "cluster", workers=workers)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def alive_workers(cluster: Cluster) -> int:
    """Workers the master reports ALIVE (its UI's JSON)."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{cluster.ui_port}/json/", timeout=2) as answer:
            state = json.load(answer)
    except OSError:
        return 0
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


def _start(cluster: Cluster, name: str, arguments: list[str]) -> None:
    home = Path(pyspark.__file__).parent
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": HOST,
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOG_DIR": str(cluster.logs),
    }
    log = (cluster.logs / f"{name}.log").open("ab")
    process = subprocess.Popen(
        [str(home / "bin" / "spark-class"), *arguments],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group: `down` stops the JVM and its launcher together
    )
    (cluster.directory / f"{name}.pid").write_text(str(process.pid))


def _wait(condition, what: str, cluster: Cluster, seconds: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            down(cluster)
            raise ClusterError(f"{what} within {seconds:.0f} s; see the logs in {cluster.logs}")
        time.sleep(0.5)


def up(cluster: Cluster) -> str:
    """Start the master and the workers; returns the master URL once every worker has registered."""
    if _listening(cluster.port):
        raise ClusterError(
            f"something already listens on {HOST}:{cluster.port}: `lakehouse cluster down` first"
        )
    cluster.logs.mkdir(parents=True, exist_ok=True)
    log = get_logger()
    log.info("cluster: starting a master on %s (web UI http://%s:%d)", cluster.url, HOST, cluster.ui_port)
    master = ["--host", HOST, "--port", str(cluster.port), "--webui-port", str(cluster.ui_port)]
    _start(cluster, "master", [MASTER_CLASS, *master])
    _wait(lambda: _listening(cluster.port), "the master did not listen", cluster)
    for i in range(1, cluster.workers + 1):
        work = cluster.directory / "work" / f"worker-{i}"
        work.mkdir(parents=True, exist_ok=True)
        worker = ["--host", HOST, "--cores", str(cluster.cores), "--memory", cluster.memory]
        worker += ["--work-dir", str(work), "--webui-port", str(cluster.ui_port + i), cluster.url]
        _start(cluster, f"worker-{i}", [WORKER_CLASS, *worker])
    _wait(
        lambda: alive_workers(cluster) >= cluster.workers,
        f"{cluster.workers} workers did not register",
        cluster,
    )
    log.info(
        "cluster: %d workers of %d core(s) and %s each; logs in %s",
        cluster.workers,
        cluster.cores,
        cluster.memory,
        cluster.logs,
    )
    return cluster.url


def down(cluster: Cluster) -> int:
    """Stop every process ``up`` started (workers first); returns how many were running."""
    stopped = 0
    for pid_file in sorted(cluster.directory.glob("*.pid"), key=lambda p: p.name.startswith("master")):
        pid = int(pid_file.read_text())
        try:
            os.killpg(pid, signal.SIGTERM)
            stopped += 1
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _running(pid):
            time.sleep(0.2)
        if _running(pid):
            os.killpg(pid, signal.SIGKILL)
        pid_file.unlink()
    return stopped


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a child of this process that exited but was not reaped still "exists"
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True
