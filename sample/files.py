"""Writing landing files fast and the same way every time: timestamps rendered by NumPy, JSON lines with the
raw contract's keys, files per month written chunk after chunk, chunks of work side by side in processes."""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np


def ts(day: date, seconds: int | np.integer) -> str:
    moment = datetime.combine(day, time(0), tzinfo=timezone.utc) + timedelta(seconds=int(seconds))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def record(source_columns: Sequence[str], *values: Any) -> dict[str, Any]:
    """A raw record with the source's columns, in the raw contract's order."""
    return dict(zip(source_columns, values, strict=True))


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


def timestamps(end_date: date, days_before: np.ndarray, seconds: np.ndarray | int) -> np.ndarray:
    """ISO-8601 UTC strings for ``end_date`` minus ``days_before`` days, plus ``seconds``."""
    moments = (
        np.datetime64(end_date, "s")
        - np.asarray(days_before).astype("timedelta64[D]")
        + np.asarray(seconds).astype("timedelta64[s]")
    )
    return np.char.add(np.datetime_as_string(moments, unit="s"), "Z")


def write_lines(folder: Path, prefix: str, by_month: dict[str, list[str]]) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for month, lines in sorted(by_month.items()):
        (folder / f"{prefix}_{month}.jsonl").write_text("\n".join(lines) + "\n")
    return len(by_month)


def json_record(columns: Sequence[str]) -> str:
    """A JSON object with the raw contract's keys in its order, for ``str.format`` with JSON-rendered values."""
    return "{{" + ", ".join(f"{json.dumps(c)}: {{}}" for c in columns) + "}}"


def by_month(months: np.ndarray, lines: list[str]) -> dict[str, str]:
    """Lines grouped by their month (in their order within a month), as the text of each month's file."""
    ranked = np.argsort(months, kind="stable")
    bounds = np.flatnonzero(np.r_[True, months[ranked][1:] != months[ranked][:-1], True])
    return {
        str(months[ranked[start]]): "".join(lines[i] + "\n" for i in ranked[start:stop])
        for start, stop in itertools.pairwise(bounds)
    }


class MonthFiles:
    """JSON-lines files per month, each opened once and written chunk after chunk."""

    def __init__(self, folder: Path, prefix: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.prefix = folder, prefix
        self.handles: dict[str, Any] = {}

    def write(self, by_month: dict[str, str]) -> None:
        for month, text in by_month.items():
            if month not in self.handles:
                self.handles[month] = (self.folder / f"{self.prefix}_{month}.jsonl").open("w")
            self.handles[month].write(text)

    def close(self) -> int:
        for handle in self.handles.values():
            handle.close()
        return len(self.handles)


def in_chunks(work: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
    """``work`` over ``tasks``, in order; side by side in worker processes when there are several."""
    main = getattr(sys.modules["__main__"], "__file__", None)
    if len(tasks) == 1 or (main is not None and not Path(main).is_file()):  # `python -` cannot spawn
        yield from map(work, tasks)
        return
    spawn = multiprocessing.get_context("spawn")  # not fork: the caller may have threads (Spark starting)
    with ProcessPoolExecutor(max_workers=min(os.cpu_count() or 1, len(tasks)), mp_context=spawn) as pool:
        with _workers_end_with_this_process(signal.SIGTERM):
            yield from pool.map(work, tasks)


@contextlib.contextmanager
def _workers_end_with_this_process(signum: int) -> Iterator[None]:
    """While inside, ``signum`` (by default it ends this process alone, and each worker ran on to the end
    of its chunk) first stops the worker processes. Only the main thread receives signals; a signal the
    process ignores stays ignored."""
    previous = signal.getsignal(signum)
    if threading.current_thread() is not threading.main_thread() or previous == signal.SIG_IGN:
        yield
        return
    restored = previous if previous is not None else signal.SIG_DFL

    def stop(received: int, frame: Any) -> None:
        for child in multiprocessing.active_children():
            child.terminate()
        signal.signal(received, restored)
        os.kill(os.getpid(), received)

    signal.signal(signum, stop)
    try:
        yield
    finally:
        signal.signal(signum, restored)


def settle(landing: Path, since: float, day: date | None = None) -> None:
    """Stamp the files written under ``landing`` since ``since`` (seconds since the epoch) as delivered at
    the end of ``day``, an hour ago at the latest: generated files are history, long settled, and ingestion
    leaves a file modified in its last ``ingest.settle_seconds`` for the next run."""
    latest = datetime.now(timezone.utc).timestamp() - 3600
    end = datetime.combine(day, time(23, 59), tzinfo=timezone.utc).timestamp() if day else latest
    stamp = min(end, latest)
    for path in landing.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= since - 1:
            os.utime(path, (stamp, stamp))
