"""Command-line machinery: commands declared as data, the shared run and config arguments, one-line errors.

A command is ``name -> (help, handler, arguments)``; "group action" names nest (``models rollback``).
Every command takes the config arguments; a handler returns the exit code.
"""

from __future__ import annotations

import argparse
import faulthandler
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from pipelines.config import Config, ConfigError, load_config
from pipelines.errors import first_line

Argument = tuple[str, dict[str, Any]]
Handler = Callable[[argparse.Namespace], int]
Command = tuple[str, Handler, Sequence[Argument]]


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in YYYY-MM-DD form") from exc


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def whole_number(text: str) -> int:
    """0 or more."""
    if text.strip() == "0":
        return 0
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (0 or more)") from None


CONFIG: list[Argument] = [
    ("--config", {"help": "TOML config file (default: $LAKEHOUSE_CONFIG or ./lakehouse.toml)"}),
    ("--root", {"help": "lakehouse directory (overrides the config's root)"}),
    ("--master", {"help": "Spark master (default: the config's, or spark-submit's)"}),
    ("--debug", {"action": "store_true", "help": "on failure, print the full trace instead of one line"}),
]
RUN: list[Argument] = [
    ("--as-of", {"type": iso_date, "help": "logical run date YYYY-MM-DD (default: today, UTC)"}),
    ("--run-id", {"help": "run id (default: run-<as-of date>)"}),
    (
        "--full-refresh",
        {"action": "store_true", "help": "rebuild silver from all of bronze (default: the new rows)"},
    ),
]


def add_arguments(parser: argparse.ArgumentParser, arguments: Sequence[Argument]) -> argparse.ArgumentParser:
    for flag, options in arguments:
        parser.add_argument(flag, **options)
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    overrides = {"root": args.root, "spark": {"master": args.master} if args.master else None}
    return load_config(args.config, {k: v for k, v in overrides.items() if v is not None})


def build_parser(prog: str, description: str, commands: Mapping[str, Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, Any] = {}
    for name, (text, handler, arguments) in commands.items():
        group, _, action = name.partition(" ")
        adder = subparsers
        if action:
            if group not in groups:
                nested = subparsers.add_parser(group, help=f"{group} {action}: {text}")
                groups[group] = nested.add_subparsers(dest="action", required=True, metavar="ACTION")
            adder, name = groups[group], action
        add_arguments(adder.add_parser(name, help=text), [*arguments, *CONFIG]).set_defaults(handler=handler)
    return parser


def dispatch(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, errors: tuple[type[Exception], ...]
) -> int:
    """Run the chosen command (see ``guarded``)."""
    args = parser.parse_args(argv)
    return guarded(args.handler, args, errors)


def guarded(handler: Handler, args: argparse.Namespace, errors: tuple[type[Exception], ...] = ()) -> int:
    """Run a command: a bad value exits 2, a pipeline failure (``errors``) or any other failure exits 1,
    each as one line on stderr; ``--debug`` lets the trace through instead. ``kill -USR1 <pid>`` prints
    where every thread of a running command is (for a run that seems stuck), and the command goes on."""
    if (
        hasattr(signal, "SIGUSR1")
        and sys.__stderr__ is not None
        and threading.current_thread() is threading.main_thread()
    ):
        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
    if not getattr(args, "debug", False):
        _quiet_spark_errors()
    try:
        return int(handler(args))
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        code = 2 if isinstance(exc, (ConfigError, ValueError)) and not isinstance(exc, errors) else 1
        print(f"error: {one_line(exc, errors)}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _quiet_spark_errors() -> None:
    """PySpark logs a SQL or DataFrame error with its JVM trace before raising it: the one line says it."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def one_line(exc: BaseException, expected: tuple[type[Exception], ...] = ()) -> str:
    """A failure as one line: the message's first line (for a JVM error, the Java exception's), prefixed
    by its kind; for an unexpected kind, where to find the trace."""
    first = first_line(exc)
    if isinstance(exc, (ConfigError, ValueError)) and not isinstance(exc, expected):
        return first
    hint = "" if isinstance(exc, expected) else " (--debug prints the trace)"
    return f"{type(exc).__name__}: {first}{hint}"
