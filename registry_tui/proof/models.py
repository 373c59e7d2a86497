"""The state machines a key's history is checked against: one class per kind of key.

A model turns each operation into a transition: a function from the key's state to the state
after the operation, or IMPOSSIBLE when the operation cannot have happened in that state. A
refused ("failed") write is a transition that changes nothing but says what the state was; an
operation with an unknown result is given the transition it has if it took effect (the search
adds the "never took effect" choice itself). States are small hashable values, because the
search remembers (operations placed, state) pairs.

A new kind of key is one subclass of `Model` and one line in `MODELS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

if TYPE_CHECKING:
    from registry_tui.proof.history import Operation

State = Hashable
Transition = Callable[[State], object]  # returns the next state, or IMPOSSIBLE


class _Impossible:
    """The answer of a transition whose operation cannot have happened in the given state."""

    _instance: ClassVar[_Impossible | None] = None

    def __new__(cls) -> _Impossible:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "IMPOSSIBLE"


IMPOSSIBLE: Final = _Impossible()

OK, FAILED, UNKNOWN = "ok", "failed", "unknown"
READ, READ_PLAIN = "read", "read_plain"
READS = frozenset({READ, READ_PLAIN})


def short(value: object) -> str:
    """An identifier short enough for a timeline bar (user ids are UUIDs)."""
    text = str(value)
    return text if len(text) <= 12 else text[:8] + "…"


def _unchanged(state: State) -> State:
    return state


class Model(ABC):
    """One kind of key: which operations it takes, what each does, how to name its states."""

    functions: frozenset[str]  # the `f` values this kind takes

    @abstractmethod
    def initial_state(self, value: object) -> State:
        """The state a history's header gives a key (None: the default). ValueError if the
        value cannot be such a state."""

    @abstractmethod
    def problem(self, op: Operation) -> str | None:
        """What is wrong with the operation's args or value for this kind, or None."""

    @abstractmethod
    def transition(self, op: Operation) -> Transition:
        """The operation as a function of the state (for an unknown result: if it took effect)."""

    @abstractmethod
    def describe_state(self, state: State, *, full: bool = False) -> str: ...

    @abstractmethod
    def describe_call(self, op: Operation, *, full: bool = False) -> str:
        """What the operation asked for: `register 3f2a…` (full: every identifier whole)."""

    @abstractmethod
    def describe_answer(self, op: Operation, *, full: bool = False) -> str:
        """What the client was told: `ok`, `failed: held by 3f2a…`, `saw v2 by 77c1…`."""

    def is_pure(self, op: Operation) -> bool:
        """True when the operation never changes the state (reads, refused writes). The search
        places such an operation as soon as it fits, which loses no order (see search.py)."""
        return op.f in READS or op.result == FAILED

    def step(self, state: State, op: Operation) -> object:
        """The state after `op`, or IMPOSSIBLE."""
        return self.transition(op)(state)


def _mapping(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_str(value: object) -> bool:
    return value is None or isinstance(value, str)


class OwnershipModel(Model):
    """A name or an e-mail: free (None) or held by one user id. `take` is the conditional
    insert (register, claim), `give_up` the delete by identity (delete, release)."""

    def __init__(self, take: str, give_up: str) -> None:
        self.take = take
        self.give_up = give_up
        self.functions = frozenset({take, give_up, READ, READ_PLAIN})

    def initial_state(self, value: object) -> State:
        if not _optional_str(value):
            raise ValueError("the initial holder must be a user id (a string) or null")
        return value

    def problem(self, op: Operation) -> str | None:
        if op.f in READS:
            if op.result == OK and not self._holder_value(op.value):
                return 'an ok read needs value {"holder": <user id or null>}'
            return None
        if not isinstance(op.args.get("user_id"), str):
            return f'{op.f} needs args {{"user_id": <string>}}'
        if op.result == FAILED and not (op.value is None or self._holder_value(op.value)):
            return f'a failed {op.f} has value null or {{"holder": <user id or null>}}'
        return None

    @staticmethod
    def _holder_value(value: object) -> bool:
        found = _mapping(value)
        return found is not None and "holder" in found and _optional_str(found["holder"])

    def transition(self, op: Operation) -> Transition:
        if op.f in READS:
            if op.result != OK:
                return _unchanged
            seen = op.value["holder"]
            return lambda s: s if s == seen else IMPOSSIBLE
        user: str = op.args["user_id"]
        saw = _mapping(op.value)
        if op.f == self.take:
            if op.result != FAILED:
                return lambda s: user if s is None else IMPOSSIBLE
            holder = saw.get("holder") if saw is not None else None
            if holder is None:  # taken, by someone the client could not name
                return lambda s: s if s is not None else IMPOSSIBLE
            return lambda s: s if s == holder else IMPOSSIBLE
        if op.result != FAILED:
            return lambda s: None if s == user else IMPOSSIBLE
        if saw is None:  # refused, nothing more known: someone else holds it, or no one
            return lambda s: s if s != user else IMPOSSIBLE
        holder = saw.get("holder")
        if holder is None:  # found nothing there
            return lambda s: s if s is None else IMPOSSIBLE
        return lambda s: s if s == holder and s != user else IMPOSSIBLE

    def describe_state(self, state: State, *, full: bool = False) -> str:
        if state is None:
            return "free"
        return f"held by {state if full else short(state)}"

    def describe_call(self, op: Operation, *, full: bool = False) -> str:
        if op.f in READS:
            return op.f
        user = op.args.get("user_id")
        return f"{op.f} {user if full else short(user)}"

    def describe_answer(self, op: Operation, *, full: bool = False) -> str:
        if op.outcome != OK:
            return self._refusal(op, full) if op.outcome == FAILED else UNKNOWN
        if op.f in READS:
            return f"saw {self.describe_state(op.value['holder'], full=full)}"
        return OK

    def _refusal(self, op: Operation, full: bool) -> str:
        saw = _mapping(op.value)
        if op.f in READS or saw is None:
            return FAILED
        holder = saw.get("holder")
        if holder is None:
            return "failed: taken" if op.f == self.take else "failed: found it free"
        return f"failed: held by {holder if full else short(holder)}"


ABSENT, DELETED = "absent", "deleted"


class ProfileModel(Model):
    """A profile under optimistic locking: absent, deleted for good, or (version, writer).

    `create` writes the first version as a plain write stamped older than everything, so it
    shows only on an absent profile; `update` is the compare-and-set on the version."""

    functions = frozenset({"create", "update", "delete", READ, READ_PLAIN})

    def initial_state(self, value: object) -> State:
        if value is None or value == ABSENT:
            return ABSENT
        if value == DELETED:
            return DELETED
        version = self._version_value(value)
        if version is None:
            raise ValueError(
                'an initial profile is "absent", "deleted" or {"version": <int>, "writer": <str>}'
            )
        return version

    @staticmethod
    def _version_value(value: object) -> tuple[int, str] | None:
        found = _mapping(value)
        if found is None or not _is_int(found.get("version")):
            return None
        if not isinstance(found.get("writer"), str):
            return None
        return (found["version"], found["writer"])

    def problem(self, op: Operation) -> str | None:
        saw = _mapping(op.value)
        if op.f in READS:
            if op.result == OK and op.value is not None and self._version_value(op.value) is None:
                return 'an ok read has value null or {"version": <int>, "writer": <string>}'
            return None
        if op.f == "create" and not isinstance(op.args.get("writer"), str):
            return 'create needs args {"writer": <string>}'
        if op.f == "update":
            if not _is_int(op.args.get("expected")) or not isinstance(op.args.get("writer"), str):
                return 'update needs args {"expected": <int>, "writer": <string>}'
            if op.result == FAILED and op.value is not None:
                if saw is None or "version" not in saw:
                    return 'a failed update has value null or {"version": <int or null>}'
                if saw["version"] is not None and not _is_int(saw["version"]):
                    return 'a failed update has value null or {"version": <int or null>}'
        refused_delete = op.f == "delete" and op.result == FAILED and op.value is not None
        if refused_delete and (saw is None or saw.get("version", 0) is not None):
            return 'a failed delete has value null or {"version": null}'
        return None

    def transition(self, op: Operation) -> Transition:
        if op.f in READS:
            if op.result != OK:
                return _unchanged
            seen = self._version_value(op.value)
            if seen is None:
                return lambda s: s if s in (ABSENT, DELETED) else IMPOSSIBLE
            return lambda s: s if s == seen else IMPOSSIBLE
        if op.f == "create":
            if op.result == FAILED:
                return _unchanged
            first = (1, op.args["writer"])
            return lambda s: first if s == ABSENT else s
        if op.f == "update":
            expected: int = op.args["expected"]
            if op.result != FAILED:
                after = (expected + 1, op.args["writer"])
                return lambda s: after if type(s) is tuple and s[0] == expected else IMPOSSIBLE
            if op.value is None:  # refused, version unknown: it was not `expected`
                return lambda s: s if not (type(s) is tuple and s[0] == expected) else IMPOSSIBLE
            version = op.value["version"]
            if version is None:  # no profile there
                return lambda s: s if type(s) is not tuple else IMPOSSIBLE
            return lambda s: s if type(s) is tuple and s[0] == version else IMPOSSIBLE
        # delete
        if op.result != FAILED:
            return lambda s: DELETED if type(s) is tuple else IMPOSSIBLE
        return lambda s: s if type(s) is not tuple else IMPOSSIBLE

    def describe_state(self, state: State, *, full: bool = False) -> str:
        if isinstance(state, tuple):
            return f"v{state[0]} by {state[1] if full else short(state[1])}"
        return str(state)

    def describe_call(self, op: Operation, *, full: bool = False) -> str:
        writer = op.args.get("writer")
        name = (lambda v: str(v)) if full else short
        if op.f == "create":
            return f"create by {name(writer)}"
        if op.f == "update":
            expected = op.args.get("expected")
            after = expected + 1 if isinstance(expected, int) else "?"
            return f"update v{expected}→v{after} by {name(writer)}"
        return op.f

    def describe_answer(self, op: Operation, *, full: bool = False) -> str:
        if op.outcome == UNKNOWN:
            return UNKNOWN
        if op.f in READS:
            if op.result != OK:
                return op.result
            seen = self._version_value(op.value)
            state = seen if seen is not None else "absent or deleted"
            return f"saw {self.describe_state(state, full=full)}"
        if op.result == OK:
            return OK
        saw = _mapping(op.value)
        if saw is None:
            return FAILED
        version = saw.get("version")
        return "failed: no profile" if version is None else f"failed: saw v{version}"


# The kind of a key is the text before its first colon: "name:alice" is checked as a name.
MODELS: dict[str, Model] = {
    "name": OwnershipModel(take="register", give_up="delete"),
    "email": OwnershipModel(take="claim", give_up="release"),
    "profile": ProfileModel(),
}


def kind_of(key: str) -> str:
    return key.split(":", 1)[0] if ":" in key else ""


def model_for(key: str) -> Model | None:
    return MODELS.get(kind_of(key))
