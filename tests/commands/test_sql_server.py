"""The SQL endpoint of BI tools (`lakehouse sql-server`), over the wire with a Thrift client (PyHive) as a
BI tool speaks it: the views answer as `lakehouse sql` does, 8 clients query while a run writes a new date,
every write is refused and changes nothing, a malformed statement gets one line. `make test-sql-server`;
CI runs it with the fault suite and the cluster test (`make test-slow`)."""

from __future__ import annotations

import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from apps.loadtest import free_port
from commands import sql_load
from jobs import publish
from pipelines import sql_server
from pipelines.config import load_config
from pipelines.runtime import RunContext
from sample.daily import write_days
from tests.conftest import (
    REFERENCE_AS_OF,
    REFERENCE_CUSTOMERS,
    REFERENCE_SEED,
    RUN_ENV,
    copy_root,
    lakehouse_run,
)

pytestmark = pytest.mark.sqlserver
FIRST = REFERENCE_AS_OF
NEXT = FIRST + timedelta(days=1)
LATEST = "SELECT max(as_of_date) FROM gold.customer_marketing"


def _run(root: Path, as_of: date) -> subprocess.Popen[str]:
    return subprocess.Popen(
        lakehouse_run(root, as_of=as_of), env=RUN_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _finished(run: subprocess.Popen[str]) -> None:
    _, err = run.communicate()
    assert run.returncode == 0, f"lakehouse run failed:\n{err[-3000:]}"


def _served(server: sql_load.Server) -> set[str]:
    """The tables the endpoint said it serves since it started."""
    said = [line.split("new tables served: ", 1)[1] for line in server.lines if "new tables served: " in line]
    return {name for names in said for name in names.split(", ")}


@pytest.fixture(scope="module")
def endpoint(reference, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The endpoint on a copy of the reference lakehouse (as of FIRST) whose tables land, a layer at a
    time, after it started on none, as a first run's would; stopped at the end by SIGTERM, which must end
    it cleanly."""
    base = tmp_path_factory.mktemp("sql")
    root = copy_root(reference, base / "lakehouse")
    config = load_config(overrides={"root": root}, environ={})
    config.tables_dir.rename(base / "tables")
    config.tables_dir.mkdir()
    server = sql_load.start_server(config, free_port())
    layers = sorted((base / "tables").iterdir())
    landing = {f"{layer.name}.{table.name}" for layer in layers for table in layer.iterdir()}
    for layer in layers:
        layer.rename(config.tables_dir / layer.name)
    deadline = time.monotonic() + 120
    while _served(server) != landing and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _served(server) == landing, "\n".join(server.lines[-20:])
    yield config, server
    assert sql_load.stop_server(server) == 0, "\n".join(server.lines[-20:])
    assert "sql-server stopped" in server.lines[-1]
    counts = sql_load.cache_counts(server)
    assert counts and counts["hits"] > 0 and counts["not_kept"] > 0, server.lines[-1]


@pytest.fixture(scope="module")
def published(spark, endpoint) -> RunContext:  # type: ignore[no-untyped-def]
    """The test session's catalog as `lakehouse sql` sees the lakehouse: every table and view by name."""
    config, _ = endpoint
    ctx = RunContext(spark, config, FIRST, "sql-test")
    publish.run(ctx)
    return ctx


@pytest.fixture
def cursor(endpoint):  # type: ignore[no-untyped-def]
    """A connection of the test's own, closed after it: a client leaving must not disturb the next ones
    (the Thrift server closes the class loader of a session that ends)."""
    _, server = endpoint
    connection = sql_load.connect("127.0.0.1", server.port)
    yield connection.cursor()
    connection.close()


def _answer(cursor, query: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    answer = sql_load.ask(cursor, query)
    assert answer.error is None, f"{query}: {answer.error}"
    assert answer.rows is not None
    return answer.rows


def _as_spark(spark, rows: list[tuple], schema: T.StructType):  # type: ignore[no-untyped-def]
    """JDBC rows as a DataFrame of ``schema``: the Thrift protocol carries dates and timestamps as text."""
    textual = (T.DateType, T.TimestampType)
    carried = T.StructType(
        [
            T.StructField(f.name, T.StringType() if isinstance(f.dataType, textual) else f.dataType)
            for f in schema
        ]
    )
    frame = spark.createDataFrame(rows, carried)
    return frame.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema])


@pytest.mark.parametrize(
    "query",
    [
        *sql_load.QUERIES.values(),
        "SELECT * FROM gold.campaign_targets",
        "SELECT * FROM ops.dq_trend",
        "SELECT customer_id, as_of_date, acceptance_probability, segment_name FROM gold.customer_marketing",
    ],
)
def test_the_views_answer_as_lakehouse_sql_does(spark, published, cursor, query):
    expected = spark.sql(query)
    # asked twice: the second answer comes from the endpoint's result cache
    for _ in range(2):
        served = _as_spark(spark, _answer(cursor, query), expected.schema)
        assert served.count() > 0
        assert_df_equality(
            served, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
        )


@pytest.mark.parametrize(
    "query",
    [
        "SELECT rand() AS r FROM gold.segment_summary LIMIT 1",
        "SELECT current_timestamp() AS t, count(*) FROM gold.customer_marketing",
        "SELECT uuid() AS u",
    ],
)
def test_an_answer_that_changes_by_itself_is_never_kept(cursor, query):
    first, second = _answer(cursor, query), _answer(cursor, query)
    assert first != second


def test_tables_and_views_are_served_by_name_with_their_comments(spark, published, endpoint, cursor):
    _, server = endpoint
    assert any("new tables served" in line for line in server.lines), "the first run's tables, as they landed"
    for layer in ("bronze", "silver", "gold", "ops"):
        served = {r[1] for r in _answer(cursor, f"SHOW TABLES IN {layer}")}
        assert served == {r.tableName for r in spark.sql(f"SHOW TABLES IN {layer}").collect()}, layer
    for name in ("gold.customer_marketing", "gold.segment_summary", "ops.dq_results"):
        described = [tuple(r) for r in spark.sql(f"DESCRIBE TABLE {name}").collect()]
        assert _answer(cursor, f"DESCRIBE TABLE {name}") == described, name
    comments = [
        r[2] for r in _answer(cursor, "DESCRIBE TABLE gold.customer_marketing") if not r[0].startswith("#")
    ]
    assert comments and all(comments)


def test_eight_clients_query_while_a_run_writes_a_new_date(endpoint, cursor):
    config, server = endpoint
    queries = {**sql_load.QUERIES, "latest": LATEST}
    vocabulary = config.vocabulary
    write_days(config.landing_dir, REFERENCE_CUSTOMERS, REFERENCE_SEED, NEXT, 1, vocabulary.categories,
               vocabulary.channels)  # fmt: skip
    run = _run(Path(config.root), NEXT)
    # each client pauses 3-6 s between queries: 8 at once all along, leaving the run some of the 2 cores
    questions = {name: (query,) for name, query in queries.items()}
    answers = sql_load.clients(
        "127.0.0.1", server.port, 8, lambda: run.poll() is None, questions, pause=(3, 6)
    )
    _finished(run)
    assert [a for a in answers if a.error] == []
    assert {a.query for a in answers} == set(queries), "every query answered during the run"
    seen = {a.rows[0][0] for a in answers if a.query == "latest" and a.rows}
    assert seen <= {FIRST.isoformat(), NEXT.isoformat()} and FIRST.isoformat() in seen
    # the run's commit shows in the next query, without a restart
    assert _answer(cursor, LATEST) == [(NEXT.isoformat(),)]


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_write_is_refused_by_name_or_path_and_nothing_changes(spark, endpoint, cursor):
    config, _ = endpoint
    marketing = f"delta.`{config.table_path('gold.customer_marketing').resolve()}`"
    columns = "customer_id, as_of_date"
    statements = {
        "INSERT": [
            "INSERT INTO gold.customer_marketing SELECT * FROM gold.customer_marketing",
            f"INSERT INTO {marketing} SELECT * FROM gold.customer_marketing",
            f"INSERT OVERWRITE DIRECTORY '{config.root}/extract' USING parquet SELECT {columns} FROM gold.customer_marketing",
        ],
        "UPDATE": [
            "UPDATE gold.customer_marketing SET acceptance_probability = 1",
            f"UPDATE {marketing} SET acceptance_probability = 1",
        ],
        "DELETE": ["DELETE FROM gold.customer_marketing", f"DELETE FROM {marketing} WHERE customer_id > 0"],
        "MERGE": [
            f"MERGE INTO {target} t USING gold.customer_marketing s ON t.customer_id = s.customer_id "
            "WHEN MATCHED THEN DELETE"
            for target in ("gold.customer_marketing", marketing)
        ],
        "DROP": [
            "DROP TABLE gold.customer_features",
            "DROP VIEW gold.segment_summary",
            "DROP DATABASE gold CASCADE",
        ],
        "CREATE": [
            "CREATE TABLE gold.copy AS SELECT * FROM gold.customer_marketing",
            f"CREATE TABLE delta.`{config.root}/tables/gold/copy` AS SELECT {columns} FROM gold.customer_marketing",
            "CREATE OR REPLACE VIEW gold.segment_summary AS SELECT 1 AS segment_id",
            "CREATE TEMPORARY VIEW mine AS SELECT 1 AS a",
        ],
        "ALTER": [
            "ALTER TABLE gold.customer_marketing ADD COLUMNS (note STRING)",
            f"ALTER TABLE {marketing} SET TBLPROPERTIES ('delta.appendOnly' = 'true')",
            "ALTER TABLE gold.customer_marketing RENAME TO gold.renamed",
        ],
        "TRUNCATE": ["TRUNCATE TABLE gold.customer_marketing"],
        "VACUUM": [f"VACUUM {marketing} RETAIN 0 HOURS"],
        "RESTORE": ["RESTORE TABLE gold.customer_marketing TO VERSION AS OF 0"],
        "a Java method call (reflect, java_method)": ["SELECT java_method('java.lang.System', 'exit', 0)"],
    }
    ctx = RunContext(spark, config, FIRST, "sql-test")
    tables = ctx.lakehouse.tables()
    hashes = {name: ctx.lakehouse.content_hash(name, ignore=()) for name in tables}
    files = _files(config.root / "tables")
    for keyword, texts in statements.items():
        for text in texts:
            answer = sql_load.ask(cursor, text)
            assert answer.error is not None, f"not refused: {text}"
            assert "\n" not in answer.error, f"{text}: {answer.error}"
            assert answer.error.startswith(
                f"Error running query: {keyword} refused: this endpoint is read-only"
            ), f"{text}: {answer.error}"
    assert _files(config.root / "tables") == files
    assert {name: ctx.lakehouse.content_hash(name, ignore=()) for name in tables} == hashes
    assert not (config.root / "extract").exists()
    assert (
        _answer(cursor, "SELECT count(*) FROM gold.segment_summary")[0][0] > 1
    )  # the view is the lakehouse's


def test_a_malformed_statement_or_unknown_table_gets_one_line_and_the_endpoint_serves_on(cursor):
    answer = sql_load.ask(cursor, "SELEC * FRM gold.segment_summary")
    assert answer.error == (
        "Error running query: [PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'. SQLSTATE: 42601 (line 1, pos 0)"
    )
    unknown = sql_load.ask(cursor, "SELECT * FROM gold.nowhere")
    assert unknown.error is not None and "\n" not in unknown.error
    assert unknown.error.startswith(
        "Error running query: [TABLE_OR_VIEW_NOT_FOUND] The table or view `gold`.`nowhere` cannot be found."
    ), unknown.error
    assert _answer(cursor, "SELECT count(*) FROM gold.objective_summary")[0][0] > 0


def test_the_result_cache_holds_its_size_the_least_recently_used_leaving_first(spark):
    """The cache's bookkeeping, on a copy of its class compiled in the test's own session (a class loader
    of its own: the endpoint's cache is another), where Delta's jars are Spark's added jars."""
    jvm, gateway = spark._jvm, spark.sparkContext._gateway
    jars = jvm.java.lang.Thread.currentThread().getContextClassLoader()
    guard = sql_server.compiled(spark, sql_server.GUARD, jars)
    cache = sql_server.compiled(spark, sql_server.RESULT_CACHE, guard).loadClass("ResultCache")
    loader = cache.getClassLoader()
    answer_class = loader.loadClass("ResultCache$Answer")

    def hidden(name: str, *types):  # type: ignore[no-untyped-def]
        method = cache.getDeclaredMethod(name, _array(gateway, jvm.java.lang.Class, types))
        method.setAccessible(True)
        return lambda *args: method.invoke(None, _array(gateway, jvm.java.lang.Object, args))

    constructor = answer_class.getDeclaredConstructors()[0]
    constructor.setAccessible(True)

    def answer(size: int):  # type: ignore[no-untyped-def]
        return constructor.newInstance(
            _array(gateway, jvm.java.lang.Object, (None, jvm.java.lang.Long(size)))
        )

    text = jvm.java.lang.Class.forName("java.lang.String")
    keep = hidden("keep", text, answer_class)
    lookup = hidden("lookup", text)
    sql_server.call_static(spark, cache, "configure", 4000)
    for key in "abcd":
        keep(key, answer(1000))
    assert lookup("a") is not None  # now the most recently used
    keep("e", answer(1000))  # over 4000 bytes: the least recently used, b, leaves
    keep("f", answer(1001))  # more than a quarter of the cache: not kept
    held = {key for key in "abcdef" if lookup(key) is not None}
    assert held == {"a", "c", "d", "e"}
    assert sql_server.cache_stats(spark, cache) == {
        "hits": 5, "misses": 2, "not_kept": 0, "answers": 4, "bytes": 4000,
    }  # fmt: skip


def _array(gateway, element, values):  # type: ignore[no-untyped-def]
    array = gateway.new_array(element, len(values))
    for i, value in enumerate(values):
        array[i] = value
    return array
