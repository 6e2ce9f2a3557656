"""The fault suite's killed lakehouse (`make test-faults`): the reference's data (``tests/conftest.py``,
built there by an uninterrupted run) through a sequence of killed attempts, each of which must end killed
or succeeded. The kills run in a thread of their own (each attempt is a process), alongside the tests that
need only the reference."""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from pipelines import failpoints
from tests.conftest import RUN_ENV, lakehouse_run, reference_landed

KILLS = int(os.environ.get("FAULT_KILLS", "16"))  # random ones: every step once, and five more
ATTEMPT_SECONDS = 480  # an attempt reaches any step within about three minutes, even on a busy machine
# the moments: a step's start line, then a random delay. Every step gets a kill, the rest fall on random
# steps; attempts go through the steps in run order, so each attempt resumes the work the previous one cut
STEPS = (
    "▶ ingest", "▶ silver", "▶ gold: customer features", "▶ gold: responses", "▶ train: segmentation",
    "▶ train: campaign acceptance", "▶ score: segments", "▶ score: campaign acceptance",
    "▶ score: segment profiles", "▶ score: drift", "▶ publish",
)  # fmt: skip


# moments random kills rarely hit, each reached by one attempt that kills itself there
# (``pipelines.failpoints``), and the step whose first random kill it comes before: the first run's bronze
# appended but not logged (the reproduction of a night that failed after a crash), a silver and a gold table
# created before their first commit, a model version registered before its decision and alias. The random
# kills before each cut the steps before it (a kill falls at most 4 s after its step's start), so none
# passes it; the random kills after it still find its step's work to cut.
FAILPOINTS = {
    "ingest appended": "▶ ingest", "created silver.orders": "▶ silver",
    "created gold.customer_features": "▶ gold: customer features",
    "registered campaign_acceptance": "▶ train: campaign acceptance",
}  # fmt: skip


class AttemptFailedError(AssertionError):
    """An attempt after a kill ended by itself with an error: a crash left something the next run cannot
    handle."""


def _failed(previous: str, code: int, tail: collections.deque[str]) -> AttemptFailedError:
    return AttemptFailedError(
        f"the attempt after the kill at {previous} failed by itself (exit {code}); its last output:\n"
        + "".join(list(tail)[-40:])
    )


def _failpoint_attempt(root: Path, failpoint: str, previous: str) -> str:
    """An attempt that kills itself at ``failpoint``; it must not end any other way."""
    env = {**RUN_ENV, failpoints.VARIABLE: failpoint}
    process = subprocess.Popen(
        lakehouse_run(root), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    out, _ = process.communicate(timeout=ATTEMPT_SECONDS)
    if process.returncode != -signal.SIGKILL:
        tail = collections.deque(out.splitlines(keepends=True), maxlen=600)
        if process.returncode != 0:
            raise _failed(previous, process.returncode, tail)
        raise AssertionError(f"the attempt ran to its end without reaching the failpoint {failpoint!r}")
    return f"failpoint {failpoint}"


def _killed_attempt(root: Path, step: str, delay: float, previous: str) -> str:
    """Start a run, kill it ``delay`` seconds after it starts ``step`` (or when it ends first); it must end
    killed or succeeded (``previous``: the kill before it, named when it fails by itself)."""
    process = subprocess.Popen(
        lakehouse_run(root), env=RUN_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    # an attempt that neither reaches its step nor ends within ATTEMPT_SECONDS hung: it prints where each
    # of its Python and JVM threads waits, is stopped, and the failure shows that
    watchdog = threading.Timer(ATTEMPT_SECONDS, _dump_and_kill, (process.pid,))
    watchdog.start()
    where, tail = "the end", collections.deque(maxlen=600)
    for line in process.stdout:
        tail.append(line)
        if step in line:
            where = line.strip()
            break
    watchdog.cancel()
    if where == "the end":
        code = process.wait()
        if code == -signal.SIGKILL:
            raise AssertionError(
                f"an attempt hung: neither {step!r} nor its end within {ATTEMPT_SECONDS} s; its last output "
                "and thread dumps:\n" + "".join(tail)
            )
        if code != 0:
            raise _failed(previous, code, tail)
        return where
    time.sleep(delay)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    elif process.returncode != 0:  # it ended by itself during the delay
        assert process.stdout is not None
        tail.extend(process.stdout.readlines())
        raise _failed(previous, process.returncode, tail)
    process.wait()
    return where


def _dump_and_kill(pid: int) -> None:
    """Ask a hung attempt for its Python threads (SIGUSR1, see ``pipelines.cli.dispatch``) and its JVM's
    threads (SIGQUIT to the java process of its group), give them time to print, then kill the group."""
    os.kill(pid, signal.SIGUSR1)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().split("(", 1)[1].rsplit(")", 1)
            if int(fields.split()[2]) == pid and "java" in name:
                os.kill(int(stat.parent.name), signal.SIGQUIT)
        except (OSError, ValueError, IndexError):
            continue  # a process that ended meanwhile
    time.sleep(5)
    os.killpg(pid, signal.SIGKILL)


def _progress(line: str) -> None:
    """A line of the kills' progress, on the process's own stderr: a bad-input test capturing its output
    (``capsys``) replaces ``sys.stdout`` and ``sys.stderr`` for every thread while it runs, and a kill's
    line printed then went into that test's capture instead of the log."""
    assert sys.__stderr__ is not None
    print(line, file=sys.__stderr__, flush=True)


def plan() -> list[tuple[str, float]]:
    """The sequence's moments in run order: KILLS random ones, every step at least once, as (a step's start
    line, a delay after it), and each failpoint as (its name, -1) before the first random kill at its
    step."""
    rng = random.Random(20261130)
    steps = list(range(len(STEPS)))[:KILLS] + [rng.randrange(len(STEPS)) for _ in range(KILLS - len(STEPS))]
    moments: list[tuple[str, float]] = []
    for at in sorted(steps):
        placed = {name for name, _ in moments}
        moments += [(f, -1.0) for f, step in FAILPOINTS.items() if step == STEPS[at] and f not in placed]
        moments.append((STEPS[at], rng.uniform(0.0, 4.0)))
    return moments


def _attempts_and_finish(root: Path) -> list[str]:
    """An attempt cut at each moment of ``plan()``, in run order from the first run (each attempt resumes
    the work the one before was cut off in), then one run to its end; what each attempt was cut at."""
    moments: list[str] = []
    start, planned = time.monotonic(), plan()
    for n, (at, delay) in enumerate(planned):
        began = time.monotonic()
        previous = moments[-1] if moments else "none (first run)"
        if delay < 0:
            moments.append(_failpoint_attempt(root, at, previous))
        else:
            moments.append(f"{_killed_attempt(root, at, delay, previous)} +{delay:.1f}s")
        took, since = time.monotonic() - began, time.monotonic() - start
        _progress(f"kill {n + 1:2d}/{len(planned)}: {moments[-1]}  (attempt {took:.0f} s, {since:.0f} s in)")
    final = subprocess.run(lakehouse_run(root), env=RUN_ENV, capture_output=True, text=True)
    if final.returncode != 0:
        raise _failed(
            moments[-1], final.returncode, collections.deque([final.stdout[-3000:], final.stderr[-3000:]])
        )
    _progress(f"kills: the last attempt ran to its end, {time.monotonic() - start:.0f} s in")
    return moments


@pytest.fixture(scope="session")
def kill_sequence(tmp_path_factory) -> Iterator[Future[tuple[Path, list[str]]]]:  # type: ignore[no-untyped-def]
    """The killed lakehouse and what each attempt was cut at, computed in the background: ``.result()``
    waits."""
    root = reference_landed(tmp_path_factory.mktemp("faults") / "killed")

    def attempts() -> tuple[Path, list[str]]:
        return root, _attempts_and_finish(root)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kills") as pool:
        yield pool.submit(attempts)
