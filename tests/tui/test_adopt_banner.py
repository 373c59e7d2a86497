"""The terminal app on a keyspace the coodie demo wrote: a banner says writes wait for an
adoption and F9 performs it, as `registry adopt` does."""

from __future__ import annotations

import uuid

import pytest

from registry_tui.core.schema import Kind, detect_layout
from registry_tui.core.store import Connection
from tests.integration.test_adopt import demo  # noqa: F401  (the fixture)
from tests.tui.conftest import RunApp
from tests.tui.helpers import notifications, users_loaded, wait_for

pytestmark = pytest.mark.db


async def test_the_banner_offers_adoption_and_f9_adopts(
    run_app: RunApp,
    demo: tuple[Connection, dict[str, uuid.UUID]],  # noqa: F811
) -> None:
    connection, _ = demo
    async with run_app(connection.settings) as (app, pilot):
        await users_loaded(pilot)
        await wait_for(
            pilot,
            lambda: any("Press F9 to adopt" in m for m in notifications(app)),
            what="the adoption banner",
        )
        assert "needs adoption" in app.sub_title
        await pilot.press("f9")
        await wait_for(
            pilot,
            lambda: any(m.startswith("Adopted:") for m in notifications(app)),
            timeout=60,
            what="the adoption's report",
        )
        report = next(m for m in notifications(app) if m.startswith("Adopted:"))
        assert "2 conflict(s)" in report and "AGENT-CIPHER-007" in report
        assert not app.needs_adoption
    assert (await detect_layout(connection)).kind is Kind.V2
