"""Hostile input, table-driven over every field of every command, against the dev node.

For the CLI (a real `registry` process) and for the core operations: empty, too long, control
characters, ANSI/OSC escapes, bidi overrides, zero-width characters, markup, CQL-looking
strings, non-UUID ids, negative and huge versions, unknown statuses. Each is refused with a
clear error naming the field (exit 2, the demo's 422 document) and writes nothing. Text that is
valid but looks like markup or CQL is stored and shown literally; hostile text that some other
client stored behind the registry's back is shown harmlessly (escaped, never interpreted).
"""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from registry_tui.core.outcomes import Invalid, Page, ProfileRecord, Registered, UserRecord
from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection
from tests.cli_batch import run_many
from tests.conftest import unique

pytestmark = pytest.mark.db

REGISTRY = str(Path(sys.executable).parent / "registry")
VALID_ID = "00000000-0000-4000-8000-000000000000"

# Text that would drive or deceive a terminal, or hide what it says.
HOSTILE: dict[str, str] = {
    "bell": "ab\x07c",
    "tab": "ab\tc",
    "newline": "ab\nc",
    "carriage return": "ab\rc",
    "delete": "ab\x7fc",
    "c1 csi": "ab\x9b31mc",
    "ansi colour": "ab\x1b[31mc",
    "ansi clear screen": "\x1b[2J\x1b[Hab",
    "osc title": "ab\x1b]0;pwned\x07c",
    "osc 8 hyperlink": "\x1b]8;;https://doppel9.void\x1b\\ab\x1b]8;;\x1b\\",
    "bidi override": "ab\u202ec",
    "bidi isolate": "ab\u2066c",
    "zero width space": "ab\u200bc",
    "zero width joiner": "ab\u200dc",
    "byte order mark": "\ufeffabc",
    "line separator": "ab\u2028c",
}
# The command-line table takes one of each kind (each case is a process of its own); the core
# table, in-process, takes them all.
CLI_KINDS = (
    "bell", "c1 csi", "ansi colour", "osc title", "osc 8 hyperlink", "bidi override",
    "zero width space", "line separator",
)  # fmt: skip
HOSTILE_CLI = {kind: HOSTILE[kind] for kind in CLI_KINDS}
MARKUP = ["[/x]", "[@click=app.quit]x", "[b]bold[/b]", "[link=https://doppel9.void]x[/link]"]
CQL = "x'; DROP KEYSPACE registry; --"
BAD_IDS = ["not-a-uuid", "12345", "00000000-0000-0000-0000-00000000000g", CQL, "../../etc/passwd"]
BAD_VERSIONS = ["-1", "0", "2147483648", "99999999999999999999", "1.5", "1e3", "one", ""]
BAD_STATUSES = ["zombie", "deleted", "", "active\x1b[31m", CQL]


def is_unsafe(ch: str) -> bool:
    """A character that must never reach a terminal raw: C0/C1 controls (but the newline),
    format characters (bidi, zero-width), separators, private use, unassigned."""
    return ch != "\n" and unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def unsafe_in(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in text if is_unsafe(c)})


# ----------------------------------------------------------------------------------------------
# The table: (command line, field named in the refusal)


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    field: str
    ours: bool = True  # refused by the registry's rules (422 document), not by the CLI parser


def register_args(**override: str) -> tuple[str, ...]:
    name = unique("hostile")
    fields = {
        "username": name,
        "email": f"{name}@registry.galaxy",
        "display_name": "Agent Cipher",
        "dimension": "Dimension-6",
    }
    fields.update(override)
    return (
        "users", "register", fields["username"], "--email", fields["email"],
        "--display-name", fields["display_name"], "--dimension", fields["dimension"],
    )  # fmt: skip


def cases(user_id: str) -> list[Case]:
    table: list[Case] = []
    too_long = {
        "username": "a" * 33,
        "email": "a" * 245 + "@registry.galaxy",
        "display_name": "d" * 65,
        "dimension": "d" * 65,
    }
    for field in ("username", "email", "display_name", "dimension"):
        table.append(
            Case(f"register {field} too long", register_args(**{field: too_long[field]}), field)
        )
        table.append(Case(f"register {field} empty", register_args(**{field: ""}), field))
        for kind, text in HOSTILE_CLI.items():
            table.append(Case(f"register {field} {kind}", register_args(**{field: text}), field))
    for field in ("username", "email"):
        for i, text in enumerate([*MARKUP, CQL]):
            table.append(
                Case(f"register {field} markup/cql {i}", register_args(**{field: text}), field)
            )
    for command in ("get", "delete"):
        for kind, text in {
            **HOSTILE,
            "empty": "",
            "too long": "a" * 33,
            "cql": CQL,
            "markup": MARKUP[1],
        }.items():
            table.append(Case(f"users {command} {kind}", ("users", command, text), "username"))
    for kind, text in {**HOSTILE, "empty": "", "too long": "d" * 65}.items():
        table.append(
            Case(
                f"users list dimension {kind}", ("users", "list", "--dimension", text), "dimension"
            )
        )
    for text in ("garbage", CQL, "c1.\x1b[31m", "c1." + "A" * 5000):
        table.append(
            Case(f"users list cursor {text[:12]!r}", ("users", "list", "--cursor", text), "cursor")
        )
    for text in ("0", "-1", "5001", "99999999999999999999"):
        table.append(Case(f"users list limit {text}", ("users", "list", "--limit", text), "limit"))
    table.append(
        Case("users list limit ten", ("users", "list", "--limit", "ten"), "limit", ours=False)
    )
    for text in BAD_IDS:
        table.append(Case(f"profiles get id {text[:12]!r}", ("profiles", "get", text), "user_id"))
        table.append(
            Case(
                f"profiles update id {text[:12]!r}",
                ("profiles", "update", text, "--bio", "x"),
                "user_id",
            )
        )
    for kind, text in HOSTILE.items():
        if kind != "newline":  # a bio may hold line breaks
            table.append(
                Case(
                    f"profiles update bio {kind}",
                    ("profiles", "update", user_id, "--bio", text),
                    "bio",
                )
            )
    table.append(
        Case(
            "profiles update bio too long",
            ("profiles", "update", user_id, "--bio", "b" * 501),
            "bio",
        )
    )
    for text in BAD_STATUSES:
        table.append(
            Case(
                f"profiles update status {text[:10]!r}",
                ("profiles", "update", user_id, "--status", text),
                "status",
            )
        )
    for text in BAD_VERSIONS:
        args = ("profiles", "update", user_id, "--bio", "x", "--expected-version", text)
        table.append(Case(f"profiles update version {text!r}", args, "expected_version"))
    table.append(Case("profiles update nothing", ("profiles", "update", user_id), "update"))
    for option, values in (("--count", ("0", "-1", "100001")), ("--concurrency", ("0", "513"))):
        for value in values:
            table.append(Case(f"seed {option} {value}", ("seed", option, value), option.strip("-")))
    for option, values in (
        ("--usernames", ("0", "-5", "100001")),
        ("--clones", ("0", "65")),
        ("--concurrency", ("0", "1001")),
    ):
        for value in values:
            table.append(
                Case(f"race {option} {value[:10]}", ("race", option, value), option.strip("-"))
            )
    for value in ("blitz", CQL):  # a choice the CLI parser itself checks
        table.append(
            Case(f"race --mode {value[:10]}", ("race", "--mode", value), "mode", ours=False)
        )
    return table


def run(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # Wide enough that rich never folds a table cell: the tests look for whole values.
    env = dict(env, COLUMNS="400")
    return subprocess.run(
        [REGISTRY, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def row_counts(connection: Connection) -> dict[str, int]:
    keyspace = connection.settings.keyspace
    counts = {}
    for table in ("user_registrations", "user_profiles", "email_claims"):
        row = connection.session.execute(
            f"SELECT COUNT(*) FROM {keyspace}.{table}", timeout=30
        ).one()
        counts[table] = int(row["count"] if isinstance(row, dict) else row[0])
    return counts


@dataclass
class Victim:
    """A registered user whose rows every hostile update aims at (and must leave alone)."""

    user: UserRecord
    profile: ProfileRecord


@pytest.fixture(scope="module")
async def victim(registry: Registry) -> Victim:
    name = unique("victim")
    out = await registry.register(name, f"{name}@registry.galaxy", "Agent Victim", "Dimension-6")
    assert isinstance(out, Registered), out
    profile = await registry.get_profile_serial(out.user.user_id)
    assert profile is not None
    return Victim(out.user, profile)


@dataclass
class CliTable:
    cases: list[Case]
    results: dict[str, subprocess.CompletedProcess[str]]
    rows_before: dict[str, int]
    rows_after: dict[str, int]


@pytest.fixture(scope="module")
def cli_table(cli_env: dict[str, str], victim: Victim, connection: Connection) -> CliTable:
    """Every case run once, with --json (stderr carries the same line as without it), through
    the CLI's entry point in one child process (tests/cli_batch.py); one case of each command
    also runs as a `registry` process of its own, and the two must agree."""
    table = cases(str(victim.user.user_id))
    assert len({c.id for c in table}) == len(table)
    before = row_counts(connection)
    env = dict(cli_env, COLUMNS="400")
    batch = run_many(env, [(*c.args, "--json") for c in table])
    results = dict(zip([c.id for c in table], batch, strict=True))
    firsts = {c.args[:2]: c for c in reversed(table)}  # one case per command
    with ThreadPoolExecutor(max_workers=4) as pool:
        alone = list(pool.map(lambda c: run(cli_env, *c.args, "--json"), firsts.values()))
    for case, proc in zip(firsts.values(), alone, strict=True):
        got = results[case.id]
        assert (got.returncode, got.stdout, got.stderr) == (
            proc.returncode,
            proc.stdout,
            proc.stderr,
        ), case.id
    return CliTable(table, results, before, row_counts(connection))


def _case_ids() -> list[str]:
    return [c.id for c in cases(VALID_ID)]


@pytest.mark.parametrize("case_id", _case_ids())
def test_cli_refuses_with_a_clear_error(cli_table: CliTable, case_id: str) -> None:
    case = next(c for c in cli_table.cases if c.id == case_id)
    proc = cli_table.results[case_id]
    everything = proc.stdout + proc.stderr
    assert proc.returncode == 2, (case.args, everything)
    assert "Traceback" not in everything, everything
    assert unsafe_in(everything) == [], f"raw {unsafe_in(everything)} in {everything!r}"
    if case.ours:
        first = proc.stderr.splitlines()[0]
        # A field given as an option is named as its flag (--display-name); an argument or a
        # setting by its own name (username, SCYLLA_PORT).
        flag = "--" + case.field.replace("_", "-")
        assert first.startswith((f"error: invalid {case.field}: ", f"error: invalid {flag}: ")), (
            first
        )
        doc = json.loads(proc.stdout)
        assert doc["detail"][0]["loc"] == ["query", case.field], doc
        assert doc["detail"][0]["type"] == "value_error" and doc["detail"][0]["msg"]
    else:  # the CLI parser's own usage error: still exit 2, one line in the same style
        flag = "--" + case.field.replace("_", "-")
        assert proc.stderr.startswith(f"error: invalid {flag}: "), everything
        assert proc.stderr.count("\n") == 1 and proc.stdout == "", everything


async def test_the_hostile_cli_table_wrote_nothing(
    cli_table: CliTable, registry: Registry, victim: Victim
) -> None:
    assert len(cli_table.cases) > 120
    assert cli_table.rows_after == cli_table.rows_before
    assert await registry.get_user_serial(victim.user.username) == victim.user
    assert await registry.get_profile_serial(victim.user.user_id) == victim.profile


# ----------------------------------------------------------------------------------------------
# The same table through the core operations (NUL included: argv cannot carry it)

CORE_HOSTILE = {**HOSTILE, "nul": "ab\x00c"}


def core_cases(victim: Victim) -> list[tuple[str, str, Callable[[Registry], Any]]]:
    uid = victim.user.user_id
    table: list[tuple[str, str, Callable[[Registry], Any]]] = []

    def reg(**override: str) -> Callable[[Registry], Any]:
        name = unique("core")
        fields = {
            "username": name,
            "email": f"{name}@registry.galaxy",
            "display_name": "A",
            "dimension": "D",
        }
        fields.update(override)
        return lambda r: r.register(
            fields["username"], fields["email"], fields["display_name"], fields["dimension"]
        )

    for kind, text in {**CORE_HOSTILE, "empty": ""}.items():
        for field in ("username", "email", "display_name", "dimension"):
            table.append((f"register {field} {kind}", field, reg(**{field: text})))
        table.append((f"get {kind}", "username", lambda r, t=text: r.get_user(t)))
        table.append((f"delete {kind}", "username", lambda r, t=text: r.delete_user(t)))
        table.append((f"list dimension {kind}", "dimension", lambda r, t=text: r.list_users(t)))
        if kind not in ("newline", "empty"):
            table.append(
                (f"update bio {kind}", "bio", lambda r, t=text: r.update_profile(uid, bio=t))
            )
    for text in BAD_IDS:
        table.append((f"get profile {text!r}", "user_id", lambda r, t=text: r.get_profile(t)))
        table.append(
            (f"update id {text!r}", "user_id", lambda r, t=text: r.update_profile(t, bio="x"))
        )
    for text in BAD_STATUSES:
        table.append(
            (f"status {text!r}", "status", lambda r, t=text: r.update_profile(uid, status=t))
        )
    for version in [*BAD_VERSIONS, -(2**63), 2**63, 2**31]:
        table.append(
            (
                f"version {version!r}",
                "expected_version",
                lambda r, v=version: r.update_profile(uid, bio="x", expected_version=v),
            )
        )
    for size in (0, -1, 5001, 10**30):
        table.append((f"page size {size}", "limit", lambda r, s=size: r.list_users(page_size=s)))
    for cursor in ("garbage", CQL, "c1.\x00", "c1." + "A" * 5000):
        table.append(
            (f"cursor {cursor[:10]!r}", "cursor", lambda r, c=cursor: r.list_users(cursor=c))
        )
    return table


async def test_core_refuses_every_hostile_value_and_writes_nothing(
    registry: Registry, connection: Connection, victim: Victim
) -> None:
    before = row_counts(connection)
    wrong: list[str] = []
    for label, field, call in core_cases(victim):
        out = await call(registry)
        if not (isinstance(out, Invalid) and out.field == field and out.message):
            wrong.append(f"{label}: {out!r}")
        elif unsafe_in(out.message):
            wrong.append(f"{label}: the message carries {unsafe_in(out.message)}")
    assert wrong == [], "\n".join(wrong)
    assert row_counts(connection) == before
    assert await registry.get_user_serial(victim.user.username) == victim.user
    assert await registry.get_profile_serial(victim.user.user_id) == victim.profile


# ----------------------------------------------------------------------------------------------
# What is stored renders harmlessly


async def test_markup_and_cql_looking_text_is_stored_and_shown_literally(
    cli_env: dict[str, str], registry: Registry, connection: Connection
) -> None:
    name = unique("literal")
    display, dimension = "[@click=app.quit]x [b]Agent[/b]", f"[/x] {unique('dim')}"
    bio = f"{CQL}\n[link=https://doppel9.void]y[/link] [/]"
    proc = run(
        cli_env, *register_args(username=name, display_name=display, dimension=dimension), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    user = await registry.get_user_serial(name)
    assert user is not None and (user.display_name, user.dimension) == (display, dimension)
    proc = run(cli_env, "profiles", "update", str(user.user_id), "--bio", bio, "--json")
    assert proc.returncode == 0, proc.stderr

    shown = run(cli_env, "users", "get", name)
    assert shown.returncode == 0, shown.stderr
    assert display in shown.stdout and dimension in shown.stdout
    listed = run(cli_env, "users", "list", "--dimension", dimension)
    assert listed.returncode == 0, listed.stderr
    assert (
        name in listed.stdout and "[/x]" in listed.stdout and "[@click=app.quit]x" in listed.stdout
    )
    profile = run(cli_env, "profiles", "get", str(user.user_id))
    assert profile.returncode == 0, profile.stderr
    assert CQL in profile.stdout and "[link=https://doppel9.void]y[/link] [/]" in profile.stdout
    as_json = json.loads(run(cli_env, "users", "get", name, "--json").stdout)
    assert (as_json["display_name"], as_json["dimension"]) == (display, dimension)
    # The CQL-looking text was data: the keyspace is still there and answers.
    keyspaces = connection.session.execute("SELECT keyspace_name FROM system_schema.keyspaces")
    assert connection.settings.keyspace in {
        r["keyspace_name"] if isinstance(r, dict) else r[0] for r in keyspaces
    }


STORED_HOSTILE = "Agent\x1b[31m \x1b]0;pwned\x07\x9b2J\u202eRTL\u200b\x7f\x1b]8;;https://doppel9.void\x1b\\link\x1b]8;;\x1b\\"


@pytest.fixture(scope="module")
def stored_behind_our_back(connection: Connection) -> dict[str, Any]:
    """Rows no registry operation would accept, written straight into the tables (as another
    client, or an older version, could have): control sequences in every text column."""
    keyspace = connection.settings.keyspace
    name, dimension, uid = unique("stored"), unique("dim"), uuid.uuid4()
    email = f"{name}\x1b]8;;https://doppel9.void\x1b\\@registry.galaxy"
    session = connection.session
    session.execute(
        f"INSERT INTO {keyspace}.user_registrations (username, email, display_name, dimension, "
        "registered_at, user_id) VALUES (%s, %s, %s, %s, toTimestamp(now()), %s) IF NOT EXISTS",
        (name, email, STORED_HOSTILE, dimension, uid),
    )
    session.execute(
        f"INSERT INTO {keyspace}.user_profiles (user_id, username, bio, status, version, "
        "updated_at) VALUES (%s, %s, %s, %s, 1, toTimestamp(now())) IF NOT EXISTS",
        (uid, name, STORED_HOSTILE + "\nline two\x1b[2J", "active\x1b[5m"),
    )
    return {"name": name, "dimension": dimension, "user_id": str(uid), "email": email}


@pytest.mark.parametrize(
    "command",
    [
        lambda s: ("users", "get", s["name"]),
        lambda s: ("users", "list", "--dimension", s["dimension"]),
        lambda s: ("users", "list", "--dimension", s["dimension"], "--all"),
        lambda s: ("profiles", "get", s["user_id"]),
        lambda s: (
            "users",
            "register",
            s["name"],
            "--email",
            "x@registry.galaxy",
            "--display-name",
            "Clone",
            "--dimension",
            "D-9",
        ),
    ],
    ids=["users get", "users list", "users list --all", "profiles get", "register taken"],
)
def test_stored_hostile_text_is_shown_escaped_by_the_cli(
    cli_env: dict[str, str],
    stored_behind_our_back: dict[str, Any],
    command: Callable[[dict[str, Any]], tuple[str, ...]],
) -> None:
    proc = run(cli_env, *command(stored_behind_our_back))
    everything = proc.stdout + proc.stderr
    assert proc.returncode in (0, 1), everything
    assert "Traceback" not in everything
    assert unsafe_in(everything) == [], f"raw {unsafe_in(everything)} in {everything!r}"
    assert "\\x1b" in proc.stdout  # shown, escaped: visible to the person, inert to the terminal


@pytest.mark.parametrize(
    "command",
    [
        lambda s: ("users", "get", s["name"], "--json"),
        lambda s: ("users", "list", "--dimension", s["dimension"], "--json"),
        lambda s: ("users", "list", "--dimension", s["dimension"], "--all", "--json"),
        lambda s: ("profiles", "get", s["user_id"], "--json"),
    ],
    ids=["users get", "users list", "users list --all", "profiles get"],
)
def test_stored_hostile_text_in_json_is_faithful_and_escaped(
    cli_env: dict[str, str],
    stored_behind_our_back: dict[str, Any],
    command: Callable[[dict[str, Any]], tuple[str, ...]],
) -> None:
    proc = run(cli_env, *command(stored_behind_our_back))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    found = (
        doc
        if isinstance(doc, dict)
        else next(d for d in doc if d["username"] == stored_behind_our_back["name"])
    )
    text = found.get("display_name", found.get("bio", ""))
    assert text.startswith(STORED_HOSTILE), "the JSON must carry the stored text exactly"
    # ... yet printed to a terminal it must not drive it: every control or format character
    # (C1's CSI U+009B and the bidi override included, not only C0) appears as a \\u escape.
    assert unsafe_in(proc.stdout) == [], f"raw {unsafe_in(proc.stdout)} in {proc.stdout!r}"


async def test_stored_hostile_rows_read_back_exactly_through_the_core(
    registry: Registry, stored_behind_our_back: dict[str, Any]
) -> None:
    user = await registry.get_user(stored_behind_our_back["name"])
    assert isinstance(user, UserRecord) and user.display_name == STORED_HOSTILE
    page = await registry.list_users(stored_behind_our_back["dimension"])
    assert isinstance(page, Page) and [u.display_name for u in page.users] == [STORED_HOSTILE]
