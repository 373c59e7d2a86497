"""A history split by key, each key's operations in the form the search takes.

Per key because a history is linearizable exactly when each key's part is (Herlihy & Wing's
locality, "P-compositionality"): the searches stay small and independent.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry_tui.proof.history import Operation
from registry_tui.proof.models import OK, READ, READ_PLAIN, READS, UNKNOWN, Model, State, model_for
from registry_tui.proof.search import INFINITY, Step


@dataclass
class KeyHistory:
    key: str
    model: Model
    initial: State
    checked: list[Operation] = field(default_factory=list)  # in the linearizability search
    plain_reads: list[Operation] = field(default_factory=list)  # answered QUORUM reads
    dropped: int = 0  # reads that failed or never answered: they changed nothing

    @property
    def operations(self) -> int:
        return len(self.checked) + len(self.plain_reads) + self.dropped

    def step(self, op: Operation) -> Step:
        """The operation as the search takes it (a plain read: as if it were a SERIAL read)."""
        if op.f == READ_PLAIN:
            op = dataclasses.replace(op, f=READ)
        required = op.result != UNKNOWN
        pure = self.model.is_pure(op)
        return Step(
            invoke=op.invoke,
            complete=op.complete if required and op.complete is not None else INFINITY,
            apply=self.model.transition(op),
            required=required,
            pure=pure,
            ident=op.index,
            # A write's effect is what it asked for (ok and unknown alike take it).
            effect=None if pure else (op.f, json.dumps(op.args, sort_keys=True)),
        )

    def steps(self) -> list[Step]:
        return [self.step(op) for op in self.checked]


def split_by_key(
    operations: Iterable[Operation], initial: Mapping[str, Any] | None = None
) -> dict[str, KeyHistory]:
    """Each key's history. Operations must be valid (history.validate); an operation that never
    got an answer is taken as unknown, whatever its result says."""
    initial = initial or {}
    keys: dict[str, KeyHistory] = {}
    for op in operations:
        history = keys.get(op.key)
        if history is None:
            model = model_for(op.key)
            assert model is not None, "validated histories only"
            start = model.initial_state(initial.get(op.key))
            history = keys[op.key] = KeyHistory(op.key, model, start)
        if op.complete is None and op.result != UNKNOWN:
            op = dataclasses.replace(op, result=UNKNOWN)
        if op.f in READS and op.result != OK:
            history.dropped += 1
        elif op.f == READ_PLAIN:
            history.plain_reads.append(op)
        else:
            history.checked.append(op)
    for history in keys.values():
        history.checked.sort(key=lambda op: (op.invoke, op.index))
    return keys
