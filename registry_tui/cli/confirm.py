"""`registry users delete` asks before it deletes, when there is a terminal to ask on.

The question and the row it is about go to stderr (stdout stays the command's result); the
answer is read from stdin. Without a terminal the command needs --yes: a script that meant to
delete says so, and one that did not is not answered by whatever its stdin holds."""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass

from rich.text import Text

from registry_tui.cli import output, render
from registry_tui.core.outcomes import NotFound, UserRecord
from registry_tui.safe_text import safe_text

DELETE_DECLINED = object()  # the person answered no: nothing was sent


@dataclass(frozen=True)
class IdentityDiffers:
    """Delete with --user-id refused: the name exists, held by another identity."""

    holder: UserRecord
    asked: uuid.UUID
    outcome: NotFound  # the core's answer, whose document --json prints


def can_ask() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirm_delete(user: UserRecord, user_id: uuid.UUID | None) -> bool:
    """Show what goes and ask; True on y/yes."""
    console = output.stderr()
    console.print(
        Text.assemble(
            "This deletes, for good, the registration of ",
            safe_text(user.username, "bold yellow"),
            ", its profile and its e-mail claim:",
        )
    )
    console.print(render.user_table(user))
    if user_id is not None and user_id != user.user_id:
        console.print(
            Text(
                f"(only identity {user_id}: a case variant of this name kept by `registry "
                "adopt`; the row above is left alone)",
                style="yellow",
            )
        )
    try:
        answer = console.input(Text("Delete it? [y/N] "))
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes"}
