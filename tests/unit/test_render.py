"""What the CLI prints for outcomes that no database run can produce on demand."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from rich.console import Console

from registry_tui.cli import output, render
from registry_tui.core.outcomes import CleanupFinished, Deleted, Registered, UserRecord

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


def test_a_cut_off_delete_names_the_command_that_finishes_it(
    captured: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors = Console(record=True, width=300, color_system=None)
    monkeypatch.setattr(output, "_stderr", errors)
    render.render_outcome(Deleted(USER, ("profile",)))
    assert "deleted nova" in captured.export_text()
    said = errors.export_text()
    assert "could not confirm the removal of: profile" in said
    assert f"registry users delete nova --user-id {USER.user_id} --yes" in said


def test_a_finished_delete_says_what_it_removed(captured: Console) -> None:
    render.render_outcome(CleanupFinished(USER.user_id, "nova"))
    text = captured.export_text()
    assert "finished an earlier delete of nova" in text
    assert "left-over profile is removed" in text


LONG_USERS = [
    UserRecord(
        name,
        f"{name.lower()}@coodie-corps.dimension-6-prime.galaxy",
        "Commander Quasar the Incorruptible",
        "Dimension-6-Prime",
        datetime(2187, 6, 6, tzinfo=timezone.utc),
        uuid.uuid4(),
    )
    for name in ("Guardian-Onyx-889", "Commander-Quasar-123", "Operator-Zephyr-042")
]


@pytest.mark.parametrize("width", [200, 120, 80, 60, 40])
def test_the_users_table_fits_the_terminal_and_never_breaks_a_name(width: int) -> None:
    console = Console(record=True, width=width, color_system=None)
    table = render.users_table(width)
    for user in LONG_USERS:
        render.add_user_row(table, user)
    console.print(table)
    lines = console.export_text().splitlines()
    # Whole: the right-hand border is there on every line (a table wider than the terminal
    # would be cropped at its edge and lose it).
    assert lines[0].endswith("┓") and lines[-1].endswith("┘"), "\n".join(lines)
    assert all(len(line) <= width and line[-1] in "┓┃┩│┘" for line in lines), lines
    text = "\n".join(lines)
    for user in LONG_USERS:
        # The name whole, on one line: never `Guardian-Onyx` / `-889`.
        assert user.username in text, text
    headers = [str(c.header) for c in table.columns]
    assert headers[0] == "username"
    if width >= 120:
        assert len(headers) == 5
    if width <= 60:
        assert "registered at" not in headers  # dropped rather than squeezed
