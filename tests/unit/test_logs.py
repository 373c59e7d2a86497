"""quiet_driver_logs: what the entry points call so no driver record reaches a terminal."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from registry_tui.core.config import Settings
from registry_tui.core.logs import DRIVER_LOGGERS, quiet_driver_logs


@pytest.fixture
def unquieted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver loggers as a process that never called quiet_driver_logs has them."""
    for name in DRIVER_LOGGERS:
        logger = logging.getLogger(name)
        kept = [h for h in logger.handlers if type(h) is not logging.NullHandler]
        monkeypatch.setattr(logger, "handlers", kept)
        monkeypatch.setattr(logger, "propagate", True)


@pytest.mark.usefixtures("unquieted")
def test_driver_records_reach_no_handler_once_quieted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    logging.getLogger("coodie").warning("before")
    assert [r.getMessage() for r in caplog.records] == ["before"]  # the capture works
    quiet_driver_logs()
    quiet_driver_logs()
    logging.getLogger("coodie").warning("coodie after")
    logging.getLogger("cassandra.cluster").warning("driver after")
    assert [r.getMessage() for r in caplog.records] == ["before"]
    for name in DRIVER_LOGGERS:
        handlers = logging.getLogger(name).handlers
        assert sum(type(h) is logging.NullHandler for h in handlers) == 1


def test_importing_the_core_configures_no_logging() -> None:
    probe = (
        "import logging, registry_tui.core.registry, registry_tui.core.session; "
        "print([logging.getLogger(n).propagate for n in ('cassandra', 'coodie')])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[True, True]"


def _api_app() -> None:
    from registry_tui.api.app import create_app

    create_app(Settings())


def _tui(monkeypatch: pytest.MonkeyPatch) -> None:
    from registry_tui.tui.app import RegistryApp, run_tui

    monkeypatch.setattr(RegistryApp, "run", lambda self: 0)  # no terminal here
    assert run_tui(Settings()) == 0


@pytest.mark.usefixtures("unquieted")
@pytest.mark.parametrize("entry", ["api", "tui"])
def test_the_api_and_the_tui_quiet_the_driver_logs(
    entry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert all(logging.getLogger(n).propagate for n in DRIVER_LOGGERS)
    if entry == "api":
        _api_app()
    else:
        _tui(monkeypatch)
    assert not any(logging.getLogger(n).propagate for n in DRIVER_LOGGERS)
