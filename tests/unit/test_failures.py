"""How an error ends a front end: one wording, one exit code and one JSON document, the same
for every `registry` command and for `python -m registry_tui.tui`. No database: these are the
errors a command's body raises, mapped by the shared plumbing."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from registry_tui.cli.common import run_command
from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.exit_codes import ExitCode
from registry_tui.core.failures import START_A_DATABASE, failure_of
from registry_tui.core.validation import ValidationError


def test_invalid_input_names_the_field_as_labelled() -> None:
    failure = failure_of(ValidationError("display_name", "is required"))
    assert failure is not None
    assert (failure.exit_code, failure.message) == (
        ExitCode.INVALID,
        "invalid display_name: is required",
    )
    assert failure.document == {
        "detail": [{"loc": ["query", "display_name"], "msg": "is required", "type": "value_error"}]
    }
    labelled = failure_of(
        ValidationError("display_name", "is required"), lambda f: "--display-name"
    )
    assert labelled is not None and labelled.message == "invalid --display-name: is required"
    assert labelled.document == failure.document  # the document keeps the field's own name


def test_an_unreachable_database_says_how_to_start_one_on_the_same_line() -> None:
    failure = failure_of(DatabaseUnavailable("cannot connect to 127.0.0.1:1"))
    assert failure is not None and failure.exit_code == ExitCode.UNAVAILABLE
    assert failure.message == f"cannot connect to 127.0.0.1:1; {START_A_DATABASE}"
    assert failure.document == {
        "detail": {"error": "database_unavailable", "message": "cannot connect to 127.0.0.1:1"}
    }
    refused = failure_of(DatabaseUnavailable("authentication failed: check SCYLLA_USERNAME"))
    assert refused is not None and START_A_DATABASE not in refused.message


def test_an_interrupt_and_a_bug() -> None:
    interrupted = failure_of(KeyboardInterrupt())
    assert interrupted is not None
    assert (interrupted.exit_code, interrupted.message, interrupted.document) == (
        ExitCode.INTERRUPTED,
        "interrupted",
        None,
    )
    assert failure_of(RuntimeError("a bug")) is None  # a bug must show as one


# A command wired as the real ones are: its body raises, `run_command` ends it.
def command_app(error: BaseException) -> typer.Typer:
    app = typer.Typer()

    def fail() -> None:
        raise error

    @app.command()
    def race(
        ctx: typer.Context,
        usernames: int = typer.Option(1, "--usernames"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        run_command(ctx, as_json, fail, interrupted="names raced so far stay registered")

    return app


def invoke(error: BaseException, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(command_app(error), list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (ValidationError("usernames", "must be a whole number from 1 to 100000"), 2,
         "error: invalid --usernames: must be a whole number from 1 to 100000"),
        (ValidationError("keyspace", "must be 1-48 letters"), 2, "error: invalid keyspace: must be 1-48 letters"),
        (DatabaseUnavailable("cannot connect to x:1"), 3, f"error: cannot connect to x:1; {START_A_DATABASE}"),
        (KeyboardInterrupt(), 130, "error: interrupted; names raced so far stay registered"),
    ],
)  # fmt: skip
def test_every_error_ends_a_command_with_one_line_and_its_code(
    error: BaseException, code: int, line: str
) -> None:
    exit_code, stdout, stderr = invoke(error)
    assert (exit_code, stdout, stderr) == (code, "", line + "\n")


def test_with_json_the_document_goes_to_stdout() -> None:
    exit_code, stdout, stderr = invoke(DatabaseUnavailable("cannot connect to x:1"), "--json")
    assert exit_code == 3
    assert json.loads(stdout)["detail"]["error"] == "database_unavailable"
    assert stderr.startswith("error: cannot connect to x:1")


def test_a_bug_is_not_dressed_up_as_a_failure() -> None:
    result = CliRunner().invoke(command_app(RuntimeError("a bug")), [])
    assert isinstance(result.exception, RuntimeError)
