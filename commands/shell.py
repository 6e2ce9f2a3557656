"""`lakehouse sql`: query the lakehouse's catalog by name, one statement or an interactive shell."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from pyspark.sql import SparkSession
from pyspark.sql.utils import AnalysisException

PROMPT, CONTINUE = "lakehouse> ", "        -> "
HELP = """Statements end with ';'. Try:
  SHOW TABLES IN gold;
  SELECT * FROM gold.segment_summary;
  SELECT * FROM gold.campaign_targets WHERE objective = 'balanced' AND objective_rank <= 20;
  SELECT * FROM ops.dq_trend WHERE outcome != 'passed';
  DESCRIBE TABLE EXTENDED gold.customer_marketing;
Type 'exit' or press Ctrl-D to leave."""


def run_statement(spark: SparkSession, statement: str, limit: int) -> bool:
    """Run one statement and print its result; an error is printed, not raised. Returns success."""
    try:
        result = spark.sql(statement)
        if result.columns:
            result.show(limit, truncate=False)
        return True
    except AnalysisException as exc:
        print(f"error: {exc.getMessage() if hasattr(exc, 'getMessage') else exc}", file=sys.stderr)
        return False


def statements(lines: Iterable[str]) -> Iterable[str]:
    """Split input lines into statements at each ';' outside quotes (the last may omit its ';')."""
    current: list[str] = []
    quote: str | None = None
    for line in lines:
        for char in line + "\n":
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"`":
                quote = char
            elif char == ";":
                statement = "".join(current).strip()
                current = []
                if statement:
                    yield statement
                continue
            current.append(char)
    rest = "".join(current).strip()
    if rest:
        yield rest


def _prompted_lines() -> Iterable[str]:
    pending = False
    while True:
        try:
            line = input(CONTINUE if pending else PROMPT)
        except EOFError:
            print()
            return
        if not pending and line.strip().lower() in ("exit", "quit", "exit;", "quit;"):
            return
        if not pending and line.strip().lower() in ("help", "help;"):
            print(HELP)
            continue
        pending = not line.strip().endswith(";") and bool(line.strip() or pending)
        yield line


def interactive(spark: SparkSession, limit: int) -> None:
    try:
        import readline  # noqa: F401  (line editing and history in input())
    except ImportError:
        pass
    print(HELP)
    source = _prompted_lines() if sys.stdin.isatty() else (line.rstrip("\n") for line in sys.stdin)
    for statement in statements(source):
        run_statement(spark, statement, limit)
