"""Fixtures for the TUI tests: the app runs against the module's keyspace on the real node."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager

import pytest
from textual.pilot import Pilot

from registry_tui.core.config import Settings
from registry_tui.core.store import Connection
from registry_tui.tui.app import RegistryApp
from tests.tui.helpers import restore_reads, running

RunApp = Callable[..., AbstractAsyncContextManager[tuple[RegistryApp, Pilot[int]]]]


@pytest.fixture(scope="module")
def tui_settings(base_settings: Settings, keyspace_name: str) -> Settings:
    return base_settings.with_overrides(keyspace=keyspace_name)


@pytest.fixture
def run_app(tui_settings: Settings, connection: Connection) -> RunApp:
    """`async with run_app(size=..., **app_options) as (app, pilot):` on this module's keyspace."""

    def start(settings: Settings | None = None, **options: object):  # type: ignore[no-untyped-def]
        return running(settings or tui_settings, after=lambda: restore_reads(connection), **options)

    return start


@pytest.fixture(autouse=True)
def reads_on_the_fixture_connection(connection: Connection) -> Iterator[None]:
    yield
    restore_reads(connection)
