"""Logging: one line per step, with elapsed time, so long runs show progress."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

LOGGER_NAME = "lakehouse"


def get_logger() -> logging.Logger:
    """Progress to stdout; errors (a refused file, a failed step) to stderr, where a scheduler looks."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        formatter = logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S")
        progress, errors = logging.StreamHandler(sys.stdout), logging.StreamHandler(sys.stderr)
        progress.addFilter(lambda record: record.levelno < logging.ERROR)
        errors.setLevel(logging.ERROR)
        for handler in (progress, errors):
            handler.setFormatter(formatter)
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


@contextmanager
def step(name: str) -> Iterator[None]:
    """Log the start and the end of a step with its duration; an error names the step."""
    log = get_logger()
    log.info("▶ %s", name)
    started, jobs = time.perf_counter(), _jobs()
    try:
        yield
    except Exception:
        log.error("✗ %s failed after %.1f s", name, time.perf_counter() - started)
        raise
    done = _jobs()
    counted = f", {done - jobs} Spark jobs" if done is not None and jobs is not None else ""
    log.info("✓ %s (%.1f s%s)", name, time.perf_counter() - started, counted)


def _jobs() -> int | None:
    from pipelines.work import spark_jobs  # a step outside Spark (the generator) imports no Spark

    return spark_jobs()
