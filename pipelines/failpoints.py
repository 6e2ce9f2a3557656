"""Named moments a crash is hard to hit at random, for the fault suite: when ``$LAKEHOUSE_FAILPOINT`` names
one, the process kills itself and its JVM (SIGKILL to its process group) on reaching it, as a power cut
would. Unset, as in every real run, ``reach`` only compares two strings.

The names: ``ingest appended`` (every source's files in bronze, none logged yet), ``created <table>`` (a
table just created, before its first data commit), ``registered <model>`` (a model version registered
and tagged, before any alias or decision names it)."""

from __future__ import annotations

import os
import signal

VARIABLE = "LAKEHOUSE_FAILPOINT"


def reach(name: str) -> None:
    """Die here if the fault suite asked for ``name``."""
    if os.environ.get(VARIABLE) == name:
        os.killpg(os.getpgrp(), signal.SIGKILL)
