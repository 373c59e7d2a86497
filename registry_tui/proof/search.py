"""The linearizability search on one key: Wing & Gong's, with Lowe's memo, as Porcupine runs it.

Calls and answers are events on a time line, kept in a doubly linked list. Walking it from the
start, the search places ("lifts") a call whose operation can take effect in the current state,
and restarts from the start; reaching an answer whose call is not placed yet means this order
is a dead end, so it takes back the last placement and tries the next call. A configuration
(operations placed, state) that was explored once is never explored again: the future depends
on nothing else.

Four refinements, each keeping the search exact:

* Ties. At equal times a call comes before an answer, so two operations whose times touch are
  taken as concurrent: more orders are allowed, never fewer. A monotonic clock that reads the
  same twice says nothing about the order, and a violation must not rest on that.
* Optional operations (unknown results) have no answer event: they may take effect at any
  point after their call, or never. The search tries to place one where it can take effect,
  and otherwise leaves it: one left unplaced at the end is one that never took effect. (Placing
  it as a no-op instead would split every configuration in two, "no-op" and "still pending",
  where the second already covers the first: with many unknowns that doubles the work per
  unknown.)
* Pure operations (reads, refused writes) change no state. Placing one as soon as it fits loses
  no order (any order placing it later can place it now, the states are the same), so at each
  configuration the pure steps that fit are placed first, at once, and never tried the other
  way: concurrent reads do not multiply the orders, and a write is not tried before a read
  that the state it would leave could no longer explain. Then come the required writes, then
  the optional ones (and free moves), each in time order.
* The memo's placed set. Required operations are stored as (base, window): every one below
  position `base` is placed, `window` is the bitset of the placed ones above it. They are
  placed roughly in time order, so the window stays a few machine words on histories of any
  length. The optional ones that took effect are a bitset of their own, so an unknown that
  never applies does not hold the base back.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from registry_tui.proof.models import IMPOSSIBLE, State, Transition

INFINITY = float("inf")

LINEARIZABLE, VIOLATION, UNDECIDED = "linearizable", "violation", "unknown"

_TAKEN_EFFECT, _TAKEN_PURE, _TAKEN_FREE = 0, 2, 3
_PURE_PASS, _EFFECT_PASS = -3, -2


@dataclass(frozen=True, slots=True)
class Step:
    """One operation as the search sees it."""

    invoke: float
    complete: float  # ignored for an optional operation
    apply: Transition
    required: bool  # it took effect within [invoke, complete]; else once after invoke, or never
    pure: bool  # never changes the state
    ident: int  # the operation's index, to report it
    effect: Hashable = None  # equal for steps with the same transition (when taken effect)


@dataclass
class SearchResult:
    outcome: str  # LINEARIZABLE, VIOLATION or UNDECIDED (the budget ran out)
    steps: int
    end_states: set[State] = field(default_factory=set)  # with collect=True
    # The deepest dead end: how many required operations were placed, the operation whose
    # answer could not be passed, and the state there.
    deepest: int = -1
    stuck: int | None = None
    stuck_state: State = None


@dataclass(frozen=True)
class Limits:
    steps: int
    deadline: float | None = None  # time.monotonic() value


def _trailing_ones(bits: int) -> int:
    return (~bits & (bits + 1)).bit_length() - 1


def search(
    steps: Sequence[Step],
    initial_states: Iterable[State],
    limits: Limits,
    *,
    collect: bool = False,
    free: Sequence[Transition] = (),
) -> SearchResult:
    """Is there an order of `steps` that explains them, from some initial state?

    collect=False stops at the first order found. collect=True explores every configuration
    and returns, in `end_states`, every state an order can leave when all required steps are
    placed (the optional ones placed or not). A search that runs out of `limits` is UNDECIDED,
    never LINEARIZABLE.

    `free` transitions may apply at any moment, any number of times: the windows (windows.py)
    give them the operations that may have taken effect before or during the window. They are
    never placed, so they do not enter the memo's placed set, only its states.
    """
    order = sorted(range(len(steps)), key=lambda i: (steps[i].invoke, i))
    ops = [steps[i] for i in order]
    n = len(ops)
    events = [(op.invoke, 0, p) for p, op in enumerate(ops)]
    events += [(op.complete, 1, p) for p, op in enumerate(ops) if op.required]
    events.sort()  # at equal times calls (0) before answers (1): the conservative order
    # Free moves first, as calls that are never lifted, at positions after every step's.
    events[:0] = [(-INFINITY, 0, n + k) for k in range(len(free))]
    apply = [op.apply for op in ops] + list(free)
    pure = [op.pure for op in ops] + [False] * len(free)
    required = [op.required for op in ops] + [False] * len(free)
    # Two lists over the same entries (numbered in time order, so comparing two entries
    # compares their times): the required steps' calls and answers, and the optional steps'
    # calls with the free moves. Walking the first does not step over unknowns left pending.
    size = len(events)
    head_required, head_optional = size, size + 1
    nxt = [-1] * (size + 2)
    prv = [-1] * (size + 2)
    tails = {True: head_required, False: head_optional}
    answer = [-1] * len(apply)
    for entry, (_, kind, p) in enumerate(events):
        if kind:
            answer[p] = entry
        tail = tails[required[p]]
        nxt[tail], prv[entry] = entry, tail
        tails[required[p]] = entry
    is_call = [kind == 0 for _, kind, _ in events]
    position = [p for _, _, p in events]
    # Each step's place in its own set: required steps in (base, window), optional in a bitset.
    slot: list[int] = []
    counts = [0, 0]
    for op in ops:
        slot.append(counts[op.required])
        counts[op.required] += 1
    total_required = counts[True]

    result = SearchResult(UNDECIDED, 0)
    seen: set[tuple[int, int, int, State]] = set()
    budget = limits.steps
    deadline = limits.deadline
    count = 0

    for initial in initial_states:
        if (0, 0, 0, initial) in seen:
            continue
        seen.add((0, 0, 0, initial))
        state: State = initial
        base = window = applied = 0
        left = total_required
        stack: list[tuple[int, State, int, int, int, int, int]] = []
        entry = nxt[head_required]
        alt = 0
        # The pass over the choices: _PURE_PASS, then _EFFECT_PASS over the required steps,
        # then the optional ones called before this answer (-1: before the end).
        bound = _PURE_PASS
        while True:
            count += 1
            if count > budget or (
                deadline is not None and not count & 4095 and time.monotonic() > deadline
            ):
                result.outcome, result.steps = UNDECIDED, count
                return result
            if left == 0:
                if not collect:
                    result.outcome, result.steps = LINEARIZABLE, count
                    return result
                result.end_states.add(state)
            if bound < -1:
                if entry < 0 or not is_call[entry]:
                    # A pass over the required steps ends at the first answer: then the next
                    # pass, and after the required ones the optional ones called before it.
                    if bound == _PURE_PASS:
                        bound, entry = _EFFECT_PASS, nxt[head_required]
                    else:
                        bound, entry = entry, nxt[head_optional]
                    continue
            elif entry < 0 or entry > bound >= 0:
                # A dead end: an answer whose call is not placed (or, collecting, the end).
                if bound >= 0 and total_required - left > result.deepest:
                    result.deepest = total_required - left
                    result.stuck, result.stuck_state = ops[position[bound]].ident, state
                taken = _TAKEN_PURE
                while stack:
                    entry, state, base, window, applied, taken, bound = stack.pop()
                    if taken == _TAKEN_FREE:
                        break  # a free move is never lifted: nothing to put back
                    # Put the call (and its answer) back, in the reverse order of removal.
                    r = answer[position[entry]]
                    if r >= 0:
                        nxt[prv[r]] = r
                        if nxt[r] >= 0:
                            prv[nxt[r]] = r
                        left += 1
                    nxt[prv[entry]] = entry
                    if nxt[entry] >= 0:
                        prv[nxt[entry]] = entry
                    if taken != _TAKEN_PURE:
                        break
                    # A pure step placed at once failed: so does not placing it (see above).
                if taken == _TAKEN_PURE:
                    break  # every order from this initial state is a dead end
                alt = 1  # go on after the step just taken back
                continue

            if alt:
                alt = 0
                entry = nxt[entry]
                continue
            p = position[entry]
            if bound < -1 and pure[p] != (bound == _PURE_PASS):
                entry = nxt[entry]  # not for this pass
                continue
            new_state = apply[p](state)
            if new_state is IMPOSSIBLE:
                entry = nxt[entry]
                continue
            if p >= n:  # a free move: change the state, place nothing
                if new_state != state and (base, window, applied, new_state) not in seen:
                    seen.add((base, window, applied, new_state))
                    stack.append((entry, state, base, window, applied, _TAKEN_FREE, bound))
                    state, bound = new_state, _PURE_PASS
                    entry = nxt[head_required]
                else:
                    entry = nxt[entry]
                continue
            if required[p]:
                new_base, new_window = _place(base, window, slot[p])
                new_applied = applied
            else:
                new_base, new_window = base, window
                new_applied = applied | (1 << slot[p])
            memo = (new_base, new_window, new_applied, new_state)
            if memo in seen:
                if pure[p]:
                    # Explored already from here, where it would have been placed at once:
                    # this configuration is done.
                    entry, bound = -1, -1
                else:
                    entry = nxt[entry]
                continue
            seen.add(memo)
            taken = _TAKEN_PURE if pure[p] else _TAKEN_EFFECT
            stack.append((entry, state, base, window, applied, taken, bound))
            state, base, window, applied = new_state, new_base, new_window, new_applied
            # Lift the call and its answer out of their list.
            nxt[prv[entry]] = nxt[entry]
            if nxt[entry] >= 0:
                prv[nxt[entry]] = prv[entry]
            r = answer[p]
            if r >= 0:
                nxt[prv[r]] = nxt[r]
                if nxt[r] >= 0:
                    prv[nxt[r]] = prv[r]
                left -= 1
            entry, bound = nxt[head_required], _PURE_PASS

    result.steps = count
    result.outcome = LINEARIZABLE if collect and result.end_states else VIOLATION
    return result


def _place(base: int, window: int, position: int) -> tuple[int, int]:
    """The placed set with `position` added, with every placed operation at the bottom folded
    into `base`."""
    offset = position - base
    window |= 1 << offset
    if offset:
        return base, window
    shift = _trailing_ones(window)
    return base + shift, window >> shift
