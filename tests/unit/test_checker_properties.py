"""Property-based tests (hypothesis) of the checker, against histories whose truth is known.

A history is generated as a sequential run of the model, one operation at a time: operation k
takes effect at the instant k, against the state the earlier ones left. Each is then given an
interval around its instant (so intervals overlap freely) and some writes lose their answer
(unknown; the run's truth stays what it was). Such a history is linearizable by construction:
the checker must say so. It is then corrupted in ways that leave provably no valid order:
the checker must find the violation, and its excerpt must itself be a proof.

Every take is by an identity of its own and every profile write by a writer of its own, as in
the race, which is what makes the corruptions provable.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from registry_tui.proof import LINEARIZABLE, UNDECIDED, VIOLATION, Budget, Operation, check_history
from registry_tui.proof.keys import split_by_key
from registry_tui.proof.windows import forward

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY = {"name": "name:alice", "profile": "profile:p"}
READS = ("read", "read_plain")


def _name_call(
    k: int, choice: int, holder: str | None
) -> tuple[str, dict[str, Any], str, Any, Any]:
    """(f, args, result, value, state after) for the k-th call on a name."""
    mine = f"user-{k}"
    if choice < 20:
        return "read", {}, "ok", {"holder": holder}, holder
    if choice < 30:
        return "read_plain", {}, "ok", {"holder": holder}, holder
    if holder is None:
        if choice < 75:
            return "register", {"user_id": mine}, "ok", None, mine
        if choice < 85:
            return "register", {"user_id": mine}, "unknown", None, None  # never took effect
        if choice < 93:
            return "delete", {"user_id": mine}, "failed", {"holder": None}, None
        return "delete", {"user_id": mine}, "failed", None, None
    if choice < 60:
        return "register", {"user_id": mine}, "failed", {"holder": holder}, holder
    if choice < 65:
        return "register", {"user_id": mine}, "failed", None, holder
    if choice < 90:
        return "delete", {"user_id": holder}, "ok", None, None
    return "delete", {"user_id": mine}, "failed", {"holder": holder}, holder


def _profile_call(k: int, choice: int, state: Any) -> tuple[str, dict[str, Any], str, Any, Any]:
    writer = f"w{k}"
    if choice < 25:
        value = None if isinstance(state, str) else {"version": state[0], "writer": state[1]}
        return ("read" if choice < 17 else "read_plain"), {}, "ok", value, state
    if state == "absent" and choice < 70:
        return "create", {"writer": writer}, "ok", None, (1, writer)
    if choice < 35:
        after = (1, writer) if state == "absent" else state
        return "create", {"writer": writer}, "ok", None, after
    if choice < 40:
        if isinstance(state, tuple):
            return "delete", {}, "ok", None, "deleted"
        return "delete", {}, "failed", None, state
    if not isinstance(state, tuple):
        return "update", {"expected": 1, "writer": writer}, "failed", {"version": None}, state
    if choice < 80:
        return (
            "update",
            {"expected": state[0], "writer": writer},
            "ok",
            None,
            (state[0] + 1, writer),
        )
    stale_version = {"expected": state[0] + 7, "writer": writer}
    if choice < 90:
        return "update", stale_version, "failed", {"version": state[0]}, state
    return "update", stale_version, "failed", None, state


@st.composite
def linearizable_histories(draw: st.DrawFn, kind: str) -> list[Operation]:
    count = draw(st.integers(1, 24))
    state: Any = None if kind == "name" else "absent"
    operations = []
    for k in range(count):
        call = _name_call if kind == "name" else _profile_call
        f, args, result, value, state = call(k, draw(st.integers(0, 99)), state)
        # The instant k lies within [invoke, complete]: at most 3 s on either side.
        invoke = k - draw(st.floats(0, 3, allow_nan=False))
        complete: float | None = k + draw(st.floats(0, 3, allow_nan=False))
        if f not in READS and draw(st.integers(0, 4)) == 0:
            result, value = "unknown", None  # the answer was lost; what happened stays true
            if draw(st.booleans()):
                complete = None
        process = draw(st.integers(0, 5))
        operations.append(
            Operation(k, process, f, KEY[kind], args, invoke, complete, result, value)
        )
    return operations


@SETTINGS
@given(st.sampled_from(["name", "profile"]).flatmap(linearizable_histories))
def test_a_history_run_against_the_model_is_linearizable(history: list[Operation]) -> None:
    report = check_history(history)
    assert report.verdict == LINEARIZABLE, report.to_json()
    # Every plain read saw the state at its instant: none is stale.
    assert report.stale_reads == 0


@SETTINGS
@given(st.sampled_from(["name", "profile"]).flatmap(linearizable_histories))
def test_the_windows_never_lose_every_state_of_a_linearizable_history(
    history: list[Operation],
) -> None:
    # The shortcut behind excerpts and stale reads: on a history with an order, every window
    # keeps a state, however the history is cut.
    (key,) = split_by_key(history).values()
    for width in (1, 2, 4):
        frontier = forward(key.steps(), [key.initial], 1_000_000, width=width)
        assert frontier.empty_window is None


@SETTINGS
@given(st.sampled_from(["name", "profile"]).flatmap(linearizable_histories))
def test_a_budget_too_small_says_unknown_never_violation(history: list[Operation]) -> None:
    report = check_history(history, budget=Budget(steps=3, analysis_steps=2_000))
    assert report.verdict in (LINEARIZABLE, UNDECIDED)


def _flip(history: list[Operation], target: Operation, **changes: Any) -> list[Operation]:
    return [dataclasses.replace(op, **changes) if op is target else op for op in history]


def _assert_violation_with_a_proof(history: list[Operation]) -> None:
    report = check_history(history)
    assert report.verdict == VIOLATION, report.to_json()
    (key,) = report.violating()
    excerpt = key.excerpt
    assert excerpt is not None
    # The excerpt alone, from each state it may start in, has no order either (its operations
    # crossing an edge taken as unknown: they may have taken effect there or not).
    operations = [
        dataclasses.replace(item.op, result="unknown", value=None) if item.crosses_edge else item.op
        for item in excerpt.operations
    ]
    for state in excerpt.start_states:
        initial = {excerpt.key: _header_state(state)}
        assert check_history(operations, initial=initial).verdict == VIOLATION


def _header_state(state: Any) -> Any:
    if isinstance(state, tuple):
        return {"version": state[0], "writer": state[1]}
    return state


@SETTINGS
@given(linearizable_histories("name"))
def test_a_registration_answered_refused_whose_holder_is_read_back_is_a_violation(
    history: list[Operation],
) -> None:
    seen = {op.value["holder"] for op in history if op.f == "read" and op.result == "ok"}
    targets = [
        op
        for op in history
        if op.f == "register"
        and op.result == "ok"
        and op.complete is not None
        and op.args["user_id"] in seen
    ]
    assume(targets)
    _assert_violation_with_a_proof(
        _flip(history, targets[0], result="failed", value={"holder": None})
    )


@SETTINGS
@given(linearizable_histories("profile"))
def test_an_update_answered_refused_whose_write_is_read_back_is_a_violation(
    history: list[Operation],
) -> None:
    seen = {
        op.value["writer"]
        for op in history
        if op.f == "read" and op.result == "ok" and op.value is not None
    }
    targets = [
        op
        for op in history
        if op.f == "update"
        and op.result == "ok"
        and op.complete is not None
        and op.args["writer"] in seen
    ]
    assume(targets)
    target = targets[0]
    refused = {"version": target.args["expected"] + 1}  # "a conflict: it is at v+1 already"
    _assert_violation_with_a_proof(_flip(history, target, result="failed", value=refused))


@SETTINGS
@given(linearizable_histories("name"), st.integers(0, 23))
def test_a_second_owner_strictly_after_the_first_with_no_delete_between_is_a_violation(
    history: list[Operation], pick: int
) -> None:
    owners = [
        op for op in history if op.f == "register" and op.result == "ok" and op.complete is not None
    ]
    assume(owners)
    first = owners[pick % len(owners)]
    assert first.complete is not None
    user = first.args["user_id"]
    # Anything that may free the name from this owner: a delete of theirs not refused.
    frees = [
        op.invoke
        for op in history
        if op.f == "delete" and op.args["user_id"] == user and op.result != "failed"
    ]
    end = min([first.complete + 1.0, *frees])
    assume(end > first.complete)
    span = end - first.complete
    second = Operation(
        len(history),
        99,
        "register",
        first.key,
        {"user_id": "an-intruder"},
        first.complete + span / 3,
        first.complete + 2 * span / 3,
        "ok",
    )
    assume(first.complete < second.invoke < second.complete < end)
    _assert_violation_with_a_proof([*history, second])
