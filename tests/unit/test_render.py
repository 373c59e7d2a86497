"""What the CLI prints for outcomes that no database run can produce on demand."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from rich.console import Console

from registry_tui.cli import output, render
from registry_tui.core.outcomes import Registered, UserRecord

USER = UserRecord(
    "nova", "nova@galaxy.test", "Nova", "D-1", datetime.now(timezone.utc), uuid.uuid4()
)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Console:
    console = Console(record=True, width=200, color_system=None)
    monkeypatch.setattr(output, "_stdout", console)
    return console


def test_a_registration_with_an_unconfirmed_step_says_so(captured: Console) -> None:
    render.render_outcome(Registered(USER, incomplete=("e-mail claim",)))
    text = captured.export_text()
    assert "registered nova" in text
    assert "not confirmed yet: e-mail claim" in text


def test_a_whole_registration_says_nothing_more(captured: Console) -> None:
    render.render_outcome(Registered(USER))
    assert "not confirmed" not in captured.export_text()
