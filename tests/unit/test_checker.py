"""The linearizability checker on hand-made histories: each one a story a person can follow.

Times are in seconds from the start of the run; `op(...)` builds one operation. Every history
that must fail names the order that would be needed and why no order of the operations gives it.
"""

from __future__ import annotations

import json
from typing import Any

from registry_tui.proof import (
    LINEARIZABLE,
    UNDECIDED,
    VIOLATION,
    Budget,
    CheckReport,
    Excerpt,
    ExcerptOperation,
    HistoryError,
    Operation,
    check_history,
    render_excerpt,
)

ALICE = "3f2a9c1e-0000-4000-8000-00000000a11c"
BOB = "3f2a9c1e-0000-4000-8000-000000000b0b"
CAROL = "3f2a9c1e-0000-4000-8000-00000000ca01"

_indexes = iter(range(10**9))


def op(
    process: int,
    f: str,
    key: str,
    invoke: float,
    complete: float | None,
    result: str = "ok",
    value: Any = None,
    **args: Any,
) -> Operation:
    return Operation(next(_indexes), process, f, key, args, invoke, complete, result, value)


def holder(user: str | None) -> dict[str, Any]:
    return {"holder": user}


def version(number: int, writer: str) -> dict[str, Any]:
    return {"version": number, "writer": writer}


def verdict(report: CheckReport, key: str) -> str:
    return next(k.verdict for k in report.keys if k.key == key)


# ----------------------------------------------------------------------------------------------
# Names


def test_a_sequential_history_is_linearizable() -> None:
    report = check_history(
        [
            op(1, "register", "name:alice", 0.0, 1.0, user_id=ALICE),
            op(2, "read", "name:alice", 2.0, 3.0, value=holder(ALICE)),
            op(2, "register", "name:alice", 4.0, 5.0, "failed", holder(ALICE), user_id=BOB),
            op(1, "delete", "name:alice", 6.0, 7.0, user_id=ALICE),
            op(2, "read", "name:alice", 8.0, 9.0, value=holder(None)),
            op(2, "register", "name:alice", 10.0, 11.0, user_id=BOB),
        ]
    )
    assert report.verdict == LINEARIZABLE
    assert (report.linearizable, report.violations, report.unknown) == (1, 0, 0)
    assert report.operations == 6


def test_two_overlapping_registrations_that_both_succeed_are_a_violation() -> None:
    # Both overlap, so either may go first, but the second finds the name taken either way.
    report = check_history(
        [
            op(1, "register", "name:alice", 0.0, 2.0, user_id=ALICE),
            op(2, "register", "name:alice", 1.0, 3.0, user_id=BOB),
        ]
    )
    assert report.verdict == VIOLATION
    (key,) = report.violating()
    assert key.excerpt is not None
    assert sorted(item.op.process for item in key.excerpt.operations) == [1, 2]


def test_a_serial_read_that_misses_a_finished_registration_is_a_violation() -> None:
    report = check_history(
        [
            op(1, "register", "name:alice", 0.0, 1.0, user_id=ALICE),
            op(2, "read", "name:alice", 2.0, 3.0, value=holder(None)),
        ]
    )
    assert report.verdict == VIOLATION


def test_a_read_overlapping_the_registration_may_see_the_name_free() -> None:
    report = check_history(
        [
            op(1, "register", "name:alice", 0.0, 2.0, user_id=ALICE),
            op(2, "read", "name:alice", 1.0, 3.0, value=holder(None)),
        ]
    )
    assert report.verdict == LINEARIZABLE


def test_an_unknown_registration_that_a_later_read_sees_took_effect() -> None:
    # The answer never came (complete null); the read proves it applied: linearizable.
    report = check_history(
        [
            op(1, "register", "name:alice", 0.0, None, "unknown", user_id=ALICE),
            op(2, "read", "name:alice", 5.0, 6.0, value=holder(ALICE)),
            op(3, "register", "name:alice", 7.0, 8.0, "failed", holder(ALICE), user_id=BOB),
        ]
    )
    assert report.verdict == LINEARIZABLE


def test_an_unknown_registration_that_never_applied_is_linearizable() -> None:
    report = check_history(
        [
            op(1, "register", "name:alice", 0.0, 1.0, "unknown", user_id=ALICE),
            op(2, "read", "name:alice", 2.0, 3.0, value=holder(None)),
            op(3, "register", "name:alice", 4.0, 5.0, user_id=BOB),
            op(2, "read", "name:alice", 6.0, 7.0, value=holder(BOB)),
        ]
    )
    assert report.verdict == LINEARIZABLE


def test_an_answer_that_never_came_is_unknown_whatever_its_result_says() -> None:
    report = check_history(
        [
            op(1, "register", "name:alice", 0.0, None, "ok", user_id=ALICE),
            op(2, "read", "name:alice", 2.0, 3.0, value=holder(None)),
        ]
    )
    assert report.verdict == LINEARIZABLE


def test_a_refusal_naming_a_holder_who_never_held_the_name_is_a_violation() -> None:
    report = check_history(
        [
            op(1, "register", "name:alice", 0.0, 1.0, user_id=ALICE),
            op(2, "register", "name:alice", 2.0, 3.0, "failed", holder(CAROL), user_id=BOB),
        ]
    )
    assert report.verdict == VIOLATION


def test_a_refusal_of_a_free_name_is_a_violation() -> None:
    # Failed with no holder named: the name was taken by someone. It was free all along.
    report = check_history(
        [op(1, "register", "name:alice", 0.0, 1.0, "failed", user_id=ALICE)],
    )
    assert report.verdict == VIOLATION


def test_failed_deletes_say_what_they_saw() -> None:
    found_nothing = op(2, "delete", "name:a", 2.0, 3.0, "failed", holder(None), user_id=ALICE)
    someone_else = op(2, "delete", "name:b", 2.0, 3.0, "failed", holder(BOB), user_id=ALICE)
    not_mine = op(2, "delete", "name:c", 2.0, 3.0, "failed", None, user_id=ALICE)
    report = check_history(
        [
            op(1, "register", "name:a", 0.0, 1.0, user_id=ALICE),
            found_nothing,  # but alice held it: a violation
            op(1, "register", "name:b", 0.0, 1.0, user_id=BOB),
            someone_else,  # bob held it: fine
            op(1, "register", "name:c", 0.0, 1.0, user_id=ALICE),
            not_mine,  # refused with no detail, yet alice held it: a violation
        ]
    )
    assert verdict(report, "name:a") == VIOLATION
    assert verdict(report, "name:b") == LINEARIZABLE
    assert verdict(report, "name:c") == VIOLATION


def test_emails_are_claimed_and_released_like_names() -> None:
    report = check_history(
        [
            op(1, "claim", "email:a@x.test", 0.0, 1.0, user_id=ALICE),
            op(2, "claim", "email:a@x.test", 2.0, 3.0, "failed", holder(ALICE), user_id=BOB),
            op(1, "release", "email:a@x.test", 4.0, 5.0, user_id=ALICE),
            op(2, "claim", "email:a@x.test", 6.0, 7.0, user_id=BOB),
            op(3, "claim", "email:b@x.test", 0.0, 1.0, user_id=ALICE),
            op(4, "claim", "email:b@x.test", 2.0, 3.0, user_id=BOB),
        ]
    )
    assert verdict(report, "email:a@x.test") == LINEARIZABLE
    assert verdict(report, "email:b@x.test") == VIOLATION


def test_ties_count_as_concurrent() -> None:
    # A read called the instant the registration answered may be ordered before it: a clock
    # that reads the same twice tells no order. A microsecond later it may not.
    at_once = [
        op(1, "register", "name:alice", 0.0, 1.0, user_id=ALICE),
        op(2, "read", "name:alice", 1.0, 2.0, value=holder(None)),
    ]
    later = [
        op(1, "register", "name:alice", 0.0, 1.0, user_id=ALICE),
        op(2, "read", "name:alice", 1.000001, 2.0, value=holder(None)),
    ]
    assert check_history(at_once).verdict == LINEARIZABLE
    assert check_history(later).verdict == VIOLATION


def test_a_header_gives_a_key_its_starting_holder() -> None:
    history = [op(1, "register", "name:alice", 0.0, 1.0, user_id=BOB)]
    assert check_history(history).verdict == LINEARIZABLE
    assert check_history(history, initial={"name:alice": ALICE}).verdict == VIOLATION


# ----------------------------------------------------------------------------------------------
# Profiles


def test_a_lost_update_is_a_violation() -> None:
    # Two updates from version 1 both answered ok: one of them overwrote the other unseen.
    report = check_history(
        [
            op(1, "create", "profile:p", 0.0, 1.0, writer="w0"),
            op(2, "update", "profile:p", 2.0, 4.0, expected=1, writer="w1"),
            op(3, "update", "profile:p", 3.0, 5.0, expected=1, writer="w2"),
        ]
    )
    assert report.verdict == VIOLATION


def test_an_update_refused_though_its_own_write_is_the_one_read_back_is_a_violation() -> None:
    # The bug this checker exists for: an edit applied but answered "refused". w1's update was
    # told "version conflict, the profile is at v2", which w2's unknown update could explain,
    # but the profile at v2 is w1's own write.
    refused = op(
        2, "update", "profile:p", 2.0, 4.0, "failed", {"version": 2}, expected=1, writer="w1"
    )
    history = [
        op(1, "create", "profile:p", 0.0, 1.0, writer="w0"),
        refused,
        op(3, "update", "profile:p", 2.5, 3.5, "unknown", expected=1, writer="w2"),
        op(1, "read", "profile:p", 5.0, 6.0, value=version(2, "w1")),
    ]
    report = check_history(history)
    assert report.verdict == VIOLATION
    (key,) = report.violating()
    assert key.excerpt is not None
    assert refused.index in key.excerpt.indexes
    assert key.excerpt.suspects == (refused.index,)
    assert any(
        "was refused, yet had it taken effect" in line for line in render_excerpt(key.excerpt)
    )

    # The same refusal, and the read sees w2's write: the story holds.
    history[-1] = op(1, "read", "profile:p", 5.0, 6.0, value=version(2, "w2"))
    assert check_history(history).verdict == LINEARIZABLE


def test_a_later_create_is_shadowed_by_the_first_version() -> None:
    history = [
        op(1, "create", "profile:p", 0.0, 1.0, writer="w1"),
        op(2, "create", "profile:p", 2.0, 3.0, writer="w2"),
        op(3, "read", "profile:p", 4.0, 5.0, value=version(1, "w1")),
    ]
    assert check_history(history).verdict == LINEARIZABLE
    history[-1] = op(3, "read", "profile:p", 4.0, 5.0, value=version(1, "w2"))
    assert check_history(history).verdict == VIOLATION


def test_a_deleted_profile_stays_deleted() -> None:
    base = [
        op(1, "create", "profile:p", 0.0, 1.0, writer="w1"),
        op(1, "delete", "profile:p", 2.0, 3.0),
        op(2, "create", "profile:p", 4.0, 5.0, writer="w2"),
    ]
    gone = op(3, "read", "profile:p", 6.0, 7.0, value=None)
    back = op(3, "read", "profile:p", 6.0, 7.0, value=version(1, "w2"))
    refused = op(
        3, "update", "profile:p", 6.0, 7.0, "failed", {"version": None}, expected=1, writer="w3"
    )
    assert check_history([*base, gone]).verdict == LINEARIZABLE
    assert check_history([*base, back]).verdict == VIOLATION
    assert check_history([*base, refused]).verdict == LINEARIZABLE


def test_a_refused_update_must_have_seen_another_version() -> None:
    history = [
        op(1, "create", "profile:p", 0.0, 1.0, writer="w1"),
        op(2, "update", "profile:p", 2.0, 3.0, "failed", None, expected=1, writer="w2"),
    ]
    assert check_history(history).verdict == VIOLATION


# ----------------------------------------------------------------------------------------------
# Plain reads, budgets, reports


def test_a_plain_read_of_an_old_holder_is_a_stale_read_not_a_violation() -> None:
    stale = op(3, "read_plain", "name:alice", 4.0, 5.0, value=holder(ALICE))
    fresh = op(4, "read_plain", "name:alice", 2.5, 3.5, value=holder(ALICE))  # overlaps the delete
    report = check_history(
        [
            op(1, "register", "name:alice", 0.0, 1.0, user_id=ALICE),
            op(1, "delete", "name:alice", 2.0, 3.0, user_id=ALICE),
            stale,
            fresh,
        ]
    )
    assert report.verdict == LINEARIZABLE
    (key,) = report.keys
    assert key.stale.stale == (stale.index,)
    assert key.stale.reads == 2
    assert report.stale_reads == 1
    assert report.to_json()["totals"]["stale_reads"] == 1


def test_reads_without_an_answer_change_nothing() -> None:
    report = check_history(
        [
            op(1, "register", "name:alice", 0.0, 1.0, user_id=ALICE),
            op(2, "read", "name:alice", 2.0, 3.0, "failed", value=holder(None)),
            op(2, "read", "name:alice", 4.0, None, "unknown"),
        ]
    )
    assert report.verdict == LINEARIZABLE
    assert report.keys[0].operations == 3
    assert report.keys[0].checked == 1


def test_a_key_the_budget_cannot_decide_is_unknown_never_linearizable() -> None:
    # Twenty registrations that may each have applied, all at once, then reads that only the
    # last few can explain: more orders than a tiny budget can try.
    users = [f"user-{n}" for n in range(20)]
    history = [
        op(n, "register", "name:hot", 0.0, None, "unknown", user_id=user)
        for n, user in enumerate(users)
    ]
    history += [
        op(30 + n, "delete", "name:hot", 1.0 + n, 1.5 + n, "unknown", user_id=user)
        for n, user in enumerate(users)
    ]
    history.append(op(99, "read", "name:hot", 30.0, 31.0, value=holder(users[-1])))
    report = check_history(history, budget=Budget(steps=50))
    assert report.verdict == UNDECIDED
    assert report.keys[0].verdict == UNDECIDED
    assert "did not finish within" in report.keys[0].reason
    assert check_history(history).verdict == LINEARIZABLE


def test_a_violation_deep_in_a_long_history_gets_a_small_excerpt() -> None:
    history: list[Operation] = []
    t = 0.0
    for n in range(300):
        user = f"user-{n}"
        history.append(op(1, "register", "name:busy", t, t + 0.5, user_id=user))
        history.append(op(2, "read", "name:busy", t + 0.6, t + 0.8, value=holder(user)))
        history.append(op(1, "delete", "name:busy", t + 1.0, t + 1.5, user_id=user))
        t += 2.0
    history.append(op(3, "register", "name:busy", t, t + 1.0, user_id=ALICE))
    history.append(op(4, "register", "name:busy", t + 0.5, t + 1.5, user_id=BOB))
    report = check_history(history)
    (key,) = report.violating()
    excerpt = key.excerpt
    assert excerpt is not None
    assert not excerpt.whole_key
    assert len(excerpt.operations) <= 4
    assert excerpt.before >= 890
    assert {history[-1].index, history[-2].index} <= set(excerpt.indexes)

    lines = render_excerpt(excerpt, width=80)
    assert lines[0].startswith("name:busy: no order of these")
    assert any(line.startswith("p3 |") for line in lines)
    assert any(line.startswith("p4 |") for line in lines)
    assert all(len(line) <= 80 for line in lines if line.startswith("p"))
    assert (
        f"  #{history[-1].index} p4 {t * 1000 + 500:.3f} → {t * 1000 + 1500:.3f} ms"
        in "\n".join(lines)
    )


def test_the_report_is_a_json_document() -> None:
    report = check_history(
        [
            op(1, "register", "name:alice", 0.0, 2.0, user_id=ALICE),
            op(2, "register", "name:alice", 1.0, 3.0, user_id=BOB),
            op(3, "register", "name:bob", 0.0, 1.0, user_id=BOB),
        ]
    )
    document = json.loads(json.dumps(report.to_json()))
    assert document["verdict"] == "violation"
    assert document["totals"]["keys"] == 2
    assert document["totals"]["violation"] == 1
    assert [k["key"] for k in document["keys"]] == ["name:alice"]
    excerpt = document["keys"][0]["excerpt"]
    assert excerpt["start_states"] == ["free"]
    assert {o["process"] for o in excerpt["operations"]} == {1, 2}
    assert len(report.to_json(all_keys=True)["keys"]) == 2


def test_operations_that_cannot_be_checked_are_refused_by_index() -> None:
    bad = Operation(7, 1, "bite", "name:alice", {}, 0.0, 1.0, "ok")
    try:
        check_history([bad])
    except HistoryError as exc:
        assert "operation 7" in str(exc)
        assert "bite" in str(exc)
    else:
        raise AssertionError("an unknown operation was checked")


def test_a_long_excerpt_is_drawn_around_the_point_where_the_search_got_stuck() -> None:
    operations = [
        op(n % 7, "read", "name:long", float(n), n + 0.5, value=holder(None)) for n in range(100)
    ]
    stuck = operations[70]
    excerpt = Excerpt(
        key="name:long",
        operations=tuple(ExcerptOperation(o, crosses_edge=False) for o in operations),
        start_states=(None,),
        before=0,
        after=0,
        left_out=0,
        whole_key=True,
        stuck=stuck.index,
    )
    lines = render_excerpt(excerpt, width=100)
    assert lines[0] == "name:long: no order of its 100 operations explains them"
    assert "  … 60 more operation(s) of the excerpt not drawn" in lines
    details = [line for line in lines if line.startswith("  #")]
    assert len(details) == 40
    assert any(line.startswith(f"  #{stuck.index} ") for line in details)
    assert all(len(line) <= 100 for line in lines if line[:1] == "p")
