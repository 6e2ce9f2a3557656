"""`lakehouse loadtest`: Locust, headless, against a `lakehouse serve` it starts on 127.0.0.1 over the
lakehouse: ``users`` simulated users for ``seconds`` on ``/predict`` and ``/customers/{id}`` (see
``apps/locustfile.py``). Prints Locust's progress, then requests, failures, latency percentiles and
throughput per endpoint, and one last JSON line."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from apps.api import FEATURES, MARKETING, client_records
from gold import customer_features
from pipelines import pandas_io
from pipelines.config import Config
from pipelines.errors import PipelineError

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SAMPLE_SIZE = 1000


class LoadTestError(PipelineError):
    """The server did not start, or Locust did not finish."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample(config: Config) -> dict[str, Any]:
    """Up to SAMPLE_SIZE customers of the latest scores: their features (what /predict gets) and ids."""
    as_of = pandas_io.latest_as_of(MARKETING, config)
    features = pandas_io.read_table(FEATURES, config, filters=[("as_of_date", "=", as_of)])
    features = features.sample(min(SAMPLE_SIZE, len(features)), random_state=7)
    columns = [*customer_features.numeric_columns(config.vocabulary), *customer_features.CATEGORICAL]
    return {"customers": client_records(features, columns), "ids": [int(i) for i in features["customer_id"]]}


def started(command: list[str], health: str, what: str, seconds: float = 120) -> subprocess.Popen[str]:
    """Start a server process and return it once ``health`` answers 200; one line if it exits or stays
    silent (its last output line)."""
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = (server.stdout.read() if server.stdout else "").strip().splitlines()
            raise LoadTestError(f"{what} did not start: {output[-1] if output else server.returncode}")
        try:
            if requests.get(health, timeout=1).ok:
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    server.kill()
    raise LoadTestError(f"{what} did not answer {health} within {seconds:.0f} s")


def run(config: Config, users: int, seconds: int, spawn_rate: int) -> dict[str, Any]:
    port = free_port()
    print(f"starting lakehouse serve on 127.0.0.1:{port} ...", flush=True)
    command = [sys.executable, "-m", "commands.cli", "serve", "--root", str(config.root), "--port", str(port)]
    server = started(command, f"http://127.0.0.1:{port}/health", "lakehouse serve")
    try:
        with tempfile.TemporaryDirectory() as scratch:
            sample_file = Path(scratch) / "sample.json"
            sample_file.write_text(json.dumps(sample(config)))
            prefix = str(Path(scratch) / "stats")
            print(f"locust: {users} users (spawned {spawn_rate}/s) for {seconds} s ...", flush=True)
            locust = [
                sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--users", str(users),
                "--spawn-rate", str(spawn_rate), "--run-time", f"{seconds}s", "--stop-timeout", "10",
                "--host", f"http://127.0.0.1:{port}", "--csv", prefix, "--loglevel", "WARNING",
                "--exit-code-on-error", "0",
            ]  # fmt: skip
            done = subprocess.run(locust, env={**os.environ, "LOADTEST_SAMPLE": str(sample_file)})
            stats_file = Path(f"{prefix}_stats.csv")
            if done.returncode != 0 or not stats_file.is_file():
                raise LoadTestError(f"locust exited with {done.returncode} and no statistics")
            with stats_file.open() as handle:
                rows = {row["Name"]: row for row in csv.DictReader(handle)}
    finally:
        server.terminate()
        server.wait(timeout=30)
    return report(rows, users, seconds)


def report(rows: dict[str, dict[str, str]], users: int, seconds: int) -> dict[str, Any]:
    """Print one line per endpoint and the totals; returns the totals."""
    print(
        f"\n{'endpoint':<20} {'requests':>9} {'failures':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>7}"
    )
    for name, row in rows.items():
        print(
            f"{name:<20} {row['Request Count']:>9} {row['Failure Count']:>9} {row['50%']:>7} {row['95%']:>7} "
            f"{row['99%']:>7} {float(row['Requests/s']):>7.1f}"
        )
    total = rows["Aggregated"]
    return {
        "users": users,
        "seconds": seconds,
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "p50_ms": float(total["50%"]),
        "p95_ms": float(total["95%"]),
        "p99_ms": float(total["99%"]),
        "rps": round(float(total["Requests/s"]), 1),
    }
