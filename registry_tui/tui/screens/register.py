"""Register a new identity: the core's rules checked as you type, then INSERT … IF NOT EXISTS.

A taken username or e-mail shows the identity that holds it (the row the database returned)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Footer, Input, Label, Static

from registry_tui.core.outcomes import (
    EmailTaken,
    Invalid,
    Registered,
    RegisterOutcome,
    Unknown,
    UsernameTaken,
    UserRecord,
)
from registry_tui.core.session import Database
from registry_tui.core.validation import (
    ValidationError,
    normalize_email,
    normalize_label,
    normalize_username,
)
from registry_tui.safe_text import printable, safe_text
from registry_tui.tui.calls import Failure, guarded
from registry_tui.tui.screens.base import Dialog, ReportsFailures
from registry_tui.tui.text import DOPPEL, HERO, MUTED, email_owner, identity, lines


@dataclass(frozen=True)
class Field:
    name: str  # the core's field name (as in ValidationError.field)
    label: str
    placeholder: str
    rule: Callable[[str], str]


FIELDS = (
    Field("username", "Username", "agent-cipher-007", normalize_username),
    Field("email", "E-mail", "cipher@registry.galaxy", normalize_email),
    Field(
        "display_name", "Display name", "Agent Cipher", lambda v: normalize_label("display_name", v)
    ),
    Field("dimension", "Dimension", "Dimension-6", lambda v: normalize_label("dimension", v)),
)


class CoreRule(Validator):
    """One of the core's input rules as a Textual validator (the core stays the only rulebook)."""

    def __init__(self, rule: Callable[[str], str]) -> None:
        super().__init__()
        self.rule = rule

    def validate(self, value: str) -> ValidationResult:
        try:
            self.rule(value)
        except ValidationError as exc:
            return self.failure(exc.message, value)
        return self.success()


class RegisterScreen(ReportsFailures, Dialog[UserRecord | None]):
    """Dismisses with the registered user, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s", "submit", "Register", id="register.submit", tooltip="INSERT … IF NOT EXISTS"
        ),
        Binding("escape", "cancel", "Cancel", id="register.cancel"),
    ]

    class Answered(Message):
        def __init__(self, outcome: RegisterOutcome | Failure) -> None:
            super().__init__()
            self.outcome = outcome

    def __init__(self, database: Database) -> None:
        super().__init__(classes="dialog-screen")
        self.database = database
        self._touched: set[str] = set()
        self.busy = False
        # After an unknown outcome: the attempt's token and what it registered. Submitting the
        # same values again continues that attempt (never a second identity).
        self.pending: tuple[uuid.UUID, dict[str, str]] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog register"):
            yield Static("Register a new identity", classes="dialog-title", markup=False)
            yield Static(
                "One identity per username and per e-mail, in every dimension: "
                "INSERT … IF NOT EXISTS decides.",
                classes="dialog-hint",
                markup=False,
            )
            with Vertical(id="register-form"):
                for field in FIELDS:
                    with Horizontal(classes="field-row"):
                        yield Label(field.label, classes="field-label", markup=False)
                        yield Input(
                            placeholder=field.placeholder,
                            id=f"field-{field.name}",
                            validators=[CoreRule(field.rule)],
                            validate_on=["changed", "submitted"],
                            compact=True,
                        )
                    yield Static(id=f"error-{field.name}", classes="field-error")
            yield Static(id="register-outcome")
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    "Register (ctrl+s)", id="register-submit", variant="warning", compact=True
                )
                yield Button("Cancel (esc)", id="register-cancel", compact=True)
        yield Footer(compact=True)  # this dialog's keys, not those of the screen behind

    # ---------------------------------------------------------------- inline validation

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("field-")
        self._touched.add(name)
        self._show_field(name)

    def _show_field(self, name: str) -> bool:
        """Show the rule's verdict on one field; True when the value passes."""
        field = next(f for f in FIELDS if f.name == name)
        value = self.query_one(f"#field-{name}", Input).value
        error = self.query_one(f"#error-{name}", Static)
        try:
            stored = field.rule(value)
        except ValidationError as exc:
            message = Text(exc.message, style="bold") if name in self._touched else Text()
            error.update(message)
            error.set_class(name in self._touched, "-shown")
            return False
        note = Text()
        if name == "username" and stored != value:
            # Shown as typed; unique (and found) in any case, by this key.
            note = Text.assemble(("unique as ", MUTED), safe_text(stored, HERO))
        error.update(note)
        error.set_class(bool(note), "-shown")
        return True

    # ---------------------------------------------------------------- submit

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        # Enter moves on to the next field; on the last one it registers.
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs) and not all(i.value for i in inputs):
            inputs[index + 1].focus()
        else:
            self.action_submit()

    @on(Button.Pressed, "#register-submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#register-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        if self.busy:
            return
        self._touched.update(f.name for f in FIELDS)
        first_bad = next((f.name for f in FIELDS if not self._show_field(f.name)), None)
        if first_bad is not None:
            self.query_one(f"#field-{first_bad}", Input).focus()
            self._outcome(Text("Fix the highlighted field first; nothing was sent.", MUTED))
            return
        values = {f.name: self.query_one(f"#field-{f.name}", Input).value for f in FIELDS}
        self.busy = True
        self.query_one("#register-submit", Button).disabled = True
        self._outcome(Text("Registering… INSERT … IF NOT EXISTS", MUTED))
        self._register(values)

    @work(group="register", exit_on_error=False)
    async def _register(self, values: dict[str, str]) -> None:
        token = self.pending[0] if self.pending and self.pending[1] == values else None
        outcome = await guarded(
            self.database.registry.register(
                values["username"],
                values["email"],
                values["display_name"],
                values["dimension"],
                user_id=token,
            )
        )
        self.post_message(self.Answered(outcome))

    @on(Answered)
    def _answered(self, message: Answered) -> None:
        self.busy = False
        self.query_one("#register-submit", Button).disabled = False
        outcome = message.outcome
        if not isinstance(outcome, Unknown | Failure):
            self.pending = None  # decided: the next submit is a new attempt
        if isinstance(outcome, Registered):
            self.dismiss(outcome.user)
        elif isinstance(outcome, UsernameTaken):
            self._outcome(
                lines(
                    Text.assemble(
                        ("IF NOT EXISTS refused: ", DOPPEL),
                        safe_text(f"@{outcome.existing.username}", "bold"),
                        (" already exists in this universe. It belongs to:", DOPPEL),
                    ),
                    identity(outcome.existing),
                ),
                error=True,
            )
            self.query_one("#field-username", Input).focus()
        elif isinstance(outcome, EmailTaken):
            self._outcome(
                lines(
                    Text("IF NOT EXISTS refused: this e-mail already has an owner.", DOPPEL),
                    email_owner(outcome.owner),
                ),
                error=True,
            )
            self.query_one("#field-email", Input).focus()
        elif isinstance(outcome, Invalid):
            error = self.query_one(f"#error-{outcome.field}", Static)
            error.update(Text(printable(outcome.message), style="bold"))
            error.add_class("-shown")
            self._outcome(Text(f"{outcome.field}: {printable(outcome.message)}"), error=True)
        elif isinstance(outcome, Unknown):
            values = {f.name: self.query_one(f"#field-{f.name}", Input).value for f in FIELDS}
            if outcome.user_id is not None:
                self.pending = (outcome.user_id, values)
            now = Text("The database holds no row there now.", MUTED)
            if isinstance(outcome.current, UserRecord):
                now = lines(Text("The name is held now by:", MUTED), identity(outcome.current))
            self._outcome(
                lines(
                    Text(
                        "Outcome unknown: the database did not answer in time, and what it "
                        "holds now does not show whether this registration applied.",
                        DOPPEL,
                    ),
                    now if outcome.current_read else Text(printable(outcome.reason), MUTED),
                    Text(
                        "Register again (unchanged) to continue this same attempt: it cannot "
                        "make a second identity.",
                        MUTED,
                    ),
                ),
                error=True,
            )
        else:
            self.report_failure(outcome, "register")
            self._outcome(
                Text(f"Not registered: {printable(outcome.message)}"),
                error=True,
            )

    def _outcome(self, text: Text, *, error: bool = False) -> None:
        outcome = self.query_one("#register-outcome", Static)
        outcome.update(text)
        outcome.set_class(error, "-error")
        outcome.set_class(bool(text.plain), "-shown")
