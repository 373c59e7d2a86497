"""Trace events read as Paxos rounds: real traces of Cassandra 5.0.8 (tests/unit/data/paxos,
recorded from the 3-node cluster layout) and the single node's and Paxos v1's texts."""

from __future__ import annotations

import json
from pathlib import Path

from registry_tui.proof.paxos import (
    APPLIED,
    COMMIT,
    NO_RESULT,
    PREPARE,
    PREPARE_READ,
    PROPOSE,
    READ,
    REJECTED,
    REPAIR,
    TraceEvent,
    percentile,
    read_trace,
    render_timeline,
)
from registry_tui.race.paxos import Sampler, statement_label

DATA = Path(__file__).parent / "data" / "paxos"


def recorded(name: str):  # type: ignore[no-untyped-def]
    raw = json.loads((DATA / f"{name}.json").read_text())
    events = [TraceEvent(**e) for e in raw["events"]]
    return read_trace(events, raw["coordinator"], raw["duration_us"])


def names(trace) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.name for r in trace.rounds]


def test_a_v2_winner_on_three_nodes_is_prepare_read_propose_commit() -> None:
    trace = recorded("v2_cluster_winner")
    assert trace.variant == "v2"
    assert trace.result == APPLIED
    assert names(trace) == [PREPARE_READ, PROPOSE, COMMIT]
    assert trace.round_trips == 3
    assert all(r.awaited for r in trace.rounds)
    assert sorted(trace.rounds[0].answered_by) == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    # Rounds follow each other on one clock: each begins where the previous ended.
    for earlier, later in zip(trace.rounds, trace.rounds[1:], strict=False):
        assert earlier.end_us == later.start_us
    raw = json.loads((DATA / "v2_cluster_winner.json").read_text())
    assert trace.duration_us == raw["duration_us"]  # the session's own duration


def test_a_v2_loser_of_if_not_exists_returns_after_one_round() -> None:
    trace = recorded("v2_cluster_loser")
    assert (trace.result, names(trace), trace.round_trips) == (REJECTED, [PREPARE_READ], 1)
    assert trace.contended == 0


def test_a_commit_at_any_is_not_awaited_beyond_the_coordinator() -> None:
    trace = recorded("v2_cluster_commit_any_winner")
    assert names(trace) == [PREPARE_READ, PROPOSE, COMMIT]
    commit = trace.rounds[-1]
    assert not commit.awaited and commit.outcome == "not awaited"
    assert trace.round_trips == 2


def test_a_pre_empted_proposal_is_a_contended_round_and_costs_a_new_prepare() -> None:
    trace = recorded("v2_cluster_preempted_loser")
    assert names(trace) == [PREPARE_READ, PROPOSE, PREPARE_READ]
    assert trace.rounds[1].outcome == "pre-empted"
    assert trace.contended == 1
    assert trace.round_trips == 3
    assert trace.result == REJECTED


def single_node(*texts: str) -> list[TraceEvent]:
    return [TraceEvent(t, "127.0.0.1", 100 * (i + 1)) for i, t in enumerate(texts)]


def test_one_node_v2_winner_and_loser_from_their_texts() -> None:
    winner = read_trace(
        single_node(
            "Reading existing values for CAS precondition",
            "Preparing 1d2c-ballot with read",
            "Promising read/write ballot 1d2c-ballot",
            "CAS precondition is met; proposing client-requested updates for 1d2c-ballot",
            "Accepting proposal Accepted(...)",
            "Committing proposal Committed(...)",
            "CAS successful",
        )
    )
    assert (names(winner), winner.round_trips, winner.result) == (
        [PREPARE_READ, PROPOSE, COMMIT],
        3,
        APPLIED,
    )
    loser = read_trace(
        single_node(
            "Preparing 1d2c-ballot with read",
            "Promising read/write ballot 1d2c-ballot",
            "Read 1 live rows and 0 tombstone cells",
            "CAS precondition does not match current values [registry.t] key=x",
            "CAS precondition rejected",
        )
    )
    assert (names(loser), loser.round_trips, loser.result) == ([PREPARE_READ], 1, REJECTED)


def v1(*rows: tuple[str, str]) -> list[TraceEvent]:
    return [TraceEvent(text, source, 10 * i) for i, (source, text) in enumerate(rows)]


C, R2, R3 = "127.0.0.3", "127.0.0.2", "127.0.0.1"


def test_a_v1_winner_takes_four_rounds_its_read_separate() -> None:
    # The coordinator's and replicas' lines as a v1 cluster traced them (messages trimmed).
    trace = read_trace(
        v1(
            (C, "Preparing 2b7d66e2-eea1-11f1-1366-01a085b7a4f8"),
            (C, "Promising ballot 2b7d66e2-eea1-11f1-1366-01a085b7a4f8"),
            (C, "Sending PAXOS_PREPARE_REQ message to /127.0.0.2:7100 message size 75 bytes"),
            (R2, "Promising ballot 2b7d66e2-eea1-11f1-1366-01a085b7a4f8"),
            (C, "PAXOS_PREPARE_RSP message received from /127.0.0.2:7100"),
            (C, "Reading existing values for CAS precondition"),
            (C, "reading data from /127.0.0.2:7100"),
            (C, "Sending READ_REQ message to /127.0.0.2:7100 message size 86 bytes"),
            (C, "READ_RSP message received from /127.0.0.2:7100"),
            (C, "CAS precondition is met; proposing client-requested updates for 2b7d66e2"),
            (C, "Sending PAXOS_PROPOSE_REQ message to /127.0.0.2:7100 message size 96 bytes"),
            (R2, "Accepting proposal Accepted(140155439411980002:2b7d66e2, key=k)"),
            (C, "Accepting proposal Accepted(140155439411980002:2b7d66e2, key=k)"),
            (C, "PAXOS_PROPOSE_RSP message received from /127.0.0.2:7100"),
            (C, "Sending PAXOS_COMMIT_REQ message to /127.0.0.1:7100 message size 96 bytes"),
            (C, "Committing proposal Committed(140155439411980002:2b7d66e2, key=k)"),
            (R3, "Committing proposal Committed(140155439411980002:2b7d66e2, key=k)"),
            (C, "PAXOS_COMMIT_RSP message received from /127.0.0.1:7100"),
            (C, "CAS applied successfully"),
        ),
        C,
    )
    assert trace.variant == "v1"
    assert names(trace) == [PREPARE, READ, PROPOSE, COMMIT]
    assert trace.round_trips == 4
    assert trace.result == APPLIED


def test_a_v1_loser_proposes_an_empty_update_three_rounds() -> None:
    trace = read_trace(
        v1(
            (C, "Preparing 2c25b4d2-eea1-11f1-c9dd-f2ef072fd4bb"),
            (R2, "Promising ballot 2c25b4d2-eea1-11f1-c9dd-f2ef072fd4bb"),
            (C, "Reading existing values for CAS precondition"),
            (C, "CAS precondition does not match current values [t] key=k"),
            (C, "CAS precondition is met; proposing client-requested updates for 2c25b4d2"),
            (R2, "Accepting proposal Accepted(140155439423010002:2c25b4d2, key=k)"),
            (C, "CAS did not apply"),
        ),
        C,
    )
    assert (names(trace), trace.round_trips, trace.result) == (
        [PREPARE, READ, PROPOSE],
        3,
        REJECTED,
    )


def test_v1_contention_refused_prepare_and_a_finished_earlier_round() -> None:
    trace = read_trace(
        v1(
            (C, "Preparing b1"),
            (C, "Some replicas have already promised a higher ballot than ours; aborting"),
            (C, "Preparing b2"),
            (C, "Finishing incomplete paxos round Commit(1400:b0, key=k)"),
            (R2, "Accepting proposal Accepted(1400:b0, key=k)"),
            (R2, "Committing proposal Committed(1400:b0, key=k)"),
            (C, "Preparing b3"),
            (C, "Reading existing values for CAS precondition"),
            (C, "CAS precondition is met; proposing client-requested updates for b3"),
            (R2, "Rejecting proposal for Accepted(1401:b9, key=k)"),
            (C, "Paxos proposal not accepted (pre-empted by a higher ballot)"),
        ),
        C,
    )
    assert names(trace) == [PREPARE, PREPARE, REPAIR, COMMIT, PREPARE, READ, PROPOSE]
    assert trace.rounds[0].outcome == "refused"
    assert trace.rounds[-1].outcome == "pre-empted"
    assert trace.rounds[-1].refused_by == [R2]
    assert trace.contended == 2
    assert trace.result == NO_RESULT  # a timeout: the coordinator never answered


def test_a_plain_write_has_no_paxos_round() -> None:
    trace = read_trace(
        single_node(
            "Parsing INSERT INTO p (a) VALUES (?)",
            "Determining replicas for mutation",
            "Appending to commitlog",
            "Adding to user_profiles memtable",
        )
    )
    assert not trace.paxos and trace.round_trips == 0 and trace.result == ""
    assert render_timeline(trace, "INSERT p")[0].startswith("INSERT p: no Paxos round")


def test_times_are_refined_below_the_millisecond_of_the_time_uuid() -> None:
    # Two replicas; the time UUIDs carry whole milliseconds, source_elapsed microseconds.
    events = [
        TraceEvent("Preparing b with read", "a", 100, at_us=1_000_000),
        TraceEvent("Promising read/write ballot b", "b", 50, at_us=1_000_000),
        TraceEvent("CAS precondition is met; proposing", "a", 1_700, at_us=1_001_000),
        TraceEvent("Accepting proposal", "b", 1_900, at_us=1_001_000),
        TraceEvent("CAS precondition rejected", "a", 2_300, at_us=1_002_000),
    ]
    trace = read_trace(events, "a")
    # a began no earlier than 999_900 (the latest of 1_000_000-100, 1_001_000-1_700 and
    # 1_002_000-2_300); b no earlier than 999_950 (1_000_000-50 > 1_001_000-1_900).
    assert [s.at_us for s in trace.steps] == [0, 0, 1_600, 1_850, 2_200]
    assert trace.rounds[0].elapsed_us == 1_600


def test_statement_labels_name_the_table_and_the_condition() -> None:
    assert (
        statement_label('INSERT INTO registry.user_registrations ("a") VALUES (?) IF NOT EXISTS')
        == "INSERT user_registrations IF NOT EXISTS"
    )
    assert statement_label("DELETE FROM ks.email_claims WHERE e = ? IF user_id = ?") == (
        "DELETE email_claims IF user_id = ?"
    )
    assert statement_label("INSERT INTO ks.user_profiles (a) VALUES (?)") == (
        "INSERT user_profiles"
    )


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([3, 1, 2], 50) == 2
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile([1, 2, 3, 4], 100) == 4


def test_the_sampler_traces_every_attempt_of_one_race_in_n() -> None:
    sampler = Sampler(3)
    assert [sampler.pick(race) for race in range(7)] == [
        True, False, False, True, False, False, True
    ]  # fmt: skip
    assert not any(Sampler(0).pick(race) for race in range(5))
    assert all(Sampler(1).pick(race) for race in range(5))
    limited = Sampler(2, races=2)
    assert [race for race in range(10) if limited.pick(race)] == [0, 2]


def test_an_attempt_whose_trace_lacks_a_verdict_is_left_out_of_the_figures() -> None:
    from registry_tui.race.paxos import PaxosSummary, TracedAttempt

    won, lost = recorded("v2_cluster_winner"), recorded("v2_cluster_loser")
    cut = read_trace(single_node("Preparing b with read", "Promising read/write ballot b"))
    claim, name = "INSERT email_claims IF NOT EXISTS", "INSERT user_registrations IF NOT EXISTS"
    whole_win = TracedAttempt(0, "n", 1, "won", 1.0, ((claim, won), (name, won)))
    whole_loss = TracedAttempt(0, "n", 2, "blocked", 1.0, ((claim, won), (name, lost)))
    cut_loss = TracedAttempt(0, "n", 3, "blocked", 1.0, ((claim, won), (name, cut)))
    nothing = TracedAttempt(0, "n", 4, "blocked", 1.0, ((claim, read_trace([])),))
    assert whole_win.complete and whole_loss.complete
    assert not cut_loss.complete and not nothing.complete
    summary = PaxosSummary.of(1, [whole_win, whole_loss, cut_loss, nothing])
    assert (summary.winners.attempts, summary.winners.p50) == (1, 6)
    assert (summary.losers.attempts, summary.losers.max) == (1, 4)
    assert summary.incomplete == 2


def test_recorded_v1_traces_winner_four_rounds_loser_three_and_a_contended_loser() -> None:
    winner = recorded("v1_cluster_winner")
    assert (winner.variant, winner.result, winner.round_trips) == ("v1", APPLIED, 4)
    assert names(winner) == [PREPARE, READ, PROPOSE, COMMIT]
    loser = recorded("v1_cluster_loser")
    assert (names(loser), loser.result, loser.round_trips) == (
        [PREPARE, READ, PROPOSE],
        REJECTED,
        3,
    )
    contended = recorded("v1_cluster_contended_loser")
    assert names(contended) == [PREPARE, REPAIR, PREPARE, READ, PROPOSE, PREPARE, READ, PROPOSE]
    assert contended.rounds[4].outcome == "pre-empted" and contended.contended == 1
    assert contended.round_trips == 8
