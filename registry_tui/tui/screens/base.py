"""What the app's screens share: a worker that fails anyway is reported, not raised; dialogs
answer F1 like every screen."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.worker import Worker, WorkerState

from registry_tui.core.errors import one_line
from registry_tui.tui.calls import Failure
from registry_tui.tui.messages import LinkTrouble

ResultT = TypeVar("ResultT")


class ReportsFailures:
    """Mixin for screens: notifications for failed calls, and the link told of outages.

    Workers wrap their calls in `guarded`, so reaching `on_worker_state_changed` with an
    error is a bug; it still becomes a one-line notification rather than a crash.
    """

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.notify(  # type: ignore[attr-defined]
                f"{event.worker.name}: {one_line(event.worker.error)}",
                title="Unexpected error",
                severity="error",
                markup=False,
            )

    def report_failure(self, failure: Failure, doing: str) -> None:
        """Tell the person what could not be done, and the app that the link may be down."""
        if failure.unavailable:
            self.app.post_message(LinkTrouble(failure.message))  # type: ignore[attr-defined]
        self.notify(  # type: ignore[attr-defined]
            f"Could not {doing}: {failure.message}",
            title="Database unreachable" if failure.unavailable else "Error",
            severity="error",
            markup=False,
        )


class Dialog(ModalScreen[ResultT]):
    """A modal dialog. The app's own keys stop at a modal screen, so F1 is bound here too:
    it lists this dialog's keys, as it does on every screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="dialog.help", tooltip="The keys of this dialog"),
    ]

    async def action_help(self) -> None:
        await self.app.run_action("help")
