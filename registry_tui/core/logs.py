"""Logging as the registry's entry points want it: called by each of them, never at import.

The driver logs every failed connection attempt (and coodie a few warnings) while it retries;
a person sees the registry's own one-line message instead, never that stream.
"""

from __future__ import annotations

import logging

DRIVER_LOGGERS = ("cassandra", "coodie")


def quiet_driver_logs() -> None:
    """Keep the driver's and coodie's log records away from the terminal (and from any
    handler the root logger has). Idempotent: one NullHandler per logger."""
    for name in DRIVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        logger.propagate = False
