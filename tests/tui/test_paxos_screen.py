"""The Paxos view of a race: the race panel traces every attempt of one race in ten; enter
opens the traced names, and each name's attempts stand side by side, the winner first.

The screen is checked at 80x24 and 120x36 on traces recorded from the 3-node cluster
(tests/unit/data/paxos), and once from the panel after a real race on the dev node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import OptionList, RichLog, Static

from registry_tui.proof.paxos import PaxosTrace, TraceEvent, read_trace
from registry_tui.race.paxos import PaxosSummary, TracedAttempt
from registry_tui.tui.screens.paxos import PaxosScreen
from registry_tui.tui.screens.race import RaceScreen
from tests.tui.conftest import RunApp
from tests.tui.helpers import users_loaded, wait_for
from tests.tui.test_race_panel import choose, open_panel, run_to_the_end

pytestmark = pytest.mark.db

DATA = Path(__file__).parent.parent / "unit" / "data" / "paxos"
CLAIM = "INSERT email_claims IF NOT EXISTS"
NAME = "INSERT user_registrations IF NOT EXISTS"


def recorded(name: str) -> PaxosTrace:
    raw = json.loads((DATA / f"{name}.json").read_text())
    return read_trace([TraceEvent(**e) for e in raw["events"]], raw["coordinator"])


def attempts() -> list[TracedAttempt]:
    won, lost = recorded("v2_cluster_winner"), recorded("v2_cluster_loser")
    pre_empted = recorded("v2_cluster_preempted_loser")
    return [
        TracedAttempt(0, "doppel-9-a", 0, "blocked", 80.0, ((CLAIM, won), (NAME, pre_empted))),
        TracedAttempt(0, "doppel-9-a", 2, "won", 120.0, ((CLAIM, won), (NAME, won))),
        TracedAttempt(0, "doppel-9-a", 1, "blocked", 60.0, ((CLAIM, won), (NAME, lost))),
        TracedAttempt(10, "doppel-9-b", 1, "won", 50.0, ((CLAIM, won), (NAME, won))),
    ]


def timeline(screen: PaxosScreen) -> str:
    return "\n".join(column.plain for column in screen.columns)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_a_names_attempts_side_by_side_winner_first(
    run_app: RunApp, size: tuple[int, int]
) -> None:
    traced = attempts()
    async with run_app(size=size) as (app, pilot):
        await users_loaded(pilot)
        await app.push_screen(PaxosScreen(traced, PaxosSummary.of(10, traced)))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PaxosScreen)
        names = screen.query_one("#paxos-names", OptionList)
        assert names.option_count == 2 and names.has_focus
        summary = str(screen.query_one("#paxos-summary", Static).render())
        assert "won p50 6 max 6" in summary and "lost p50 4 max 6" in summary
        shown = timeline(screen)
        # The winner's column comes first, then the losers by contender.
        assert shown.index("clone 2 · won") < shown.index("hero · blocked")
        assert shown.index("hero · blocked") < shown.index("clone 1 · blocked")
        assert "pre-empted" in shown and "prep+read" in shown and "commit" in shown
        # The view is wider than the screen: it scrolls sideways rather than squeezing.
        assert screen.query_one("#paxos-timeline").size.width >= 3 * 34
        await pilot.press("down")
        await pilot.pause()
        assert screen.username == "doppel-9-b"
        assert timeline(screen).startswith("clone 1 · won") and "blocked" not in timeline(screen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PaxosScreen)


async def test_without_traces_the_screen_says_how_to_get_some(run_app: RunApp) -> None:
    async with run_app(size=(80, 24)) as (app, pilot):
        await users_loaded(pilot)
        await app.push_screen(PaxosScreen([]))
        await pilot.pause()
        assert "No traced attempt yet" in str(app.screen.query_one("#paxos-summary").render())


async def test_enter_in_the_race_panel_opens_the_traced_races(run_app: RunApp) -> None:
    async with run_app(size=(120, 36)) as (app, pilot):
        screen = await open_panel(pilot)
        await choose(pilot, screen, races=2, clones=2, concurrency=2)
        await run_to_the_end(pilot, screen, timeout=60)
        screen.query_one("#race-log", RichLog).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PaxosScreen), what="the view")
        view = app.screen
        assert isinstance(view, PaxosScreen)
        # Race 0 is traced (one in ten, from the first): its three contenders, one winner.
        assert len(view.by_name) == 1
        (attempts_of_race,) = view.by_name.values()
        assert len(attempts_of_race) == 3
        assert [a.outcome for a in attempts_of_race].count("won") == 1
        assert all(a.round_trips >= 1 for a in attempts_of_race)
        assert "· won" in timeline(view)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RaceScreen)
