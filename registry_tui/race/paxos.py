"""Sampled race attempts traced as Paxos rounds (`registry race --trace-sample N`).

One race in N has every contender register with tracing on (so one attempt in N, winners and
losers alike, and each traced name shows all its attempts side by side); once the races are over
(tracing the attempts is the server's work, reading the traces is ours, after the timed part)
each traced statement's events are read back and turned into rounds by `proof.paxos`. The
summary gives the round trips per winning and per losing attempt (p50 / max)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from registry_tui.core.trace import RawTrace, TracedStatement, read_trace_events
from registry_tui.proof.paxos import NO_RESULT, PaxosTrace, TraceEvent, percentile, read_trace

# Trace reads in flight at once after a race (each polls system_traces until complete).
READ_CONCURRENCY = 8

_TABLE = re.compile(r"(?:INTO|UPDATE|FROM)\s+(\S+)", re.I)
_CONDITION = re.compile(r"\sIF\s+(.*)$", re.I | re.S)


def statement_label(cql: str) -> str:
    """'INSERT user_registrations IF NOT EXISTS' from a statement's CQL (a prepared
    statement's text carries no values)."""
    words = cql.split()
    verb = words[0].upper() if words else "?"
    table = _TABLE.search(cql)
    name = table.group(1).split(".")[-1].strip('"') if table else ""
    condition = _CONDITION.search(cql)
    tail = f" IF {' '.join(condition.group(1).split())}" if condition else ""
    return " ".join(part for part in (verb, name) if part) + tail


def paxos_trace(raw: RawTrace) -> PaxosTrace:
    return read_trace(
        [TraceEvent(*event) for event in raw.events], raw.coordinator, raw.duration_us
    )


async def read_statements(
    session: Any, sent: Sequence[TracedStatement]
) -> list[tuple[str, PaxosTrace]]:
    """Each traced statement's label and rounds, in the order they were sent (a statement
    the server never answered has no trace and is left out). Read side by side: each read
    waits for the server to finish writing its trace."""
    raws = await asyncio.gather(*(read_trace_events(session, statement) for statement in sent))
    return [(statement_label(raw.statement), paxos_trace(raw)) for raw in raws if raw is not None]


@dataclass(frozen=True)
class TracedAttempt:
    """One sampled contender's registration, statement by statement."""

    race: int
    username: str
    contender: int  # its index in the race (0: the hero)
    outcome: str  # won | blocked | unknown
    latency_ms: float
    statements: tuple[tuple[str, PaxosTrace], ...]

    @property
    def round_trips(self) -> int:
        return sum(trace.round_trips for _, trace in self.statements)

    @property
    def complete(self) -> bool:
        """Every conditional statement's trace shows its rounds and the coordinator's verdict
        (a trace read before every replica had written its lines shows less)."""
        conditional = [t for label, t in self.statements if " IF " in f" {label} "]
        return bool(conditional) and all(t.paxos and t.result != NO_RESULT for t in conditional)

    @property
    def contended(self) -> int:
        return sum(trace.contended for _, trace in self.statements)

    def as_document(self) -> dict[str, Any]:
        return {
            "race": self.race,
            "username": self.username,
            "contender": self.contender,
            "outcome": self.outcome,
            "latency_ms": round(self.latency_ms, 3),
            "round_trips": self.round_trips,
            "complete": self.complete,
            "statements": [{"statement": s, **t.to_dict()} for s, t in self.statements],
        }


@dataclass(frozen=True)
class RoundTrips:
    attempts: int
    p50: float
    max: int
    contended_rounds: int

    @classmethod
    def of(cls, attempts: Sequence[TracedAttempt]) -> RoundTrips:
        trips = [a.round_trips for a in attempts]
        return cls(
            len(trips),
            percentile(trips, 50),
            max(trips, default=0),
            sum(a.contended for a in attempts),
        )

    def as_document(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "p50": self.p50,
            "max": self.max,
            "contended_rounds": self.contended_rounds,
        }


@dataclass(frozen=True)
class PaxosSummary:
    """Round trips per traced winning and losing attempt."""

    every: int
    winners: RoundTrips
    losers: RoundTrips
    unknown: int
    incomplete: int = 0  # traces missing a verdict or rounds: left out of the figures

    @classmethod
    def of(cls, every: int, attempts: Iterable[TracedAttempt]) -> PaxosSummary:
        listed = list(attempts)
        whole = [a for a in listed if a.complete]
        return cls(
            every,
            RoundTrips.of([a for a in whole if a.outcome == "won"]),
            RoundTrips.of([a for a in whole if a.outcome == "blocked"]),
            sum(1 for a in listed if a.outcome not in ("won", "blocked")),
            sum(1 for a in listed if not a.complete and a.outcome in ("won", "blocked")),
        )

    def as_document(self) -> dict[str, Any]:
        return {
            "trace_sample": self.every,
            "winners": self.winners.as_document(),
            "losers": self.losers.as_document(),
            "unknown": self.unknown,
            "incomplete": self.incomplete,
        }


class Sampler:
    """Every attempt of one race in `every` (0: none): winners and losers alike, one attempt
    in N overall, and each traced name with all its contenders side by side."""

    def __init__(self, every: int, races: int | None = None) -> None:
        if every < 0:
            raise ValueError("the trace sample is 0 (none) or one race in N")
        self.every = every
        self.races = races  # at most this many races traced (None: no limit)

    def pick(self, race: int) -> bool:
        if not self.every or race % self.every:
            return False
        return self.races is None or race // self.every < self.races


async def read_attempts(
    session: Any,
    pending: Sequence[tuple[int, str, int, Any, Sequence[TracedStatement]]],
) -> list[TracedAttempt]:
    """(race, username, contender, attempt, statements sent) -> the traced attempts; `attempt`
    is read for its `outcome` and `latency_ms` once the race has decided them."""
    gate = asyncio.Semaphore(READ_CONCURRENCY)

    async def one(item: tuple[int, str, int, Any, Sequence[TracedStatement]]) -> TracedAttempt:
        race, username, contender, attempt, sent = item
        async with gate:
            statements = await read_statements(session, sent)
        return TracedAttempt(
            race, username, contender, attempt.outcome, attempt.latency_ms, tuple(statements)
        )

    return list(await asyncio.gather(*(one(item) for item in pending)))
