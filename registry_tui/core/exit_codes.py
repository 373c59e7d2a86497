"""Exit codes of the `registry` CLI: an API, documented in the README."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1  # the database said no: taken, version conflict, not found, audit violation
    INVALID = 2  # invalid input or usage; nothing was written
    UNAVAILABLE = 3  # database unreachable, too slow to answer, or refusing our credentials
    UNKNOWN = 4  # a write may or may not have applied and even a SERIAL read could not tell
    INTERRUPTED = 130
