"""The SQL endpoint of BI tools: Spark's Thrift JDBC/ODBC server (HiveThriftServer2, shipped in pyspark) on
the lakehouse's tables and views, read-only for its clients.

It runs in a reader's session: no writer lock, and the tables registered by location in a catalog of its
own (in memory), so it never holds what a scheduled run writes through. Every query reads each Delta table
as of its latest commit, so a new run date shows without a restart; tables that appear later are
registered as they land. A question asked again while none of its tables has committed is answered from
memory (``jvm/ResultCache.java``). Its clients' sessions carry a guard (``jvm/ReadOnlySql.java``; both
compiled by the Janino compiler Spark ships) that refuses every statement that would change something."""

from __future__ import annotations

import json
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
RESULT_CACHE = Path(__file__).with_name("jvm") / "ResultCache.java"
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


def compiled(spark: Any, source: Path, parent: Any = None) -> Any:
    """The class loader of a Java source compiled by Janino against the classes ``parent`` loads (by
    default the JVM's own class path: the endpoint's, Delta's jars included)."""
    compiler = spark._jvm.org.codehaus.janino.SimpleCompiler()
    compiler.setParentClassLoader(parent or spark._jsparkSession.getClass().getClassLoader())
    compiler.cook(source.read_text(encoding="utf-8"))
    return compiler.getClassLoader()


def guarded_session(spark: Any, result_cache_mb: int = 0) -> tuple[Any, Any]:
    """A new session (JVM side) sharing ``spark``'s catalog, whose statements pass the read-only guard and,
    with ``result_cache_mb``, are answered from a cache of that size while their tables do not change; and
    the cache's class (None without). Both go into the session extensions every later session is built
    with; ``spark`` itself, built before, keeps writing to its catalog (registering tables that land)."""
    jsession = spark._jsparkSession
    # ``spark``'s parser and analyzer are built now, before the guard: they take the extensions when
    # first used, and it registers the tables that land later
    jsession.sessionState().analyzer()
    guard = compiled(spark, GUARD)
    extensions = jsession.extensions()
    extensions.injectCheckRule(guard.loadClass("ReadOnlySql$Rule").newInstance())
    extensions.injectParser(guard.loadClass("ReadOnlySql$Parser").newInstance())
    cache = None
    if result_cache_mb > 0:
        cache = compiled(spark, RESULT_CACHE, guard).loadClass("ResultCache")  # its parser is the guard's
        call_static(spark, cache, "configure", result_cache_mb << 20)
        extensions.injectParser(cache.getClassLoader().loadClass("ResultCache$Parser").newInstance())
    return jsession.newSession(), cache


def call_static(spark: Any, cls: Any, method: str, *args: int) -> Any:
    """Call a static method of a class compiled here (py4j sees only its loader), ``long`` arguments."""
    gateway = spark.sparkContext._gateway
    types = gateway.new_array(spark._jvm.java.lang.Class, len(args))
    values = gateway.new_array(spark._jvm.java.lang.Object, len(args))
    for i, arg in enumerate(args):
        types[i] = spark._jvm.java.lang.Long.TYPE
        values[i] = spark._jvm.java.lang.Long(arg)
    return cls.getMethod(method, types).invoke(None, values)


CACHE_COUNTS = ("hits", "misses", "not_kept", "answers", "bytes")


def cache_stats(spark: Any, cache: Any) -> dict[str, int]:
    """The result cache's counts since the endpoint started: hits, misses, queries it could not keep,
    answers and bytes held."""
    return dict(zip(CACHE_COUNTS, (int(n) for n in call_static(spark, cache, "stats")), strict=True))


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


def start(
    ctx: RunContext, views: Sequence[View], host: str, port: int, result_cache_mb: int = 0
) -> tuple[Any, Any]:
    """Publish the tables and views, then start the Thrift server on ``host:port``; returns it once it
    listens, and the result cache's class (None without)."""
    _check_free(host, port)
    runner.publish(ctx, views)
    clients, cache = guarded_session(ctx.spark, result_cache_mb)
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
    return server, cache


def serve(
    ctx: RunContext,
    views: Sequence[View],
    host: str,
    port: int,
    refresh_seconds: float = 5.0,
    stop: threading.Event | None = None,
    result_cache_mb: int = 64,
) -> None:
    """Serve until Ctrl-C, SIGTERM or ``stop``: one line once clients can connect, one line per table
    that lands later, one line when stopped (with the result cache's counts)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    started = time.monotonic()
    server, cache = start(ctx, views, host, port, result_cache_mb)
    known = set(ctx.lakehouse.tables())
    cached = f"result cache {result_cache_mb} MB" if cache else "no result cache"
    _LOG.info(
        "sql-server ready: %s (%d tables; read-only; %s; %.1f s), Ctrl-C or SIGTERM stops it",
        jdbc_url(host, port), len(known), cached, time.monotonic() - started,
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
        counts = cache_stats(ctx.spark, cache) if cache else {}
        _LOG.info("sql-server stopped%s", f" (result cache: {json.dumps(counts)})" if counts else "")
