"""Property-based tests (hypothesis) of the input rules and of the display path. No database,
no Textual: the display path is `safe_text.printable` / `safe_text.safe_text` rendered by rich,
and the CLI's own writers in `registry_tui.cli.output`.

- Validation never accepts a control, format (bidi, zero-width), surrogate, private-use,
  unassigned or line/paragraph-separator character, whatever surrounds it, in any field; and
  nothing it returns contains one.
- Every normaliser is idempotent: what it returns passes its own rule unchanged.
- Usernames fold case and NFKC compatibility forms (full-width letters) to one stored name.
- Every normaliser and parser fails only with ValidationError, never another exception.
- `printable` never emits a control character (ESC included), keeps printable text as it is and
  is idempotent; `safe_text` shows markup-looking strings literally; styled terminal output
  carries no escape sequence but rich's own SGR colour codes; the CLI's diagnostics and JSON
  documents carry no raw control or format character.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.markup import render as render_markup

from registry_tui.cli import output
from registry_tui.core.validation import (
    USERNAME_MAX,
    USERNAME_MIN,
    VERSION_MAX,
    ValidationError,
    normalize_bio,
    normalize_email,
    normalize_label,
    normalize_status,
    normalize_username,
    parse_expected_version,
    parse_page_size,
    parse_user_id,
    validate_keyspace,
)
from registry_tui.safe_text import printable, safe_text

REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
SHOWN_CATEGORIES = (
    *("Ll", "Lu", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No"),
    *("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs"),
)
SGR = re.compile(r"\x1b\[[0-9;]*m")


def refused(ch: str) -> bool:
    return unicodedata.category(ch) in REFUSED_CATEGORIES


def unsafe(text: str, allow_newline: bool = False) -> list[str]:
    return [c for c in text if refused(c) and not (allow_newline and c == "\n")]


# Every code point, lone surrogates included (a Python str can hold them).
any_char = st.characters(exclude_categories=())
any_text = st.text(any_char, max_size=80)
refused_char = st.characters(categories=REFUSED_CATEGORIES)
shown_text = st.text(st.characters(categories=SHOWN_CATEGORIES), max_size=80)
# Near-valid material, so that a hostile character is often the only thing wrong.
ascii_word = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=1, max_size=10
)
valid_username = st.from_regex(r"[a-z0-9][a-z0-9._-]{2,31}", fullmatch=True)
valid_email = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.from_regex(r"[a-z0-9]{1,12}(\.[a-z0-9]{1,8}){0,2}", fullmatch=True),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z]{2,6}", fullmatch=True),
)
markup_like = st.one_of(
    st.sampled_from(
        [
            "[/x]",
            "[@click=app.quit]x",
            "[b]bold[/b]",
            "[link=https://doppel9.void]x[/link]",
            "[/]",
            "[[b]]",
            "\\[b]x",
        ]
    ),
    st.from_regex(r"\[/?@?[a-z_.= ()'\"]{0,20}\][^\[\]]{0,10}(\[/[a-z]{0,6}\])?", fullmatch=True),
)

Normaliser = Callable[[str], str]
NORMALISERS: dict[str, Normaliser] = {
    "username": normalize_username,
    "email": normalize_email,
    "display_name": lambda raw: normalize_label("display_name", raw),
    "dimension": lambda raw: normalize_label("dimension", raw),
    "bio": normalize_bio,
}
NEAR_VALID = {
    "username": valid_username,
    "email": valid_email,
    "display_name": shown_text,
    "dimension": shown_text,
    "bio": shown_text,
}


# ----------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize("field", list(NORMALISERS))
@given(data=st.data())
def test_a_refused_character_anywhere_is_never_accepted(field: str, data: st.DataObject) -> None:
    base = data.draw(st.one_of(NEAR_VALID[field], any_text), label="base")
    position = data.draw(st.integers(0, len(base)), label="position")
    ch = data.draw(refused_char, label="hostile")
    if field == "bio":
        assume(ch != "\n")  # a bio may hold line breaks
        assume(not (ch == "\r" and base[position : position + 1] == "\n"))  # CRLF folds to LF
    raw = base[:position] + ch + base[position:]
    with pytest.raises(ValidationError) as caught:
        NORMALISERS[field](raw)
    assert caught.value.field == field


@pytest.mark.parametrize("field", list(NORMALISERS))
@given(raw=any_text)
def test_nothing_accepted_holds_a_refused_character_and_normalising_is_idempotent(
    field: str, raw: str
) -> None:
    normalise = NORMALISERS[field]
    try:
        value = normalise(raw)
    except ValidationError:
        return
    assert unsafe(value, allow_newline=field == "bio") == []
    assert normalise(value) == value


@pytest.mark.parametrize("field", list(NORMALISERS))
@given(raw=NEAR_VALID["username"] | NEAR_VALID["email"] | shown_text)
def test_near_valid_values_normalise_idempotently(field: str, raw: str) -> None:
    normalise = NORMALISERS[field]
    try:
        value = normalise(raw)
    except ValidationError:
        return
    assert normalise(value) == value


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(name=valid_username, flips=st.lists(st.booleans(), min_size=32, max_size=32))
@example(name="agent-cipher-007", flips=[True] * 32)
def test_username_case_and_nfkc_forms_fold_to_one_stored_name(name: str, flips: list[bool]) -> None:
    mixed = "".join(c.upper() if flip else c for c, flip in zip(name, flips, strict=False))
    assert normalize_username(name) == name
    assert normalize_username(mixed) == name
    assert normalize_username(name.upper()) == name
    assert normalize_username(fullwidth(mixed)) == name
    assert normalize_username(unicodedata.normalize("NFKD", fullwidth(name))) == name


@given(raw=any_text)
def test_an_accepted_username_is_the_documented_ascii_form(raw: str) -> None:
    try:
        name = normalize_username(raw)
    except ValidationError:
        return
    assert USERNAME_MIN <= len(name) <= USERNAME_MAX
    assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name)
    assert unicodedata.normalize("NFKC", raw).lower() == name


@given(raw=st.one_of(valid_email, any_text, valid_email.map(str.upper)))
def test_an_accepted_email_is_lower_case_ascii_and_short(raw: str) -> None:
    try:
        email = normalize_email(raw)
    except ValidationError:
        return
    assert email.isascii() and email == email.lower() and len(email) <= 254
    local, at, domain = email.rpartition("@")
    assert at and local and "." in domain


@given(raw=any_text)
def test_labels_trim_and_keep_length_rules(raw: str) -> None:
    try:
        value = normalize_label("display_name", raw)
    except ValidationError:
        return
    assert value == value.strip() and 1 <= len(value) <= 64


@given(version=st.integers(min_value=-(2**70), max_value=2**70))
@example(version=0)
@example(version=1)
@example(version=VERSION_MAX)
@example(version=VERSION_MAX + 1)
def test_expected_version_accepted_exactly_within_1_and_the_int_maximum(version: int) -> None:
    for raw in (version, str(version)):
        if 1 <= version <= VERSION_MAX:
            assert parse_expected_version(raw) == version
        else:
            with pytest.raises(ValidationError):
                parse_expected_version(raw)


@given(raw=any_text)
def test_status_is_one_of_three(raw: str) -> None:
    try:
        status = normalize_status(raw)
    except ValidationError:
        return
    assert status in ("active", "inactive", "suspended")
    assert raw.strip().lower() == status


PARSERS: dict[str, Callable[[str], object]] = {
    **NORMALISERS,
    "status": normalize_status,
    "expected_version": parse_expected_version,
    "user_id": parse_user_id,
    "limit": parse_page_size,
    "keyspace": validate_keyspace,
}


@pytest.mark.parametrize("field", list(PARSERS))
@given(raw=any_text)
def test_parsers_fail_only_with_validation_error(field: str, raw: str) -> None:
    try:
        PARSERS[field](raw)
    except ValidationError as exc:
        assert exc.field == field
        assert exc.message and unsafe(exc.message) == []


# ----------------------------------------------------------------------------------------------
# The display path


@given(raw=any_text, keep_newlines=st.booleans())
@example(raw="\x1b[31mred\x1b]0;title\x07\x9b2J\u202e\u200b", keep_newlines=False)
def test_printable_never_emits_a_control_or_format_character(raw: str, keep_newlines: bool) -> None:
    shown = printable(raw, keep_newlines=keep_newlines)
    assert "\x1b" not in shown and "\x9b" not in shown
    assert unsafe(shown, allow_newline=keep_newlines) == []
    assert printable(shown, keep_newlines=keep_newlines) == shown


@given(raw=shown_text)
def test_printable_keeps_printable_text_as_it_is(raw: str) -> None:
    assert printable(raw) == raw


@given(ch=refused_char)
def test_a_refused_character_is_shown_as_a_visible_escape(ch: str) -> None:
    shown = printable(f"a{ch}b")
    assert shown.startswith("a\\") and shown.endswith("b")
    assert shown[1:-1].isascii() and shown[1:-1].isprintable()


def plain_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=10_000, soft_wrap=True, color_system=None, force_terminal=False
    )
    return console, buffer


@given(raw=st.one_of(markup_like, any_text))
@example(raw="[@click=app.quit]x")
@example(raw="[/x]")
def test_safe_text_shows_markup_literally(raw: str) -> None:
    text = safe_text(raw)
    assert text.plain == printable(raw)
    assert not text.spans  # nothing parsed into styles or actions
    console, buffer = plain_console()
    console.print(text, end="")
    assert buffer.getvalue() == printable(raw)


def test_the_markup_examples_would_be_interpreted_by_rich_markup() -> None:
    # What safe_text prevents: the same strings, parsed as markup, lose their brackets.
    assert render_markup("[b]bold[/b]").plain == "bold"
    assert render_markup("[@click=app.quit]x").plain == "x"
    assert safe_text("[b]bold[/b]").plain == "[b]bold[/b]"


@given(
    raw=st.one_of(markup_like, any_text),
    style=st.sampled_from(["", "bold", "bold red", "yellow on blue"]),
)
def test_styled_terminal_output_carries_only_sgr_sequences(raw: str, style: str) -> None:
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=10_000, soft_wrap=True, color_system="truecolor", force_terminal=True
    )
    console.print(safe_text(raw, style), end="")
    rendered = SGR.sub("", buffer.getvalue())
    assert "\x1b" not in rendered
    assert unsafe(rendered) == []
    assert rendered == printable(raw)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=any_text)
def test_cli_diagnostics_carry_no_control_character(
    message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    output.fail(message)
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert unsafe(err, allow_newline=True) == []


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(st.characters(), max_size=80))  # what the driver can hand back: no surrogates
@example(value="A\x9b31mB\u202eC\x1b[2J")
def test_cli_json_documents_are_faithful_and_carry_no_raw_control_character(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    output.emit_json({"display_name": value, "nested": [value]})
    out = capsys.readouterr().out
    assert json.loads(out) == {"display_name": value, "nested": [value]}
    # Printed to a terminal, a stored C1 control or bidi override must arrive as a \\u escape.
    assert unsafe(out, allow_newline=True) == [], f"raw {[hex(ord(c)) for c in unsafe(out, True)]}"
