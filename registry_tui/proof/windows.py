"""A key's time line cut into windows, and the states each cut may hold: a sound shortcut.

The exact search answers one question for a whole key. To show a person a small piece of a
violation, or to judge one plain read, we need the state at a time T without searching
everything before it. This module over-approximates it: `forward` walks the windows in order
and keeps, at each cut, a set of states that contains the state every valid order has there.

Why that holds. Give each operation of a valid order its point in time within its interval; the
state at T is the state after the points before T. The operations whose point can fall in a
window [lo, hi) are the ones there entirely (kept as they are) and the ones crossing lo or hi,
or with an unknown result: those become optional (they may take effect in this window or not;
the ones called before lo become free moves, allowed at any moment and more than once), and a
crossing read or refused write is dropped, since it changes nothing. Every valid order
therefore runs through the window from some state of the set at lo to a state the window can
end in: the window's end states contain the state at hi. Letting a step apply twice (over two
windows, or as a free move) and dropping constraints only adds states, never misses one.

So when no state survives a window, no valid order exists for the whole key: the window is a
witness of a violation that a person can read. When a read cannot be placed in its window from
any state of the set, it cannot be placed in the whole key. The converse does not hold: the sets
are supersets, so this shortcut can miss a violation or a stale read, never invent one.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from registry_tui.proof.models import State
from registry_tui.proof.search import INFINITY, UNDECIDED, Limits, Step, search

WINDOW_OPERATIONS = 32  # operations a window holds, about
STATES_MAX = 64  # a cut that may hold more states than this ends the walk (it tells little)


def crosses(step: Step, at: float) -> bool:
    """Called before `at` and may take effect at or after it (ties count as concurrent)."""
    return step.invoke < at and (not step.required or step.complete >= at)


def choose_cuts(steps: Sequence[Step], width: int = WINDOW_OPERATIONS) -> list[float]:
    """Times that split `steps` (sorted by invoke) into windows of about `width` operations,
    each at the call, near its target, that the fewest operations cross: every crossing
    operation is information the windows give up."""
    invokes = [s.invoke for s in steps]
    required = [s for s in steps if s.required]
    required_invokes = sorted(s.invoke for s in required)
    required_completes = sorted(s.complete for s in required)

    def open_at(at: float) -> int:
        return bisect_left(required_invokes, at) - bisect_left(required_completes, at)

    cuts: list[float] = []
    reach = max(1, width // 4)
    for target in range(width, len(steps), width):
        lo, hi = max(1, target - reach), min(len(steps) - 1, target + reach)
        best = min(range(lo, hi + 1), key=lambda i: (open_at(invokes[i]), abs(i - target)))
        at = invokes[best]
        if not cuts or at > cuts[-1]:
            cuts.append(at)
    return cuts


def optional(step: Step, lo: float) -> Step:
    return dataclasses.replace(step, required=False, invoke=max(step.invoke, lo))


def _by_effect(steps: Iterable[Step]) -> list[Step]:
    """One step per effect, the one that may take effect the latest (several unknown writes
    asking the same thing are one free move)."""
    kept: dict[Hashable, Step] = {}
    for step in steps:
        effect = step.effect if step.effect is not None else ("step", step.ident)
        other = kept.get(effect)
        if other is None or _last_effect(step) > _last_effect(other):
            kept[effect] = step
    return list(kept.values())


def _last_effect(step: Step) -> float:
    return step.complete if step.required else INFINITY


def window(
    steps: Sequence[Step], invokes: Sequence[float], lo: float, hi: float, carried: Iterable[Step]
) -> tuple[list[Step], list[Step], list[Step]]:
    """The window [lo, hi) (see the module's comment): its steps, its free moves (the steps
    `carried` across lo: they may take effect at any moment of it, and are allowed to more than
    once, which only adds states), and the steps crossing hi, to carry on. `steps` are sorted by
    invoke (`invokes` their times)."""
    inside: list[Step] = []
    free = _by_effect(carried)
    onward = [step for step in free if crosses(step, hi)]
    for i in range(bisect_left(invokes, lo), bisect_left(invokes, hi)):
        step = steps[i]
        if step.required and step.complete < hi:
            inside.append(step)
        elif not step.pure:
            inside.append(optional(step, lo))
            onward.append(step)
    return inside, free, onward


@dataclass
class Frontier:
    """The states each cut may hold. cuts[0] is the start (-inf); states[i] is None from the cut
    where the walk stopped (budget, too many states, or no state left)."""

    steps: list[Step]
    cuts: list[float]
    states: list[frozenset[State] | None]
    carried: list[list[Step]]
    empty_window: int | None = None  # the window [cuts[i], cuts[i+1]) no state survives
    used: int = 0
    invokes: list[float] = field(default_factory=list)

    def end(self, i: int) -> float:
        return self.cuts[i + 1] if i + 1 < len(self.cuts) else INFINITY

    def window(self, first: int, last: int) -> tuple[list[Step], list[Step]]:
        """The windows first..last taken as one, [cuts[first], end(last)): steps, free moves."""
        inside, free, _ = window(
            self.steps, self.invokes, self.cuts[first], self.end(last), self.carried[first]
        )
        return inside, free


def forward(
    steps: Sequence[Step],
    initial: Iterable[State],
    max_steps: int,
    *,
    width: int = WINDOW_OPERATIONS,
    deadline: float | None = None,
    carried: Sequence[Step] = (),
) -> Frontier:
    """Walk the windows from the start, from any of the `initial` states (with the `carried`
    steps free to take effect from the start); stop at the first window no state survives.
    The same argument holds for a window walked again in smaller windows."""
    ordered = sorted(steps, key=lambda s: (s.invoke, s.ident))
    cuts = [-INFINITY, *choose_cuts(ordered, width)]
    frontier = Frontier(
        steps=ordered,
        cuts=cuts,
        states=[frozenset(initial)] + [None] * (len(cuts) - 1),
        carried=[list(carried)] + [[] for _ in cuts[1:]],
        invokes=[s.invoke for s in ordered],
    )
    for i in range(len(cuts)):
        states = frontier.states[i]
        assert states is not None
        inside, free, onward = window(
            ordered, frontier.invokes, cuts[i], frontier.end(i), frontier.carried[i]
        )
        limits = Limits(max_steps - frontier.used, deadline)
        found = search(inside, states, limits, collect=True, free=[s.apply for s in free])
        frontier.used += found.steps
        if found.outcome == UNDECIDED:
            break
        if not found.end_states:
            frontier.empty_window = i
            break
        if i + 1 == len(cuts) or len(found.end_states) > STATES_MAX:
            break
        frontier.states[i + 1] = frozenset(found.end_states)
        frontier.carried[i + 1] = onward
    return frontier
