"""What an attack found: latency statistics, the audit's violations and the report, with the
JSON document the CLI prints and the benchmark records."""

from __future__ import annotations

import math
import uuid
from array import array
from dataclasses import dataclass
from typing import Any

from registry_tui.proof import CheckReport
from registry_tui.race.plan import AttackPlan, Mode

VIOLATION_DETAILS_IN_JSON = 50


@dataclass(frozen=True)
class LatencySummary:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    samples: int

    @classmethod
    def of(cls, samples: array[float] | list[float]) -> LatencySummary:
        ordered = sorted(samples)
        if not ordered:
            return cls(0.0, 0.0, 0.0, 0.0, 0)
        return cls(
            percentile(ordered, 50),
            percentile(ordered, 95),
            percentile(ordered, 99),
            ordered[-1],
            len(ordered),
        )


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list: a value that was actually measured."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Violation:
    """One raced name whose stored owner disagrees with what the contenders were told."""

    username: str
    problems: tuple[str, ...]
    told_won: tuple[str, ...]  # labels ("hero", "clone 3") of the contenders told "won"
    stored_owner: str | None  # label of the holder, "outside the race", or None (no row)
    stored_user_id: uuid.UUID | None

    def describe(self) -> str:
        return f"{self.username}: {'; '.join(self.problems)}"

    def as_document(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "problems": list(self.problems),
            "told_won": list(self.told_won),
            "stored_owner": self.stored_owner,
            "stored_user_id": str(self.stored_user_id) if self.stored_user_id else None,
        }


@dataclass(frozen=True)
class Cleanup:
    """What the race removed after its audit: the registrations it made, by identity."""

    kept: bool = False  # the winners were kept on purpose (--keep), or nothing was registered
    removed: int = 0
    already_gone: int = 0  # deleted by someone else between the audit and the clean-up
    failed: tuple[str, ...] = ()  # "name: why", for each one that could not be removed
    claims_released: int = 0  # a churn's clean-up: orphan e-mail claims given back

    def as_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "kept": self.kept,
            "removed": self.removed,
            "already_gone": self.already_gone,
            "failed": list(self.failed),
        }
        if self.claims_released:
            document["claims_released"] = self.claims_released
        return document


@dataclass(frozen=True)
class AttackReport:
    run_id: str
    plan: AttackPlan
    username_prefix: str
    table: str
    contenders: int  # registration attempts raced (siege: clones only)
    winners: int  # contenders told "won" (siege: the heroes, told at setup, count here)
    hero_wins: int
    clone_wins: int
    heroes_blocked: int  # land-grab heroes that lost to a clone
    clones_blocked: int
    clones_slipped: int  # siege: clones told "won" on a name a hero held
    unknown_resolved: int  # ambiguous attempts whose outcome a SERIAL read decided
    unresolved: int  # attempts whose outcome stayed unknown
    timeouts: int  # attempts that met a timeout or another ambiguous failure
    overwritten: int  # identities told "won" that did not survive intact
    heroes_changed: int  # siege: hero rows not byte-for-byte what setup stored
    violations: tuple[Violation, ...]
    race_s: float  # the timed racing phase
    audit_s: float
    latency: LatencySummary
    serial: str = "global"  # the guarantee the race ran under (Settings.serial)
    dcs: tuple[str, ...] = ()  # across DCs: the data centres the contenders were split over
    cleanup: Cleanup = Cleanup(kept=True)
    # The linearizability check of the race's whole history (None: not checked).
    history: CheckReport | None = None
    stopped_after: int | None = None  # stopped early: the races that ran (None: all of them)
    audited: bool = True  # False: a second stop skipped the audit (the clean-up still ran)
    # Winners whose profile's first version the database did not take before the race ended
    # (told "won", the registration incomplete as `register` says): written by the next
    # registration that meets the name (Registrar.repair_holder).
    profiles_unwritten: int = 0
    # Names the audit found held by an attempt that stayed unknown, with nobody told "won":
    # the unknown took effect after every read that settled the race (no violation).
    unknown_held: int = 0

    @property
    def mode(self) -> Mode:
        return self.plan.mode

    def cleanup_summary(self) -> str:
        """What the clean-up after the audit did, in a few words (the CLI's summary and the
        race panel's audit say the same)."""
        done = self.cleanup
        if done.kept:
            return "none: kept on request" if self.plan.keep else "none: nothing registered"
        gone = f", {done.already_gone:,} already gone" if done.already_gone else ""
        failed = f", {len(done.failed):,} could not be" if done.failed else ""
        claims = (
            f", {done.claims_released:,} e-mail claims released" if done.claims_released else ""
        )
        return f"{done.removed:,} removed{gone}{claims}{failed}"

    @property
    def protected(self) -> bool:
        return self.plan.protected

    @property
    def races(self) -> int:
        """The names raced: the plan's, or fewer when the attack was stopped."""
        return self.plan.races if self.stopped_after is None else self.stopped_after

    @property
    def attempts_per_s(self) -> float:
        return self.contenders / self.race_s if self.race_s > 0 else 0.0

    @property
    def clean(self) -> bool:
        return not self.violations

    def as_document(self, max_details: int = VIOLATION_DETAILS_IN_JSON) -> dict[str, Any]:
        details = [v.as_document() for v in self.violations[:max_details]]
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "protected": self.protected,
            "serial": self.serial,
            "dcs": list(self.dcs),
            "cleanup": self.cleanup.as_document(),
            "table": self.table,
            "username_prefix": self.username_prefix,
            "races": self.races,
            "clones_per_race": self.plan.clones,
            "concurrency": self.plan.concurrency,
            "contenders": self.contenders,
            "winners": self.winners,
            "hero_wins": self.hero_wins,
            "clone_wins": self.clone_wins,
            "heroes_blocked": self.heroes_blocked,
            "clones_blocked": self.clones_blocked,
            "clones_slipped": self.clones_slipped,
            "unknown_resolved": self.unknown_resolved,
            "unresolved": self.unresolved,
            "timeouts": self.timeouts,
            "overwritten": self.overwritten,
            "heroes_changed": self.heroes_changed,
            "profiles_unwritten": self.profiles_unwritten,
            "unknown_held": self.unknown_held,
            "violations": len(self.violations),
            "violation_details": details,
            "violation_details_omitted": len(self.violations) - len(details),
            "attempts_per_s": round(self.attempts_per_s, 1),
            "latency_ms": {
                "p50": round(self.latency.p50_ms, 2),
                "p95": round(self.latency.p95_ms, 2),
                "p99": round(self.latency.p99_ms, 2),
                "max": round(self.latency.max_ms, 2),
            },
            "race_s": round(self.race_s, 3),
            "audit_s": round(self.audit_s, 3),
            "history": self.history.to_json() if self.history is not None else None,
            "stopped_after": self.stopped_after,
            "audited": self.audited,
        }

    def history_summary(self) -> str:
        """The history check in one line, as the CLI's summary and the race panel's audit say
        it: "12,340 operations on 412 names, linearizable" or the violating names."""
        check = self.history
        if check is None:
            return "not checked"
        where = f"{check.operations:,} operations on {len(check.keys):,} names"
        if check.violations:
            names = ", ".join(k.key.split(":", 1)[-1] for k in check.violating()[:3])
            more = f" and {check.violations - 3:,} more" if check.violations > 3 else ""
            return f"{where}: {check.violations:,} not linearizable ({names}{more})"
        if check.unknown:
            return f"{where}: {check.unknown:,} undecided within the budget, none violating"
        return f"{where}, linearizable"
