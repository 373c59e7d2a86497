"""Display helpers. Every untrusted value (anything a person typed or the database returned)
goes through `safe_text`/`printable` from `registry_tui.safe_text`; this module only adds
layout (clipping, dates, the story's colours) on top of that one path."""

from __future__ import annotations

from datetime import datetime, timezone

from rich.text import Text

from registry_tui.core.outcomes import EmailOwner, ProfileRecord, UserRecord
from registry_tui.safe_text import printable, safe_text
from registry_tui.tui.palette import DOPPEL_BRAND, HERO_BRAND, MUTED_BRAND, OK_BRAND

# The demo's voice: the hero (IF NOT EXISTS) in yellow, Doppel-9 in red (the brand colours;
# on screen each theme gets a readable shade of them, as $hero and $doppel in registry.tcss
# do: see palette.py), secondary text in grey. NO_COLOR turns them into plain bold text, so
# every message also says in words who is speaking.
HERO = f"bold {HERO_BRAND}"
DOPPEL = f"bold {DOPPEL_BRAND}"
OK = f"bold {OK_BRAND}"
MUTED = MUTED_BRAND
ELLIPSIS = "…"


def clip(value: object, width: int) -> str:
    """`value` made printable, then cut to `width` cells with an ellipsis."""
    text = printable(value)
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


def cell(value: object, width: int = 64, style: str = "") -> Text:
    """A table cell: literal text, one line, clipped."""
    return Text(clip(value, width), style=style, no_wrap=True, overflow="ellipsis")


def when(moment: datetime | None) -> str:
    """A timestamp as people read it here: UTC, to the minute or second."""
    if moment is None:
        return "—"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def when_short(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def handle(username: str, style: str = HERO) -> Text:
    return safe_text(f"@{username}", style)


def lines(*parts: Text | str) -> Text:
    """Join rendered parts with newlines (plain `str` parts are our own wording)."""
    out = Text()
    for index, part in enumerate(parts):
        if index:
            out.append("\n")
        out.append(part if isinstance(part, Text) else Text(part))
    return out


def identity(user: UserRecord) -> Text:
    """Who holds a username: every registration field, literally."""
    return lines(
        Text.assemble(handle(user.username), "  ", safe_text(user.display_name, "bold")),
        Text.assemble(
            ("dimension ", MUTED),
            safe_text(user.dimension),
            ("  e-mail ", MUTED),
            safe_text(user.email),
        ),
        Text.assemble(
            ("registered ", MUTED),
            when(user.registered_at),
            ("  user id ", MUTED),
            str(user.user_id),
        ),
    )


def email_owner(owner: EmailOwner) -> Text:
    state = "" if owner.state == "active" else f" (claim {printable(owner.state)})"
    return Text.assemble(
        safe_text(owner.email, "bold"),
        (" is claimed by ", MUTED),
        handle(owner.username),
        (f"{state}  user id ", MUTED),
        str(owner.user_id),
    )


def profile_summary(profile: ProfileRecord) -> Text:
    return Text.assemble(
        ("version ", MUTED),
        (str(profile.version), "bold"),
        ("  status ", MUTED),
        safe_text(profile.status, "bold"),
        ("  updated ", MUTED),
        when(profile.updated_at),
    )
