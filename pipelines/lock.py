"""One writer per lakehouse: every command that writes tables holds an exclusive lock on a file under the
root for as long as its process lives. The operating system releases it when the process ends, however it
ends (a killed run leaves no stale lock). Readers (`lakehouse sql`, notebooks, the pandas reader) take no
lock and never touch the writers' catalog, so an open SQL shell never makes a job fail.

The lock is an ``flock`` on a local file: it holds between processes of one machine. Writers on several
machines sharing one root need a lock service of their own (see README: on a real cluster)."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

from pipelines.config import Config
from pipelines.errors import PipelineError


class LockError(PipelineError):
    """Another process is writing this lakehouse."""


_HELD: dict[Path, int] = {}  # lock file -> descriptor this process holds it with


def hold(config: Config, command: str) -> None:
    """Take the writer lock of ``config.root`` for the rest of this process (again: a no-op); when another
    process holds it, fail with one line naming the holder."""
    path = config.lock_path.resolve()
    if path in _HELD:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = holder_of(path)
        os.close(fd)
        raise LockError(
            f"the lakehouse {config.root} is being written by {holder}: one writer at a time, so wait for it "
            "to finish (reading needs no lock: `lakehouse sql`, notebooks)"
        ) from None
    since = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    about = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "since": since}
    about["argv"] = " ".join(sys.argv[1:])[:200]
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(about).encode())
    _HELD[path] = fd


def holder_of(path: Path) -> str:
    """Who holds the lock, as its holder wrote it."""
    try:
        about = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        about = {}
    if not about:
        return "another process"
    return f"pid {about['pid']} on {about['host']} ({about['command']}, since {about['since']})"


def release_all() -> None:
    """Give every lock this process holds back before it ends (a long-lived process between runs)."""
    while _HELD:
        os.close(_HELD.popitem()[1])
