"""A traced statement's events as the Paxos phases a person can follow.

Cassandra records what a statement sent with tracing on did in `system_traces.events`: one
line of text per step, the replica (`source`) that logged it, its microseconds since that
replica started the trace (`source_elapsed`), the thread, and the event's time UUID. Nothing
names the Paxos phases. This module reads the coordinator's own lines (which begin each round)
and the replicas' answers (promise, accept, commit) and returns the rounds the coordinator ran,
who answered each, how long each took, and how many round trips the client waited for.

Texts as Cassandra 5.0.8 writes them (read from traces of real nodes, both variants):
- Paxos v2 (`paxos_variant: v2`): "Preparing <ballot> with read" (prepare and read are one
  round), "Promising read/write ballot", "CAS precondition is met; proposing client-requested
  updates", "Accepting proposal", "Committing proposal", "CAS successful"; a loser of IF NOT
  EXISTS: "CAS precondition rejected" after the first round.
- Paxos v1: "Preparing <ballot>", "Promising ballot", then a separate quorum read ("Reading
  existing values for CAS precondition"), "CAS precondition is met; proposing ...", "Accepting
  proposal", "Committing proposal" on the replicas, "CAS applied successfully". A v1 loser
  proposes an empty update after "CAS precondition does not match current values" and ends
  with "CAS did not apply" (three rounds). Contention: "Some replicas have already promised a
  higher ballot than ours; aborting" (a refused prepare), "Paxos proposal not accepted
  (pre-empted by a higher ballot)" (a refused proposal), "Finishing incomplete paxos round"
  and "Repairing replicas that missed the most recent commit" (an earlier round completed).

Times come from the events' time UUIDs when the caller gives them (`at_us`): one clock for
every replica on one host, and for a real cluster as good as its clocks; `source_elapsed` is
per replica and only orders one replica's own lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Round names, in the words the timeline shows.
PREPARE = "prepare"
PREPARE_READ = "prepare+read"
READ = "read"
PROPOSE = "propose"
COMMIT = "commit"
REPAIR = "repair"  # completing an earlier, unfinished round (its propose or commit)

APPLIED = "applied"
REJECTED = "rejected"
NO_RESULT = "no result"  # the trace ends without the coordinator's verdict (e.g. a timeout)


@dataclass(frozen=True)
class TraceEvent:
    """One row of `system_traces.events`."""

    activity: str
    source: str
    source_elapsed_us: int = 0
    thread: str = ""
    at_us: int | None = None  # wall-clock microseconds of the event's time UUID


@dataclass(frozen=True)
class Step:
    """One event on the statement's time line (microseconds since its first event)."""

    at_us: int
    kind: str
    source: str
    text: str


@dataclass
class Round:
    """One request the coordinator sent to the replicas and the answers it saw."""

    name: str
    start_us: int
    end_us: int
    answered_by: list[str] = field(default_factory=list)
    refused_by: list[str] = field(default_factory=list)
    outcome: str = "ok"  # ok | pre-empted | refused | not awaited
    awaited: bool = True

    @property
    def elapsed_us(self) -> int:
        return max(0, self.end_us - self.start_us)

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.name,
            "start_ms": round(self.start_us / 1000, 3),
            "elapsed_ms": round(self.elapsed_us / 1000, 3),
            "answered_by": list(self.answered_by),
            "refused_by": list(self.refused_by),
            "outcome": self.outcome,
            "awaited": self.awaited,
        }


@dataclass(frozen=True)
class PaxosTrace:
    """A traced statement read as Paxos: its rounds in order, and every step."""

    coordinator: str
    variant: str  # "v1", "v2", or "" when the events do not tell (no Paxos, or too few)
    result: str  # APPLIED | REJECTED | NO_RESULT, or "" for a statement without Paxos
    rounds: tuple[Round, ...]
    steps: tuple[Step, ...]
    duration_us: int

    @property
    def paxos(self) -> bool:
        return bool(self.rounds)

    @property
    def round_trips(self) -> int:
        """Round trips the client waited for: every round before the coordinator answered."""
        return sum(1 for r in self.rounds if r.awaited)

    @property
    def contended(self) -> int:
        """Rounds a competing ballot refused or pre-empted."""
        return sum(1 for r in self.rounds if r.outcome in ("pre-empted", "refused"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "coordinator": self.coordinator,
            "variant": self.variant,
            "result": self.result,
            "round_trips": self.round_trips,
            "contended_rounds": self.contended,
            "duration_ms": round(self.duration_us / 1000, 3),
            "rounds": [r.to_dict() for r in self.rounds],
        }


# The coordinator's lines: each begins a round, ends one, or gives the verdict.
_PREPARE_READ = re.compile(r"^Preparing \S+ with read")
_PREPARE = re.compile(r"^Preparing \S+")
_READ = re.compile(r"^Reading existing values for CAS precondition")
_PROPOSE = re.compile(r"^CAS precondition is met; proposing")
_MISMATCH = re.compile(r"^CAS precondition does not match")
_PREEMPTED = re.compile(r"pre-empted by a higher ballot|^Paxos proposal not accepted")
_REFUSED = re.compile(r"promised a higher ballot than ours|^Aborting .*higher ballot", re.I)
_FINISH = re.compile(r"^Finishing incomplete paxos round")
_REPAIR = re.compile(r"^Repairing replicas that missed the most recent commit")
_APPLIED = re.compile(r"^CAS (successful|applied successfully)")
_REJECTED = re.compile(r"^CAS (precondition rejected|did not apply)")
# The replicas' answers (the coordinator is one of the replicas too).
_PROMISE = re.compile(r"^Promising ")
_PROMISE_REFUSED = re.compile(r"^Promise rejected")
_ACCEPT = re.compile(r"^Accepting proposal")
_ACCEPT_REFUSED = re.compile(r"^Rejecting proposal")
_COMMITTING = re.compile(r"^Committing proposal")
_READ_ROWS = re.compile(r"^Read \d+ live rows")
_COMMIT_ACK = re.compile(r"^\S*COMMIT\S*_RSP message received from")
_SEND = re.compile(r"^Sending (\S+) message to /?([^\s:]+)")
_RECEIVED = re.compile(r"^(\S+) message received from /?([^\s:]+)")


def first_line(text: str, width: int = 100) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _ordered(events: Sequence[TraceEvent]) -> list[tuple[int, TraceEvent]]:
    """Each event with its time since the first.

    The time UUIDs of trace events carry milliseconds; `source_elapsed` carries microseconds
    since the replica began its part of the trace (a replica may begin more than one part, e.g.
    for a late answer, each counting from zero). A line logged at true time A + elapsed, where
    A is its part's start, has a time UUID in (A + elapsed - 1 ms, A + elapsed]: so
    at - elapsed lies within 1 ms below A. Lines whose at - elapsed fall within 1 ms of each
    other are one part; its start is the latest of them, and start + elapsed each line's time
    to the microsecond. Without time UUIDs, the events keep their order."""
    if not events or any(e.at_us is None for e in events):
        return [(e.source_elapsed_us, e) for e in events]
    by_source: dict[str, list[int]] = {}
    for i, e in enumerate(events):
        by_source.setdefault(e.source, []).append(i)
    when: dict[int, int] = {}
    for indices in by_source.values():
        lower = {i: (events[i].at_us or 0) - events[i].source_elapsed_us for i in indices}
        indices.sort(key=lambda i: lower[i])
        part: list[int] = []
        for i in [*indices, -1]:
            if part and (i < 0 or lower[i] - lower[part[0]] >= 1000):
                start = max(lower[j] for j in part)
                for j in part:
                    when[j] = start + events[j].source_elapsed_us
                part = []
            if i >= 0:
                part.append(i)
    first = min(when.values())
    timed = sorted((when[i] - first, i) for i in range(len(events)))
    return [(at, events[i]) for at, i in timed]


class _Reader:
    def __init__(self, coordinator: str) -> None:
        self.coordinator = coordinator
        self.rounds: list[Round] = []
        self.steps: list[Step] = []
        self.result = ""
        self.result_at: int | None = None
        self.variant = ""
        self.repair_accepted = False  # an earlier round re-proposed: its commit is a round

    def last(self, *names: str) -> Round | None:
        for r in reversed(self.rounds):
            if r.name in names:
                return r
        return None

    def begin(self, name: str, at: int) -> Round:
        if self.rounds and self.rounds[-1].awaited:
            self.rounds[-1].end_us = at  # what the coordinator waited for this round
        started = Round(name, at, at, awaited=self.result_at is None)
        if not started.awaited:
            started.outcome = "not awaited"
        self.rounds.append(started)
        return started

    def note(self, at: int, kind: str, event: TraceEvent) -> None:
        self.steps.append(Step(at, kind, event.source, first_line(event.activity)))

    def answer(self, at: int, names: tuple[str, ...], source: str, refused: bool) -> None:
        r = self.last(*names)
        if r is None:
            return
        who = r.refused_by if refused else r.answered_by
        if source not in who:
            who.append(source)
        if r is self.rounds[-1] and r.awaited and self.result_at is None:
            r.end_us = max(r.end_us, at)

    def coordinator_line(self, at: int, text: str, event: TraceEvent) -> bool:
        """Read one of the coordinator's own lines; False when it is none of them."""
        if _PREPARE_READ.search(text):
            self.variant = "v2"
            pending = self.rounds[-1] if self.rounds else None
            if pending is not None and pending.name == READ and not pending.answered_by:
                # v2 logs "Reading existing values" just before its prepare-with-read: one round.
                pending.name = PREPARE_READ
                pending.end_us = at
            else:
                self.begin(PREPARE_READ, at)
            self.note(at, PREPARE_READ, event)
        elif _PREPARE.search(text):
            self.begin(PREPARE, at)
            self.note(at, PREPARE, event)
        elif _READ.search(text):
            self.begin(READ, at)
            self.note(at, READ, event)
        elif _PROPOSE.search(text):
            self.begin(PROPOSE, at)
            self.note(at, PROPOSE, event)
        elif _FINISH.search(text) or _REPAIR.search(text):
            self.begin(REPAIR, at)
            self.note(at, REPAIR, event)
        elif _MISMATCH.search(text):
            self.note(at, "condition", event)
        elif _PREEMPTED.search(text):
            r = self.last(PROPOSE, REPAIR)
            if r is not None:
                r.outcome, r.end_us = "pre-empted", at
            self.note(at, "contention", event)
        elif _REFUSED.search(text):
            r = self.last(PREPARE, PREPARE_READ)
            if r is not None:
                r.outcome, r.end_us = "refused", at
            self.note(at, "contention", event)
        elif _APPLIED.search(text) or _REJECTED.search(text):
            self.result = APPLIED if _APPLIED.search(text) else REJECTED
            self.result_at = at
            if self.rounds:
                last = self.rounds[-1]
                last.end_us = max(last.end_us, at)
            self.note(at, "result", event)
        else:
            return False
        return True

    def replica_line(self, at: int, text: str, event: TraceEvent) -> None:
        source = event.source
        if _PROMISE.search(text):
            self.answer(at, (PREPARE, PREPARE_READ), source, refused=False)
            self.note(at, "promise", event)
        elif _PROMISE_REFUSED.search(text):
            self.answer(at, (PREPARE, PREPARE_READ), source, refused=True)
            self.note(at, "contention", event)
        elif _ACCEPT.search(text):
            self.answer(at, (PROPOSE, REPAIR), source, refused=False)
            if self.rounds and self.rounds[-1].name == REPAIR:
                self.repair_accepted = True
            self.note(at, "accept", event)
        elif _ACCEPT_REFUSED.search(text):
            self.answer(at, (PROPOSE, REPAIR), source, refused=True)
            self.note(at, "contention", event)
        elif _COMMITTING.search(text):
            self.committing(at)
            self.answer(at, (COMMIT, REPAIR), source, refused=False)
            self.note(at, COMMIT, event)
        elif _READ_ROWS.search(text) and "ReadStage" in event.thread:
            self.answer(at, (READ, PREPARE_READ), source, refused=False)
            self.note(at, "read", event)
        elif m := _SEND.search(text):
            verb = m.group(1)
            if source == self.coordinator and "COMMIT" in verb and verb.endswith("_REQ"):
                self.committing(at)
            self.note(at, "message", event)
        elif _RECEIVED.search(text):
            self.note(at, "message", event)

    def committing(self, at: int) -> None:
        """A commit message or a replica's commit: the commit round, begun once per propose."""
        last = self.rounds[-1] if self.rounds else None
        if last is None or last.name == COMMIT:
            return
        if last.name == REPAIR and not self.repair_accepted:
            return  # the repair itself is a commit
        if last.name in (PROPOSE, REPAIR) and last.outcome == "ok":
            self.repair_accepted = False
            self.begin(COMMIT, at)


def read_trace(
    events: Iterable[TraceEvent], coordinator: str = "", duration_us: int | None = None
) -> PaxosTrace:
    """Turn one statement's trace events into its Paxos rounds.

    `coordinator`: the node that ran the statement (`system_traces.sessions.coordinator`);
    when empty, the source of the first coordinator line. A statement without Paxos (a plain
    read or write) returns no rounds and an empty result."""
    listed = list(events)
    ordered = _ordered(listed)
    if not coordinator:
        for _, e in ordered:
            if any(p.search(e.activity) for p in (_PREPARE, _READ, _APPLIED, _REJECTED)):
                coordinator = e.source
                break
        else:
            coordinator = ordered[0][1].source if ordered else ""
    reader = _Reader(coordinator)
    for at, event in ordered:
        text = event.activity
        if event.source == coordinator and reader.coordinator_line(at, text, event):
            continue
        reader.replica_line(at, text, event)
    if reader.rounds and not reader.result:
        reader.result = NO_RESULT
    if reader.rounds and reader.variant == "":
        reader.variant = "v1" if reader.last(PREPARE) and reader.last(READ) else ""
    # The commit is awaited when a replica other than the coordinator acknowledged it before
    # the verdict (at a commit level of ANY the coordinator answers after its own commit
    # alone); on one node, when the node had committed before the verdict.
    remote = {e.source for _, e in ordered} - {coordinator}
    for r in reader.rounds:
        if r.name != COMMIT or reader.result_at is None:
            continue
        acks = [
            s.at_us
            for s in reader.steps
            if s.at_us >= r.start_us
            and (
                (s.kind == COMMIT and (s.source != coordinator or not remote))
                or (s.kind == "message" and s.source == coordinator and _COMMIT_ACK.search(s.text))
            )
        ]
        if not acks or min(acks) > reader.result_at:
            r.awaited, r.outcome = False, "not awaited"
            r.end_us = reader.result_at
    last_at = ordered[-1][0] if ordered else 0
    total = duration_us if duration_us is not None else (reader.result_at or last_at)
    return PaxosTrace(
        coordinator=coordinator,
        variant=reader.variant,
        result=reader.result,
        rounds=tuple(reader.rounds),
        steps=tuple(reader.steps),
        duration_us=total,
    )


def render_timeline(trace: PaxosTrace, statement: str = "") -> list[str]:
    """The trace as lines of plain text: one per round, with who answered and how long."""
    head = statement or "statement"
    if not trace.paxos:
        return [f"{head}: no Paxos round ({trace.duration_us / 1000:.1f} ms)"]
    lines = [
        f"{head}: {trace.result}, {trace.round_trips} round trip(s), "
        f"{trace.duration_us / 1000:.1f} ms, coordinator {trace.coordinator}"
        + (f", Paxos {trace.variant}" if trace.variant else "")
    ]
    for r in trace.rounds:
        who = ", ".join(r.answered_by) or "-"
        refused = f"; refused by {', '.join(r.refused_by)}" if r.refused_by else ""
        flag = "" if r.outcome == "ok" else f"  [{r.outcome}]"
        lines.append(
            f"  +{r.start_us / 1000:7.1f} ms  {r.name:<12} {r.elapsed_us / 1000:6.1f} ms  "
            f"answered by {who}{refused}{flag}"
        )
    return lines


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return float(ordered[rank - 1])
