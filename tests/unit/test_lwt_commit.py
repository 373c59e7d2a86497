"""SCYLLA_LWT_COMMIT: which statements carry the commit level ANY, and the setting's refusals.

Which level a statement is *sent* with is this code's decision (the database decides what it
does with it: see tests/faults and scripts/bench_paxos.py); a stand-in session records it."""

from __future__ import annotations

from typing import Any

import pytest
from cassandra import ConsistencyLevel

from registry_tui.core.config import Settings, settings_from_env
from registry_tui.core.store import SessionHook
from registry_tui.core.trace import is_conditional, tracing
from registry_tui.core.validation import ValidationError


class Prepared:
    def __init__(self, query_string: str) -> None:
        self.query_string = query_string


class Bound:
    def __init__(self, cql: str, level: int | None = None) -> None:
        self.prepared_statement = Prepared(cql)
        self.consistency_level = level


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, dict[str, Any]]] = []

    def execute_async(self, query: Any, *args: Any, **kwargs: Any) -> str:
        self.sent.append((query, kwargs))
        return "future"


def test_the_setting_reads_quorum_or_any_and_refuses_the_rest() -> None:
    assert settings_from_env({}).lwt_commit == "quorum"
    assert settings_from_env({"SCYLLA_LWT_COMMIT": " ANY "}).lwt_commit == "any"
    assert Settings().with_overrides(lwt_commit="Any").lwt_commit == "any"
    with pytest.raises(ValidationError, match="SCYLLA_LWT_COMMIT must be quorum"):
        settings_from_env({"SCYLLA_LWT_COMMIT": "one"})


def test_commit_any_goes_on_conditional_writes_only() -> None:
    session = Recorder()
    hook = SessionHook(session, ConsistencyLevel.ANY)  # type: ignore[arg-type]
    lwt = Bound('INSERT INTO ks.user_registrations ("u") VALUES (?) IF NOT EXISTS')
    delete = Bound("DELETE FROM ks.email_claims WHERE e = ? IF user_id = ?")
    plain = Bound("INSERT INTO ks.user_profiles (a) VALUES (?)")
    read = Bound("SELECT * FROM ks.user_registrations WHERE username = ?")
    serial = Bound("SELECT * FROM ks.t WHERE k = ?", ConsistencyLevel.SERIAL)
    chosen = Bound("UPDATE ks.p SET v = ? WHERE k = ? IF version = ?", ConsistencyLevel.QUORUM)
    for query in (lwt, delete, plain, read, serial, chosen):
        hook.execute_async(query)
    assert lwt.consistency_level == delete.consistency_level == ConsistencyLevel.ANY
    assert plain.consistency_level is None and read.consistency_level is None  # the profile's
    assert serial.consistency_level == ConsistencyLevel.SERIAL
    assert chosen.consistency_level == ConsistencyLevel.QUORUM  # a level of its own stays
    hook.execute_async("CREATE TABLE IF NOT EXISTS ks.t (k text PRIMARY KEY)")  # DDL: a string
    assert all("trace" not in kwargs for _, kwargs in session.sent)


def test_by_default_nothing_is_changed_and_tracing_marks_statements_inside_the_block() -> None:
    session = Recorder()
    hook = SessionHook(session, None)  # type: ignore[arg-type]
    lwt = Bound("INSERT INTO ks.t (k) VALUES (?) IF NOT EXISTS")
    hook.execute_async(lwt)
    assert lwt.consistency_level is None and session.sent[-1][1] == {}
    with tracing() as traced:
        hook.execute_async(lwt, timeout=3)
    hook.execute_async(lwt)
    assert session.sent[1][1] == {"trace": True, "timeout": 3}
    assert session.sent[2][1] == {}
    assert [t.statement for t in traced] == ["INSERT INTO ks.t (k) VALUES (?) IF NOT EXISTS"]


def test_what_counts_as_a_conditional_write() -> None:
    assert is_conditional("UPDATE t SET a = 1 WHERE k = 2 IF EXISTS")
    assert not is_conditional("CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY)")
    assert not is_conditional("SELECT * FROM t WHERE k = 1")
    assert not is_conditional("")
