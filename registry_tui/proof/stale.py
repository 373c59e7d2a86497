"""Stale plain reads: QUORUM reads that saw a value the key could not hold during the read.

A plain read is not part of the linearizability check: nothing promises it the latest value,
and seeing an older one is not a violation. It is reported when it is *stale*: no valid order
of the key's checked operations gives the key that value at any moment of the read.

The rule, chosen to be sound and cheap. Every read is treated as a SERIAL read. If the whole
key has an order with all of them placed, none is stale: exact, and the usual case, in one
search. Otherwise each read is placed in the window of cuts around it (`windows.py`), started
from every state the cut before it may hold, with the writes begun before that cut free to take
effect at any moment. If no order of that window places it, no order of the whole key does:
the read is stale, for certain. If a search runs out of its budget the read is "undecided",
never counted. Because the states at the cuts are a superset, a read that is in fact stale can
go uncounted: the count is a lower bound, its examples are all real. Only keys found
linearizable are analysed: in a key with a violation no order exists at all, and "stale" would
mean nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from registry_tui.proof.history import Operation
from registry_tui.proof.keys import KeyHistory
from registry_tui.proof.models import State, Transition
from registry_tui.proof.search import LINEARIZABLE, VIOLATION, Limits, Step, search
from registry_tui.proof.windows import forward

READ_SHARE = 50  # one search may use at most 1/50 of the analysis budget, or...
READ_FLOOR = 20_000  # ...this many steps, whichever is more


@dataclass(frozen=True)
class StaleReads:
    reads: int  # the key's answered plain reads
    stale: tuple[int, ...]  # indexes of the reads no valid order explains
    undecided: int  # reads the budget could not judge (not counted as stale)

    def to_json(self) -> dict[str, object]:
        return {"reads": self.reads, "stale": len(self.stale), "undecided": self.undecided}


NO_READS = StaleReads(0, (), 0)


def find_stale_reads(
    key: KeyHistory, steps: list[Step], max_steps: int, *, deadline: float | None = None
) -> StaleReads:
    if not key.plain_reads:
        return NO_READS
    # First the whole key with every read placed as a SERIAL read: exact, and when an order
    # exists (the common case) it proves every read fresh in one search.
    as_serial = [key.step(read) for read in key.plain_reads]
    everything = search([*steps, *as_serial], [key.initial], Limits(max_steps // 2, deadline))
    if everything.outcome == LINEARIZABLE:
        return StaleReads(len(key.plain_reads), (), 0)
    left = max_steps - everything.steps
    frontier = forward(steps, [key.initial], left // 2, deadline=deadline)
    per_search = max(READ_FLOOR, max_steps // READ_SHARE)
    budget = _Budget(left - frontier.used, per_search, deadline)
    last_known = max(i for i, states in enumerate(frontier.states) if states is not None)
    # Reads are judged by window, together: placing every read of a window at once proves them
    # all fresh in one search (reads only add constraints), and only a window that fails is
    # split, down to the single reads that cannot be placed.
    by_window: dict[tuple[int, int], list[Operation]] = {}
    for read in key.plain_reads:
        assert read.complete is not None
        first = min(bisect_right(frontier.cuts, read.invoke) - 1, last_known)
        last = bisect_right(frontier.cuts, read.complete) - 1
        by_window.setdefault((first, last), []).append(read)
    stale: list[int] = []
    undecided = 0
    for (first, last), window_reads in by_window.items():
        states = frontier.states[first]
        assert states is not None
        inside, free = frontier.window(first, last)
        moves = [s.apply for s in free]
        pending = [window_reads]
        while pending:
            group = pending.pop()
            if budget.left <= 0:
                undecided += len(group)
                continue
            found = budget.search([*inside, *(key.step(r) for r in group)], states, moves)
            if found == LINEARIZABLE:
                continue
            if len(group) == 1:
                if found == VIOLATION:
                    stale.append(group[0].index)
                else:
                    undecided += 1
                continue
            middle = len(group) // 2
            pending += [group[middle:], group[:middle]]
    return StaleReads(len(key.plain_reads), tuple(sorted(stale)), undecided)


class _Budget:
    def __init__(self, left: int, per_search: int, deadline: float | None = None) -> None:
        self.left = left
        self.per_search = per_search
        self.deadline = deadline

    def search(self, steps: list[Step], states: frozenset[State], moves: list[Transition]) -> str:
        limits = Limits(min(self.left, self.per_search), self.deadline)
        found = search(steps, states, limits, free=moves)
        self.left -= found.steps
        return found.outcome
