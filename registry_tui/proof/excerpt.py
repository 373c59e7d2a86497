"""A violation small enough to read: a few operations that no order explains.

Cutting operations out of a violating history does not in general leave a violation that
means anything (drop the delete between two registrations and a "double owner" appears that
never was). So the excerpt is only ever shrunk by steps that keep it a proof about the whole
history, each argued in `windows.py` or below:

1. the window where no state survives `windows.forward`, started from every state the earlier
   operations may have left (so the earlier ones are summed up by those states), then that
   window walked again in narrower windows while one of them is still such a proof;
2. its end moved earlier while no order exists (the operations crossing the new end become
   optional, as at any cut);
3. optional operations called after every required one has answered, dropped (they can take
   effect only after all of them: no order needs them);
4. reads and refused writes dropped one at a time while no order exists (they change nothing:
   an order for the rest with them would be one without them). A refused write is kept, and
   named a suspect, when the excerpt would have an order had it taken effect: the shape of a
   write that was applied but answered "refused", which the excerpt should show, not hide.

When the windows miss the violation (they over-approximate) or the budget runs out, the excerpt
is the whole key from its initial state: still a proof, only not a small one.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from registry_tui.proof.history import Operation
from registry_tui.proof.keys import KeyHistory
from registry_tui.proof.models import READS, UNKNOWN, State
from registry_tui.proof.search import INFINITY, VIOLATION, Limits, SearchResult, Step, search
from registry_tui.proof.windows import forward, window

WIDTHS = (32, 256, 2048)  # window sizes tried in turn, about, in operations
NARROWER = (8, 4, 2)  # then the window found, walked again in these


@dataclass(frozen=True)
class ExcerptOperation:
    op: Operation
    # True when the operation crosses an edge of the excerpt: it is taken as "may have taken
    # effect here, or before or after the excerpt", whatever its answer was.
    crosses_edge: bool


@dataclass(frozen=True)
class Excerpt:
    key: str
    operations: tuple[ExcerptOperation, ...]  # by invoke time
    start_states: tuple[State, ...]  # what the operations before it may have left
    before: int  # the key's operations before the excerpt, summed up by start_states
    after: int  # and after it, which cannot repair it
    left_out: int  # reads and refused writes within its span, dropped: they change nothing
    whole_key: bool  # no smaller proof was found within the budget
    stuck: int | None  # the operation whose answer the orders got furthest towards, if known
    # Refused writes that, had they taken effect, would give the excerpt an order.
    suspects: tuple[int, ...] = ()

    @property
    def indexes(self) -> list[int]:
        return [item.op.index for item in self.operations]


@dataclass
class _Witness:
    steps: list[Step]
    free: list[Step]  # may take effect at any moment of the excerpt (they began before it)
    states: frozenset[State]
    lo: float
    whole_key: bool


class _Allowance:
    """The steps left for the excerpt's searches, shared by all of them."""

    def __init__(self, steps: int, deadline: float | None) -> None:
        self.left = steps
        self.deadline = deadline

    def fails(
        self, steps: Sequence[Step], free: Sequence[Step], states: frozenset[State]
    ) -> SearchResult | None:
        """The search's result when no order exists; None when one does or it cannot tell."""
        if self.left <= 0:
            return None
        limits = Limits(self.left, self.deadline)
        found = search(steps, states, limits, free=[s.apply for s in free])
        self.left -= found.steps
        return found if found.outcome == VIOLATION else None


def find_excerpt(
    key: KeyHistory,
    steps: list[Step],
    max_steps: int,
    *,
    known_violation: bool,
    stuck: int | None = None,
    deadline: float | None = None,
) -> Excerpt | None:
    """The smallest proof found within `max_steps`. None when the key is not known to be a
    violation and the windows found no proof of one either. `stuck`: where the whole key's
    search got furthest, shown when the excerpt's own search cannot say."""
    allowance = _Allowance(max_steps, deadline)
    witness = _windowed_witness(key, steps, allowance)
    if witness is None:
        if not known_violation:
            return None
        witness = _Witness(steps, [], frozenset([key.initial]), -INFINITY, whole_key=True)
    witness.steps, suspects = _shrink(key, witness, allowance)
    final = allowance.fails(witness.steps, witness.free, witness.states)
    return _excerpt(key, witness, final.stuck if final is not None else stuck, suspects)


def _windowed_witness(key: KeyHistory, steps: list[Step], allowance: _Allowance) -> _Witness | None:
    for width in WIDTHS:
        if allowance.left <= 0 or deadline_passed(allowance.deadline):
            return None
        found = _empty_window(
            _Witness(steps, [], frozenset([key.initial]), -INFINITY, whole_key=False),
            width,
            allowance,
        )
        if found is not None:
            return _narrowed(found, allowance)
        if width >= len(steps):
            return None
    return None


def _empty_window(witness: _Witness, width: int, allowance: _Allowance) -> _Witness | None:
    """The first window of `witness` (walked in windows of `width`) that no state survives."""
    frontier = forward(
        witness.steps,
        witness.states,
        allowance.left,
        width=width,
        deadline=allowance.deadline,
        carried=witness.free,
    )
    allowance.left -= frontier.used
    i = frontier.empty_window
    if i is None:
        return None
    states = frontier.states[i]
    assert states is not None
    inside, free = frontier.window(i, i)
    lo = frontier.cuts[i] if i else witness.lo
    return _Witness(inside, free, states, lo, whole_key=False)


def _narrowed(witness: _Witness, allowance: _Allowance) -> _Witness:
    """The window walked again in narrower windows, as long as one of them is a proof."""
    for width in NARROWER:
        if allowance.left <= 0:
            break
        if len(witness.steps) <= width:
            continue
        found = _empty_window(witness, width, allowance)
        if found is not None and len(found.steps) < len(witness.steps):
            witness = found
    return witness


def deadline_passed(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def _shrink(
    key: KeyHistory, witness: _Witness, allowance: _Allowance
) -> tuple[list[Step], tuple[int, ...]]:
    steps = sorted(witness.steps, key=lambda s: (s.invoke, s.ident))
    invokes = [s.invoke for s in steps]

    def cut_at(hi: float) -> list[Step]:
        return window(steps, invokes, witness.lo, hi, ())[0]

    def fails(candidate: list[Step]) -> bool:
        return allowance.fails(candidate, witness.free, witness.states) is not None

    # 2. The earliest end that still leaves no order (more end, more constraints: monotone).
    ends = sorted({s.complete for s in steps if s.required})
    lo, hi = 0, len(ends) - 1
    best = steps
    while lo <= hi and allowance.left > 0:
        middle = (lo + hi) // 2
        candidate = cut_at(math.nextafter(ends[middle], INFINITY))
        if fails(candidate):
            best, hi = candidate, middle - 1
        else:
            lo = middle + 1
    # 3. Optional operations called after the last answer.
    last = max((s.complete for s in best if s.required), default=-INFINITY)
    best = [s for s in best if s.required or s.invoke <= last]
    # 4. Reads and refused writes, latest first (the earliest are the likeliest to matter).
    by_index = {op.index: op for op in key.checked}
    suspects: list[int] = []
    for step in sorted((s for s in best if s.pure and s.required), key=lambda s: -s.invoke):
        if allowance.left <= 0:
            break
        op = by_index[step.ident]
        candidate = [s for s in best if s is not step]
        if op.f not in READS:
            taken_effect = key.step(dataclasses.replace(op, result=UNKNOWN))
            if not fails([*candidate, taken_effect]) and allowance.left > 0:
                suspects.append(op.index)
                continue
        if fails(candidate):
            best = candidate
    return best, tuple(sorted(suspects))


def _excerpt(
    key: KeyHistory, witness: _Witness, stuck: int | None, suspects: tuple[int, ...]
) -> Excerpt:
    by_index = {op.index: op for op in key.checked}
    chosen = sorted(
        [*witness.steps, *witness.free], key=lambda s: (by_index[s.ident].invoke, s.ident)
    )
    free = {s.ident for s in witness.free}
    operations = tuple(
        ExcerptOperation(
            op,
            crosses_edge=op.index in free or (not step.required and op.outcome != UNKNOWN),
        )
        for step in chosen
        for op in (by_index[step.ident],)
    )
    shown = {s.ident for s in chosen}
    first = min((s.invoke for s in witness.steps), default=INFINITY)
    last = max((s.complete for s in witness.steps if s.required), default=-INFINITY)
    hidden = [op for op in key.checked if op.index not in shown]
    before = sum(1 for op in hidden if op.invoke < first)
    after = sum(1 for op in hidden if op.invoke > last)
    return Excerpt(
        key=key.key,
        operations=operations,
        start_states=tuple(sorted(witness.states, key=repr)),
        before=before,
        after=after,
        left_out=len(hidden) - before - after,
        whole_key=witness.whole_key,
        stuck=stuck,
        suspects=suspects,
    )
