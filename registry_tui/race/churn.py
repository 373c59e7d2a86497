"""The churn workload: Jepsen's shape for the registry, every operation recorded for the checker.

A land-grab races each name once. Churn keeps a few names and e-mail addresses (typed in mixed
letter case) under fire from many clients for a bounded time; each client loops over a random
mix of registering, SERIAL reads of a name or an address, deleting whoever holds a name (by
identity), and editing that holder's profile `IF version = n`. Every operation is recorded into
a history (registry_tui.proof) with what the client was told, and the history is then checked
for linearizability per key: a name, an e-mail address, a profile.

How one registry call becomes operations on keys (the models are in registry_tui.proof):
- a registration is `register` on its name and `claim` on its address, plus the profile's
  first version (`create`) when it committed. A registration that lost its name took its claim
  and gave it back inside the call (`UsernameTaken.claim_released`), so its address gets a
  `claim` and a `release`: the claim is not atomic with the name, and other clients may see it
  held meanwhile (and be told email_taken); the history says so rather than hiding it.
  When a try of the claim timed out, the registration also gets a second `claim` with an
  unknown result: that try's request may reach a replica late, even after the claim was given
  back (`claim_may_return`), and bring it back.
- a delete by identity is `delete` on the name, and, when it is done, `release` on the address
  and `delete` on the profile (the clean-up inside the same call).
- a profile edit is `update` on the profile, its bio the writer's token: reads of the profile
  see which edit holds each version.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from registry_tui.core.errors import DatabaseUnavailable, ErrorKind, classify
from registry_tui.core.outcomes import (
    CleanupFinished,
    Deleted,
    EmailTaken,
    Invalid,
    NotFound,
    ProfileRecord,
    Registered,
    Unknown,
    Updated,
    UsernameTaken,
    UserRecord,
    VersionConflict,
)
from registry_tui.core.registry import Registry
from registry_tui.core.validation import ValidationError, normalize_email, normalize_username

CLIENTS_MAX = 256
SECONDS_MAX = 3600.0
KEYS_MAX = 100
CHURN_DIMENSION = "churn"
FIRST_WRITER = ""  # the writer token of a profile's first version (it has no bio)
# After the run, a claim left by a registration whose fate stayed unknown is released once no
# attempt can still be in flight (the servers give up on a request within seconds).
SETTLE_S = 3.0

# The mixes a client draws its next call from, by weight. "edits" is the shape that found
# applied edits answered "refused": a few registrations, and every client editing the profile
# of whoever holds the name while others delete that user.
MIXES: dict[str, tuple[tuple[str, int], ...]] = {
    "balanced": (
        ("register", 30),
        ("read-name", 15),
        ("read-email", 10),
        ("delete", 15),
        ("update", 30),
    ),
    "edits": (
        ("register", 10),
        ("read-name", 5),
        ("delete", 5),
        ("update", 80),
    ),
}


class Recorder(Protocol):
    """Where operations go (registry_tui.proof's recorder)."""

    def invoke(self, process: int, f: str, key: str, args: dict[str, Any]) -> Any: ...

    def complete(
        self,
        handle: Any,
        result: str,
        value: Any = None,
        raw: str | None = None,
        error: str | None = None,
    ) -> None: ...

    def discard(self, handle: Any) -> None:
        """The call recorded at `handle` was never sent after all."""
        ...


@dataclass(frozen=True)
class ChurnPlan:
    clients: int = 16
    seconds: float = 10.0
    names: int = 5
    emails: int = 5
    seed: int | None = None
    keep: bool = False  # leave what the run registered, for inspection
    mix: str = "balanced"  # a key of MIXES

    def __post_init__(self) -> None:
        if self.mix not in MIXES:
            raise ValidationError("mix", f"must be one of {', '.join(MIXES)}")
        for option, value, high in (
            ("clients", self.clients, CLIENTS_MAX),
            ("names", self.names, KEYS_MAX),
            ("emails", self.emails, KEYS_MAX),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise ValidationError(option, f"must be a whole number from 1 to {high}")
        if not 0.1 <= float(self.seconds) <= SECONDS_MAX:
            raise ValidationError("seconds", f"must be from 0.1 to {SECONDS_MAX:g}")


@dataclass
class ChurnReport:
    run_id: str
    plan: ChurnPlan
    elapsed_s: float = 0.0
    # (operation, answer) -> count, e.g. ("register", "Registered").
    answers: Counter[tuple[str, str]] = field(default_factory=Counter)
    removed: int = 0
    claims_released: int = 0
    # Deletes whose own clean-up was cut off (their profile left), finished afterwards.
    deletes_finished: int = 0
    cleanup_failed: list[str] = field(default_factory=list)
    stopped: bool = False  # stopped before its time: the calls in flight finished
    cleaned: bool = False  # the clean-up ran to its end (or nothing was to be removed: keep)

    @property
    def operations(self) -> int:
        return sum(self.answers.values())

    def cleanup_summary(self) -> str:
        if self.plan.keep:
            return "none: kept on request"
        done = f"{self.removed:,} names removed, {self.claims_released:,} orphan claims released"
        if self.deletes_finished:
            done += f", {self.deletes_finished:,} cut-off deletes finished"
        if self.cleanup_failed:
            done += f"; could not: {', '.join(self.cleanup_failed)}"
        return done

    def as_document(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "mode": "churn",
            "clients": self.plan.clients,
            "seconds": self.plan.seconds,
            "names": self.plan.names,
            "emails": self.plan.emails,
            "mix": self.plan.mix,
            "elapsed_s": round(self.elapsed_s, 3),
            "stopped": self.stopped,
            "operations": self.operations,
            "answers": {f"{op} {answer}": n for (op, answer), n in sorted(self.answers.items())},
            "cleanup": {
                "kept": self.plan.keep,
                "removed": self.removed,
                "claims_released": self.claims_released,
                "deletes_finished": self.deletes_finished,
                "failed": list(self.cleanup_failed),
            },
        }


def mixed_case(text: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


class Churn:
    """One churn run: `await Churn(registries, plan, recorder).run()`.

    `registries`: the clients' registries, client i uses registries[i % len]; two registries
    on connections local to two data centres split the clients between the DCs.
    """

    def __init__(
        self,
        registries: Sequence[Registry],
        plan: ChurnPlan,
        recorder: Recorder,
        *,
        on_answer: Callable[[str, str], None] | None = None,
    ) -> None:
        if not registries:
            raise ValueError("churn needs at least one registry")
        self.registries = list(registries)
        self.plan = plan
        self.recorder = recorder
        self.on_answer = on_answer
        self.run_id = uuid.uuid4().hex[:6]
        self.rng = random.Random(plan.seed)
        self.names = [f"ch{self.run_id}-n{i}" for i in range(plan.names)]
        self.emails = [f"ch{self.run_id}.e{i}@example.org" for i in range(plan.emails)]
        self.report = ChurnReport(self.run_id, plan)
        self._ops = [op for op, _ in MIXES[plan.mix]]
        self._weights = [w for _, w in MIXES[plan.mix]]
        # stop(): no client starts a new call; calls in flight finish (and resolve), then the
        # clean-up runs as after a whole run. The caller checks the history unless skipped.
        self.stop_requested = False
        # (name, identity) of deletes that answered with a left-over: finished at clean-up.
        self.cut_off_deletes: list[tuple[str, uuid.UUID]] = []
        self.audit_skipped = False

    def stop(self, *, skip_audit: bool = False) -> None:
        """End early and still leave the registry as it was: calls in flight finish, then
        the clean-up (unless keep); `skip_audit`: the caller skips the history check."""
        self.stop_requested = True
        if skip_audit:
            self.audit_skipped = True

    def left_behind(self) -> str:
        """What this run may leave if it is left before its clean-up ends, and the command
        that removes it."""
        if self.plan.keep:
            return "its names stay registered (keep)"
        if self.report.cleaned:
            return "nothing: the clean-up is done"
        return (
            f"names ch{self.run_id}-n0…n{self.plan.names - 1} and claims on "
            f"ch{self.run_id}.e0…e{self.plan.emails - 1}@example.org may stay; "
            f"`registry race --cleanup {self.run_id}` removes them"
        )

    # ----------------------------------------------------------------------------------------

    async def run(self) -> ChurnReport:
        started = time.monotonic()
        deadline = started + self.plan.seconds
        await asyncio.gather(*(self._client(p, deadline) for p in range(self.plan.clients)))
        self.report.elapsed_s = time.monotonic() - started
        self.report.stopped = self.stop_requested
        if not self.plan.keep:
            await self._clean_up()
        self.report.cleaned = True
        return self.report

    async def _client(self, process: int, deadline: float) -> None:
        rng = random.Random(self.rng.random())
        registry = self.registries[process % len(self.registries)]
        while time.monotonic() < deadline and not self.stop_requested:
            op = rng.choices(self._ops, self._weights)[0]
            try:
                answer = await getattr(self, "_" + op.replace("-", "_"))(process, registry, rng)
            except Exception as exc:
                if classify(exc) is ErrorKind.OTHER:
                    raise
                answer = "error"
            self.report.answers[(op, answer)] += 1
            if self.on_answer is not None:
                self.on_answer(op, answer)

    # ----------------------------------------------------------------------------------------
    # Keys

    @staticmethod
    def name_key(name: str) -> str:
        return "name:" + normalize_username(name)

    @staticmethod
    def email_key(email: str) -> str:
        try:
            return "email:" + normalize_email(email)
        except ValidationError:
            return "email:" + email.strip().lower()

    # ----------------------------------------------------------------------------------------
    # Operations: each records what it sends and what it was told, and says its answer.

    async def _register(self, process: int, registry: Registry, rng: random.Random) -> str:
        name = mixed_case(rng.choice(self.names), rng)
        email = mixed_case(rng.choice(self.emails), rng)
        uid = uuid.uuid4()
        args = {"user_id": str(uid)}
        rec = self.recorder
        on_name = rec.invoke(process, "register", self.name_key(name), args)
        on_email = rec.invoke(process, "claim", self.email_key(email), args)
        on_release = rec.invoke(process, "release", self.email_key(email), args)
        on_profile = rec.invoke(process, "create", f"profile:{uid}", {"writer": FIRST_WRITER})
        # A claim try that timed out may still land on a replica late, after the claim was
        # settled and even given back: a second claim of the same identity, open-ended.
        on_late_claim = rec.invoke(process, "claim", self.email_key(email), args)
        try:
            outcome = await registry.register(name, email, "Churn", CHURN_DIMENSION, user_id=uid)
        except DatabaseUnavailable as exc:
            # Jepsen's table: unavailable is a definite failure. The name was not written (an
            # ambiguous try of it answers unknown instead); a claim may have been taken and
            # given back before the failure.
            rec.discard(on_name)
            rec.discard(on_profile)
            for handle in (on_email, on_release, on_late_claim):
                rec.complete(handle, "unknown", error=exc.message)
            return "unavailable"
        if isinstance(outcome, Unknown) or (
            isinstance(outcome, (Registered, UsernameTaken, EmailTaken))
            and outcome.claim_may_return
        ):
            rec.complete(on_late_claim, "unknown", error=LATE_CLAIM)
        else:
            rec.discard(on_late_claim)
        if isinstance(outcome, Registered):
            rec.complete(on_name, "ok", raw=_raw(outcome.resolved_after_timeout))
            rec.complete(on_email, "ok")
            rec.discard(on_release)
            rec.complete(on_profile, "unknown" if outcome.incomplete else "ok")
        elif isinstance(outcome, UsernameTaken):
            rec.complete(on_name, "failed", {"holder": str(outcome.existing.user_id)})
            rec.discard(on_profile)
            if outcome.claim_released is None:  # the address was taken too: never claimed
                rec.complete(on_email, "failed")
                rec.discard(on_release)
            else:  # claimed, then given back (or left to its grace period)
                rec.complete(on_email, "ok")
                rec.complete(on_release, "ok" if outcome.claim_released else "unknown")
        elif isinstance(outcome, EmailTaken):
            rec.discard(on_name)  # never sent
            rec.complete(on_email, "failed", {"holder": str(outcome.owner.user_id)})
            rec.discard(on_release)
            rec.discard(on_profile)
        elif isinstance(outcome, Unknown):
            for handle in (on_name, on_email, on_release, on_profile):
                rec.complete(handle, "unknown", error=outcome.reason)
        else:
            assert isinstance(outcome, Invalid)
            raise ValueError(f"churn built an invalid registration: {outcome.message}")
        return type(outcome).__name__

    async def _read_name(self, process: int, registry: Registry, rng: random.Random) -> str:
        name = mixed_case(rng.choice(self.names), rng)
        await self._holder(process, registry, name)
        return "read"

    async def _holder(self, process: int, registry: Registry, name: str) -> UserRecord | None:
        handle = self.recorder.invoke(process, "read", self.name_key(name), {})
        try:
            holder = await registry.get_user_serial(name)
        except DatabaseUnavailable as exc:
            self.recorder.complete(handle, "failed", error=exc.message)
            raise
        value = {"holder": str(holder.user_id) if holder else None}
        self.recorder.complete(handle, "ok", value)
        return holder

    async def _read_email(self, process: int, registry: Registry, rng: random.Random) -> str:
        email = mixed_case(rng.choice(self.emails), rng)
        handle = self.recorder.invoke(process, "read", self.email_key(email), {})
        try:
            owner = await registry.get_email_owner(email)
        except DatabaseUnavailable as exc:
            self.recorder.complete(handle, "failed", error=exc.message)
            raise
        self.recorder.complete(handle, "ok", {"holder": str(owner.user_id) if owner else None})
        return "read"

    async def _delete(self, process: int, registry: Registry, rng: random.Random) -> str:
        name = mixed_case(rng.choice(self.names), rng)
        holder = await self._holder(process, registry, name)
        if holder is None:
            return "nobody"
        uid = holder.user_id
        args = {"user_id": str(uid)}
        rec = self.recorder
        on_name = rec.invoke(process, "delete", self.name_key(name), args)
        on_email = rec.invoke(process, "release", self.email_key(holder.email), args)
        on_profile = rec.invoke(process, "delete", f"profile:{uid}", {})
        try:
            outcome = await registry.delete_user(name, user_id=uid)
        except DatabaseUnavailable:
            # A definite failure: the delete did not apply (after an ambiguous try the
            # registry answers unknown instead), and no clean-up was sent.
            for handle in (on_name, on_email, on_profile):
                rec.discard(handle)
            return "unavailable"
        if isinstance(outcome, Deleted):
            rec.complete(on_name, "ok", raw=_raw(outcome.resolved_after_timeout))
            left = outcome.leftovers
            if left:
                self.cut_off_deletes.append((name, uid))
            rec.complete(on_email, "unknown" if "e-mail claim" in left else "ok")
            rec.complete(on_profile, "unknown" if "profile" in left else "ok")
        elif isinstance(outcome, NotFound):
            rec.complete(on_name, "failed")  # no longer this identity's
            rec.discard(on_email)  # no clean-up was sent
            rec.discard(on_profile)
        elif isinstance(outcome, CleanupFinished):
            # Gone already, its profile still there when looked at: removed now, unless the
            # delete that took the name removed it first (its own clean-up may still be
            # running). Which of the two removed it is not known: this one is unknown.
            rec.complete(on_name, "failed")
            rec.discard(on_email)
            rec.complete(on_profile, "unknown", error="finishing a delete's clean-up")
        elif isinstance(outcome, Unknown):
            for handle in (on_name, on_email, on_profile):
                rec.complete(handle, "unknown", error=outcome.reason)
        else:
            raise ValueError(f"churn built an invalid delete: {outcome}")
        return type(outcome).__name__

    async def _update(self, process: int, registry: Registry, rng: random.Random) -> str:
        name = mixed_case(rng.choice(self.names), rng)
        holder = await self._holder(process, registry, name)
        if holder is None:
            return "nobody"
        key = f"profile:{holder.user_id}"
        rec = self.recorder
        handle = rec.invoke(process, "read", key, {})
        try:
            profile = await registry.get_profile_serial(holder.user_id)
        except DatabaseUnavailable as exc:
            rec.complete(handle, "failed", error=exc.message)
            raise
        rec.complete(handle, "ok", _profile_value(profile))
        if profile is None:
            return "no profile"
        bio = f"b{process}-{uuid.uuid4().hex[:8]}"  # the writer's token
        handle = rec.invoke(process, "update", key, {"expected": profile.version, "writer": bio})
        try:
            outcome = await registry.update_profile(
                holder.user_id, bio=bio, expected_version=profile.version
            )
        except DatabaseUnavailable:
            rec.discard(handle)  # a definite failure: nothing applied, nothing learned
            return "unavailable"
        if isinstance(outcome, Updated):
            rec.complete(handle, "ok", raw=_raw(outcome.resolved_after_timeout))
        elif isinstance(outcome, VersionConflict):
            seen = {"version": outcome.current.version}
            rec.complete(handle, "failed", seen, raw=_raw(outcome.resolved_after_timeout))
        elif isinstance(outcome, NotFound):
            rec.complete(handle, "failed", {"version": None})
        elif isinstance(outcome, Unknown):
            rec.complete(handle, "unknown", error=outcome.reason)
        else:
            raise ValueError(f"churn built an invalid update: {outcome}")
        return type(outcome).__name__

    # ----------------------------------------------------------------------------------------
    # Afterwards: remove what the run registered, and the claims its unknowns left behind.

    async def _clean_up(self) -> None:
        registry = self.registries[0]
        # First let any request of a call whose outcome was unknown end on the servers, so
        # none can land after its name or claim is removed.
        await asyncio.sleep(SETTLE_S)
        for name in self.names:
            try:
                holder = await registry.get_user_serial(name)
                if holder is None:
                    continue
                outcome = await registry.delete_user(name, user_id=holder.user_id)
            except DatabaseUnavailable as exc:
                self.report.cleanup_failed.append(f"{name}: {exc.message}")
                continue
            if isinstance(outcome, Deleted) or (isinstance(outcome, Unknown) and outcome.gone):
                self.report.removed += 1
            else:
                self.report.cleanup_failed.append(f"{name}: {type(outcome).__name__}")
        for name, uid in self.cut_off_deletes:
            try:
                finished = await registry.delete_user(name, user_id=uid)
            except DatabaseUnavailable as exc:
                self.report.cleanup_failed.append(f"{name} ({uid}): {exc.message}")
                continue
            if isinstance(finished, CleanupFinished) and finished.leftovers:
                self.report.cleanup_failed.append(f"{name} ({uid}): profile not confirmed")
            elif isinstance(finished, CleanupFinished):
                self.report.deletes_finished += 1
        for email in self.emails:
            try:
                if await registry.release_orphan_claim(email):
                    self.report.claims_released += 1
            except DatabaseUnavailable as exc:
                self.report.cleanup_failed.append(f"{email}: {exc.message}")


LATE_CLAIM = "a try of this claim timed out: its request may still land late"


def _raw(resolved_after_timeout: bool) -> str | None:
    return "unknown: resolved by a SERIAL read" if resolved_after_timeout else None


def _profile_value(profile: ProfileRecord | None) -> dict[str, Any] | None:
    if profile is None:
        return None
    # The first version has no bio: its writer is FIRST_WRITER; every edit's bio is its token.
    return {"version": profile.version, "writer": profile.bio or FIRST_WRITER}


__all__ = ["Churn", "ChurnPlan", "ChurnReport", "Recorder"]
