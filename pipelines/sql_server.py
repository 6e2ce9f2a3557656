"""The SQL endpoint of BI tools: Spark's Thrift JDBC/ODBC server (HiveThriftServer2, shipped in pyspark) on
the lakehouse's tables and views, read-only for its clients.

It runs in a reader's session: no writer lock, and the tables registered by location in a catalog of its
own (in memory), so it never holds what a scheduled run writes through. Every query reads each Delta table
as of its latest commit, so a new run date shows without a restart; tables that appear later are
registered as they land. Its clients' sessions carry a guard (``jvm/ReadOnlySql.java``, compiled by the
Janino compiler Spark ships) that refuses every statement that would change something."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines import runner
from pipelines.cli import one_line
from pipelines.declare import View
from pipelines.errors import PipelineError
from pipelines.log import get_logger
from pipelines.runtime import RunContext
from pipelines.session import delta_classpath

GUARD = Path(__file__).with_name("jvm") / "ReadOnlySql.java"
_LOG = get_logger()


class SqlServerError(PipelineError):
    """The endpoint could not start: its port is taken, or it never listened."""


def session_conf() -> dict[str, str]:
    """The settings of the endpoint's Spark session, which every client's session starts from."""
    return {
        # Delta's jars on the JVM's own class path (see ``session.delta_classpath``)
        "spark.driver.extraClassPath": delta_classpath(),
        # many small queries at once: one task per shuffle, no re-planning between stages (0.5 s a view
        # query on the demo lakehouse, 0.9 s with the sizes a run of its landed data takes)
        "spark.sql.shuffle.partitions": "1",
        "spark.sql.adaptive.enabled": "false",
        # the Thrift server gives each client java.time dates, which Delta's answer of min/max/count from
        # file statistics does not convert (a ClassCastException on `SELECT max(as_of_date) ...`): such
        # queries read the files instead
        "spark.databricks.delta.optimizeMetadataQuery.enabled": "false",
    }


def jdbc_url(host: str, port: int) -> str:
    return f"jdbc:hive2://{host}:{port}/default"


def guarded_session(spark: Any) -> Any:
    """A new session (JVM side) sharing ``spark``'s catalog, whose statements pass the read-only guard.
    The guard goes into the session extensions every later session is built with; ``spark`` itself, built
    before, keeps writing to its catalog (registering tables that land)."""
    jsession = spark._jsparkSession
    # ``spark``'s parser and analyzer are built now, before the guard: they take the extensions when
    # first used, and it registers the tables that land later
    jsession.sessionState().analyzer()
    compiler = spark._jvm.org.codehaus.janino.SimpleCompiler()
    compiler.setParentClassLoader(jsession.getClass().getClassLoader())
    compiler.cook(GUARD.read_text(encoding="utf-8"))
    loader = compiler.getClassLoader()
    extensions = jsession.extensions()
    extensions.injectCheckRule(loader.loadClass("ReadOnlySql$Rule").newInstance())
    extensions.injectParser(loader.loadClass("ReadOnlySql$Parser").newInstance())
    return jsession.newSession()


def _check_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SqlServerError(
                f"sql-server: cannot listen on {host}:{port} ({exc.strerror}); choose another --port"
            ) from exc


def _wait_listening(host: str, port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SqlServerError(
        f"sql-server: the Thrift server did not listen on {host}:{port} within {seconds:.0f} s"
    )


def start(ctx: RunContext, views: Sequence[View], host: str, port: int) -> Any:
    """Publish the tables and views, then start the Thrift server on ``host:port``; returns it once it
    listens."""
    _check_free(host, port)
    runner.publish(ctx, views)
    clients = guarded_session(ctx.spark)
    conf = clients.conf()
    conf.set("hive.server2.thrift.bind.host", host)
    conf.set("hive.server2.thrift.port", str(port))
    conf.set("hive.server2.transport.mode", "binary")
    # the server keeps its own sessions' state in a Derby database in memory; its boot log would land in
    # the working directory
    jvm: Any = ctx.spark._jvm
    jvm.java.lang.System.setProperty("derby.stream.error.file", os.devnull)
    thrift = jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2
    server = thrift.startWithContext(clients.sqlContext())
    _wait_listening(host, port, 60)
    return server


def serve(
    ctx: RunContext,
    views: Sequence[View],
    host: str,
    port: int,
    refresh_seconds: float = 5.0,
    stop: threading.Event | None = None,
) -> None:
    """Serve until Ctrl-C, SIGTERM or ``stop``: one line once clients can connect, one line per table
    that lands later, one line when stopped."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    started = time.monotonic()
    server = start(ctx, views, host, port)
    known = set(ctx.lakehouse.tables())
    _LOG.info(
        "sql-server ready: %s (%d tables; read-only; %.1f s), Ctrl-C or SIGTERM stops it",
        jdbc_url(host, port), len(known), time.monotonic() - started,
    )  # fmt: skip
    try:
        while not stop.wait(refresh_seconds):
            on_disk = set(ctx.lakehouse.tables())
            if not on_disk - known:
                continue
            try:
                runner.publish(ctx, views)
            except Exception as exc:  # a table created but not yet committed: the next look registers it
                _LOG.warning("sql-server: new tables not served yet (%s); looking again", one_line(exc))
                continue
            _LOG.info("sql-server: new tables served: %s", ", ".join(sorted(on_disk - known)))
            known = on_disk
    finally:
        server.stop()
        _LOG.info("sql-server stopped")
