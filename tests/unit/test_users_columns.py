"""The CLI's users table sized by its content: as wide as the cells need, never wider than the
terminal, a name never cut; and the sort key both front ends use."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from rich.console import Console

from registry_tui.cli import render
from registry_tui.core.outcomes import UserRecord
from registry_tui.user_columns import sort_key

START = datetime(2187, 6, 6, tzinfo=timezone.utc)


def user(name: str, email: str, dimension: str = "D-6", minutes: int = 0) -> UserRecord:
    return UserRecord(
        name, email, "Nova", dimension, START + timedelta(minutes=minutes), uuid.uuid4()
    )


SHORT = [user(f"nova-{i}", f"n{i}@x.io") for i in range(3)]
LONG = [
    user("Commander-Quasar-123", "commander-quasar-123@coodie-corps.dimension-6-prime.galaxy"),
    user("Guardian-Onyx-889", "guardian-onyx-889@coodie-corps.dimension-6-prime.galaxy"),
]


def painted(width: int, users: list[UserRecord]) -> list[str]:
    console = Console(record=True, width=width, color_system=None)
    console.print(render.users_table(width, users))
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", [200, 120, 90, 80, 60, 40])
def test_columns_fit_their_content_and_the_terminal(width: int) -> None:
    for users in (SHORT, LONG):
        lines = painted(width, users)
        assert all(len(line) <= width for line in lines), lines
        assert lines[0].endswith("┓") and lines[-1].endswith("┘"), lines
        for one in users:
            assert any(f"│ {one.username} " in line for line in lines), lines


def test_short_cells_make_a_narrow_table_with_every_column() -> None:
    lines = painted(80, SHORT)
    assert len(lines[0]) < 80  # not stretched to the terminal
    assert "registered (UTC)" in lines[1] and "2187-06-06 00:00:00" in "\n".join(lines)
    assert "│ nova-0   │" in "\n".join(lines)  # as wide as its header, the longest cell


def test_sort_key_ignores_case_and_breaks_ties_by_name() -> None:
    rows = [user("b", "b@x", "echo"), user("a", "a@x", "Echo"), user("c", "c@x", "alpha")]
    assert [u.username for u in sorted(rows, key=sort_key("dimension"))] == ["c", "a", "b"]
    timed = [user("late", "l@x", minutes=5), user("early", "e@x", minutes=1)]
    assert [u.username for u in sorted(timed, key=sort_key("registered_at"))] == ["early", "late"]
