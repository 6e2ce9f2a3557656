"""`lakehouse sql-loadtest`: concurrent BI clients over JDBC (PyHive, the Thrift protocol BI tools speak)
against a `lakehouse sql-server` it starts on 127.0.0.1: each client runs the gold views' questions in
turn for ``seconds``. Prints progress, then one JSON line: queries, failures, latency percentiles."""

from __future__ import annotations

import json
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apps.loadtest import LoadTestError, free_port
from gold.objectives import OBJECTIVES
from pipelines.config import Config

# what analysts ask of the gold views, by name: a dashboard's questions, in the variants its filters give
# (an objective, a budget, an order); the first of each is its default
_LATEST = "as_of_date = (SELECT max(as_of_date) FROM gold.customer_marketing)"
QUESTIONS: dict[str, tuple[str, ...]] = {
    "segment_summary": (
        "SELECT * FROM gold.segment_summary ORDER BY as_of_date DESC, segment_id LIMIT 50",
        *(
            f"SELECT * FROM gold.segment_summary WHERE {_LATEST} ORDER BY {order}"
            for order in ("segment_id", "revenue_share DESC", "expected_acceptance_rate DESC")
        ),
    ),
    "campaign_targets": tuple(
        "SELECT customer_id, segment_name, acceptance_probability, objective_rank FROM gold.campaign_targets "
        f"WHERE objective = '{objective}' AND objective_rank <= {budget} AND {_LATEST} ORDER BY objective_rank"
        for objective in ("aggressive_acquisition", *(o for o in OBJECTIVES if o != "aggressive_acquisition"))
        for budget in (100, 50, 250, 500)
    ),
    "objective_summary": (
        "SELECT * FROM gold.objective_summary ORDER BY as_of_date DESC, objective",
        f"SELECT * FROM gold.objective_summary WHERE {_LATEST} ORDER BY expected_profit DESC",
    ),
}
QUERIES = {name: variants[0] for name, variants in QUESTIONS.items()}


# between a client's queries: a person reading a dashboard or a report, as `lakehouse loadtest`'s users
PAUSE = (0.5, 1.5)


@dataclass(frozen=True)
class Answer:
    query: str
    seconds: float
    rows: list[tuple[Any, ...]] | None
    error: str | None  # the server's one-line message, or the client's


def connect(host: str, port: int) -> Any:
    from pyhive import hive

    return hive.connect(host=host, port=port, username="analyst")


def error_message(exc: Exception) -> str:
    """The server's message of a failed statement (PyHive carries the whole Thrift status), else the
    exception's text."""
    status = getattr(exc.args[0], "status", None) if exc.args else None
    return str(getattr(status, "errorMessage", None) or exc)


def ask(cursor: Any, query: str, name: str | None = None) -> Answer:
    started = time.perf_counter()
    try:
        cursor.execute(query)
        rows = [tuple(r) for r in cursor.fetchall()] if cursor.description else None
        return Answer(name or query, time.perf_counter() - started, rows, None)
    except Exception as exc:
        return Answer(name or query, time.perf_counter() - started, None, error_message(exc))


def clients(
    host: str,
    port: int,
    count: int,
    running: Callable[[], bool],
    questions: Mapping[str, Sequence[str]] = QUESTIONS,
    pause: tuple[float, float] = PAUSE,
) -> list[Answer]:
    """``count`` clients, each on its own connection, asking ``questions`` in turn while ``running()``, a
    variant of each drawn at random, with a pause of ``pause`` seconds (uniformly drawn) after each answer;
    every answer, a failed connection included."""
    answers: list[Answer] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        try:
            cursor = connect(host, port).cursor()
        except Exception as exc:
            with lock:
                answers.append(Answer("connect", 0.0, None, error_message(exc)))
            return
        names = list(questions)
        turn, draw = offset, random.Random(offset)
        while running():
            name = names[turn % len(names)]
            answer = ask(cursor, draw.choice(questions[name]), name)
            with lock:
                answers.append(answer)
            turn += 1
            time.sleep(draw.uniform(*pause))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def summary(answers: list[Answer], clients_: int, seconds: float) -> dict[str, Any]:
    """Queries, failures and latency percentiles (seconds), in all and per query."""

    def percentiles(values: list[float]) -> dict[str, float]:
        if len(values) < 2:
            return {"p50": round(values[0], 3), "p95": round(values[0], 3)} if values else {}
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        return {"p50": round(cuts[49], 3), "p95": round(cuts[94], 3), "max": round(max(values), 3)}

    answered = [a.seconds for a in answers if a.error is None]
    return {
        "clients": clients_,
        "seconds": round(seconds, 1),
        "queries": len(answers),
        "failed": sum(a.error is not None for a in answers),
        **percentiles(answered),
        "queries_per_second": round(len(answered) / seconds, 2) if seconds else None,
        "by_query": {
            name: {
                "queries": sum(a.query == name for a in answers),
                **percentiles([a.seconds for a in answers if a.query == name and a.error is None]),
            }
            for name in sorted({a.query for a in answers})
        },
        "errors": sorted({a.error for a in answers if a.error})[:3],
    }


@dataclass
class Server:
    """A `lakehouse sql-server` process, its port and every line it printed."""

    process: subprocess.Popen[str]
    port: int
    lines: list[str]


def _drain(process: subprocess.Popen[str], lines: list[str]) -> None:
    """Keep a server's output read (and its lines) while it serves."""
    for line in process.stdout or ():
        lines.append(line.rstrip())


def start_server(config: Config, port: int, seconds: float = 180, result_cache_mb: int = 64) -> Server:
    """`lakehouse sql-server` on 127.0.0.1:``port``, once it says it is ready."""
    command = [
        sys.executable,
        "-m",
        "commands.cli",
        "sql-server",
        "--root",
        str(config.root),
        "--port",
        str(port),
        "--result-cache-mb",
        str(result_cache_mb),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = Server(process, port, [])
    deadline = time.monotonic() + seconds
    assert process.stdout is not None
    for line in process.stdout:
        server.lines.append(line.rstrip())
        if "sql-server ready" in line:
            threading.Thread(target=_drain, args=(process, server.lines), daemon=True).start()
            return server
        if time.monotonic() > deadline:
            break
    process.kill()
    raise LoadTestError(f"sql-server did not start: {server.lines[-1] if server.lines else process.poll()}")


def stop_server(server: Server) -> int:
    """SIGTERM, then its exit status."""
    server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise LoadTestError("sql-server did not stop within 60 s of SIGTERM") from None


def cache_counts(server: Server) -> dict[str, int] | None:
    """The result cache's counts in a stopped server's last line, None without a cache."""
    last = next((line for line in reversed(server.lines) if "sql-server stopped" in line), "")
    _, found, counts = last.partition("(result cache: ")
    return json.loads(counts.rstrip(")")) if found else None


def run(config: Config, count: int, seconds: float, result_cache_mb: int = 64) -> dict[str, Any]:
    """Start the endpoint, ask every query once (a warm-up, not counted), then ``count`` clients for
    ``seconds``, with a progress line every 10 s."""
    port = free_port()
    print(f"starting lakehouse sql-server on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    server = start_server(config, port, result_cache_mb=result_cache_mb)
    totals: dict[str, Any] = {}
    try:
        cursor = connect("127.0.0.1", port).cursor()
        warm = [ask(cursor, query, name) for name, query in QUERIES.items()]
        failed = [a for a in warm if a.error]
        if failed:
            raise LoadTestError(f"sql-loadtest: {failed[0].query} failed: {failed[0].error}")
        print(
            f"warm-up: {len(warm)} queries in {sum(a.seconds for a in warm):.1f} s",
            file=sys.stderr,
            flush=True,
        )
        started = time.monotonic()
        deadline = started + seconds
        done = threading.Event()

        def progress() -> None:
            while not done.wait(10):
                print(f"  {time.monotonic() - started:.0f} s of {seconds:.0f}", file=sys.stderr, flush=True)

        threading.Thread(target=progress, daemon=True).start()
        answers = clients("127.0.0.1", port, count, lambda: time.monotonic() < deadline)
        done.set()
        totals = summary(answers, count, time.monotonic() - started)
    finally:
        code = stop_server(server)
        if code != 0:
            print(f"sql-server exited with status {code}", file=sys.stderr)
    return {**totals, "result_cache": cache_counts(server)}
