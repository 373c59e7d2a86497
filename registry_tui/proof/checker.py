"""Check a history: per key, linearizable, a violation (with an excerpt), or unknown.

Each key is searched on its own (`search.py`) within a budget; a key whose search cannot finish
is "unknown", never "linearizable". A violation gets an excerpt a person can read
(`excerpt.py`); a key found linearizable gets its plain reads judged (`stale.py`). A key whose
search ran out may still be proven a violation by the windows (`windows.py`), which are sound.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry_tui.proof.excerpt import Excerpt, find_excerpt
from registry_tui.proof.history import History, Operation, collector_paused, validate
from registry_tui.proof.keys import KeyHistory, split_by_key
from registry_tui.proof.models import kind_of, model_for
from registry_tui.proof.search import LINEARIZABLE, UNDECIDED, VIOLATION, Limits, search
from registry_tui.proof.stale import NO_READS, StaleReads, find_stale_reads

VERDICTS = (LINEARIZABLE, VIOLATION, UNDECIDED)


@dataclass(frozen=True)
class Budget:
    """How hard to try, per key. A search step is one move of the search (placing an operation,
    passing one, or taking one back): about a microsecond, and a remembered configuration at
    most (~150 bytes), so `steps` bounds both the time and the memory of one key."""

    steps: int = 10_000_000
    seconds: float | None = None  # wall clock per key, on top of `steps`
    analysis_steps: int = 1_000_000  # per key, for its excerpt or its stale reads

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "seconds": self.seconds,
            "analysis_steps": self.analysis_steps,
        }


@dataclass(frozen=True)
class KeyVerdict:
    key: str
    kind: str
    verdict: str  # "linearizable", "violation" or "unknown"
    operations: int  # all of the key's operations in the history
    checked: int  # the ones in the search (not plain reads, nor reads without an answer)
    steps: int
    seconds: float
    excerpt: Excerpt | None = None  # a violation's proof, when one was found
    stale: StaleReads = NO_READS
    reason: str = ""  # why it is unknown, or how the violation was found

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "key": self.key,
            "kind": self.kind,
            "verdict": self.verdict,
            "operations": self.operations,
            "checked": self.checked,
            "steps": self.steps,
            "seconds": round(self.seconds, 6),
            "stale_reads": self.stale.to_json() | {"examples": list(self.stale.stale[:5])},
        }
        if self.reason:
            document["reason"] = self.reason
        if self.excerpt is not None:
            document["excerpt"] = excerpt_json(self.excerpt)
        return document


def excerpt_json(excerpt: Excerpt) -> dict[str, Any]:
    model = model_for(excerpt.key)
    assert model is not None
    return {
        "start_states": [model.describe_state(s) for s in excerpt.start_states],
        "before": excerpt.before,
        "after": excerpt.after,
        "left_out": excerpt.left_out,
        "whole_key": excerpt.whole_key,
        "stuck": excerpt.stuck,
        "suspects": list(excerpt.suspects),
        "operations": [
            item.op.to_json() | {"crosses_edge": item.crosses_edge} for item in excerpt.operations
        ],
    }


@dataclass
class CheckReport:
    keys: list[KeyVerdict]
    operations: int
    seconds: float
    budget: Budget = field(default_factory=Budget)

    def count(self, verdict: str) -> int:
        return sum(1 for k in self.keys if k.verdict == verdict)

    @property
    def linearizable(self) -> int:
        return self.count(LINEARIZABLE)

    @property
    def violations(self) -> int:
        return self.count(VIOLATION)

    @property
    def unknown(self) -> int:
        return self.count(UNDECIDED)

    @property
    def stale_reads(self) -> int:
        return sum(len(k.stale.stale) for k in self.keys)

    @property
    def verdict(self) -> str:
        """The history's: a violation anywhere; else unknown if any key is; else linearizable."""
        if self.violations:
            return VIOLATION
        return UNDECIDED if self.unknown else LINEARIZABLE

    def violating(self) -> list[KeyVerdict]:
        return [k for k in self.keys if k.verdict == VIOLATION]

    def to_json(self, *, all_keys: bool = False) -> dict[str, Any]:
        """The report as a JSON document. `keys` lists the keys worth a look (not linearizable,
        or with stale reads) unless all_keys: a land-grab has tens of thousands of keys."""
        shown = [
            k
            for k in self.keys
            if all_keys or k.verdict != LINEARIZABLE or k.stale.stale or k.stale.undecided
        ]
        return {
            "verdict": self.verdict,
            "totals": {
                "operations": self.operations,
                "keys": len(self.keys),
                "linearizable": self.linearizable,
                "violation": self.violations,
                "unknown": self.unknown,
                "stale_reads": self.stale_reads,
                "stale_reads_undecided": sum(k.stale.undecided for k in self.keys),
                "seconds": round(self.seconds, 6),
            },
            "budget": self.budget.to_json(),
            "keys": [k.to_json() for k in shown],
        }


def check_history(
    operations: History | Iterable[Operation],
    *,
    budget: Budget | None = None,
    initial: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CheckReport:
    """Check every key of a history. `initial` gives starting states (a History brings its
    header's); `progress(done, total)` is called after each key. HistoryError if an operation
    cannot be checked (a file read by `read_jsonl` has been validated already)."""
    with collector_paused():
        return _check_history(operations, budget or Budget(), initial, progress)


def _check_history(
    operations: History | Iterable[Operation],
    budget: Budget,
    initial: Mapping[str, Any] | None,
    progress: Callable[[int, int], None] | None,
) -> CheckReport:
    started = time.perf_counter()
    if isinstance(operations, History):
        initial = {**operations.initial, **(initial or {})}
        operations = operations.operations
    else:
        operations = list(operations)
        validate(operations)
    keys = split_by_key(operations, initial)
    verdicts: list[KeyVerdict] = []
    for done, key in enumerate(keys.values(), start=1):
        verdicts.append(check_key(key, budget))
        if progress is not None:
            progress(done, len(keys))
    total = sum(k.operations for k in verdicts)
    return CheckReport(verdicts, total, time.perf_counter() - started, budget)


def check_key(key: KeyHistory, budget: Budget) -> KeyVerdict:
    started = time.perf_counter()
    deadline = None if budget.seconds is None else time.monotonic() + budget.seconds
    steps = key.steps()
    found = search(steps, [key.initial], Limits(budget.steps, deadline))
    verdict, reason = found.outcome, ""
    excerpt: Excerpt | None = None
    stale = NO_READS
    # The analysis gets its own allowance of time, as of steps.
    analysis_deadline = None if budget.seconds is None else time.monotonic() + budget.seconds
    if found.outcome == VIOLATION:
        excerpt = find_excerpt(
            key,
            steps,
            budget.analysis_steps,
            known_violation=True,
            stuck=found.stuck,
            deadline=analysis_deadline,
        )
    elif found.outcome == UNDECIDED:
        reason = f"the search did not finish within {found.steps:,} steps"
        if deadline is not None and time.monotonic() > deadline:
            reason = f"the search did not finish within {budget.seconds} s"
        # The windows may still prove a violation the whole search could not reach.
        excerpt = find_excerpt(
            key, steps, budget.analysis_steps, known_violation=False, deadline=analysis_deadline
        )
        if excerpt is not None:
            verdict, reason = VIOLATION, "proven by a window of the history; " + reason
    else:
        stale = find_stale_reads(key, steps, budget.analysis_steps, deadline=analysis_deadline)
    return KeyVerdict(
        key=key.key,
        kind=kind_of(key.key),
        verdict=verdict,
        operations=key.operations,
        checked=len(key.checked),
        steps=found.steps,
        seconds=time.perf_counter() - started,
        excerpt=excerpt,
        stale=stale,
        reason=reason,
    )
