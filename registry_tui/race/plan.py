"""What an attack is before it starts: its size and mode, and who races for which name.

A race is one username, one hero and K Doppel-9 clones, each with its own pre-generated
user_id and e-mail. An attack is R races with at most C in flight.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Literal

from registry_tui.core.story import CLONE_DIMENSION, HERO_DIMENSION, clone_display_name, hero_name
from registry_tui.core.validation import ValidationError

RACES_MAX = 100_000
CLONES_MAX = 64
CONCURRENCY_MAX = 1000
MODES = ("land-grab", "siege")

HERO = 0  # contender index of the hero; clones are 1..K

Mode = Literal["land-grab", "siege"]
ContenderKind = Literal["hero", "clone"]


def _check_range(option: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(option, f"must be a whole number from {low} to {high}")


@dataclass(frozen=True)
class AttackPlan:
    races: int = 100  # R: usernames raced (the CLI's --usernames)
    clones: int = 7  # K: Doppel-9 clones per race (with the hero: 8 contenders)
    concurrency: int = 16  # C: races in flight at once
    mode: Mode = "land-grab"
    protected: bool = True  # False: the control run, plain INSERTs on a scratch table
    keep: bool = False  # True: leave the winners registered after the audit, for inspection

    def __post_init__(self) -> None:
        # Field names match the CLI options, so a message can name the flag to fix.
        _check_range("usernames", self.races, 1, RACES_MAX)
        _check_range("clones", self.clones, 1, CLONES_MAX)
        _check_range("concurrency", self.concurrency, 1, CONCURRENCY_MAX)
        if self.mode not in MODES:
            raise ValidationError("mode", f"must be one of {', '.join(MODES)}")

    @property
    def contenders_per_race(self) -> int:
        # In a siege the hero already holds the name: only the clones race for it.
        return self.clones + (1 if self.mode == "land-grab" else 0)

    @property
    def contenders(self) -> int:
        return self.races * self.contenders_per_race


@dataclass(frozen=True)
class Contender:
    """One registration attempt of a race, fully decided before the race starts."""

    race: int
    index: int  # HERO (0) or a clone number 1..K
    username: str
    user_id: uuid.UUID
    email: str
    display_name: str
    dimension: str

    @property
    def kind(self) -> ContenderKind:
        return "hero" if self.index == HERO else "clone"

    @property
    def label(self) -> str:
        return contender_label(self.index)


def contender_label(index: int) -> str:
    return "hero" if index == HERO else f"clone {index}"


@dataclass(frozen=True)
class Identity:
    """Who holds a name, as the database answered. Show it only through `safe_text`."""

    user_id: uuid.UUID
    email: str
    display_name: str
    kind: ContenderKind | None  # None: nobody of this race
    contender: int | None


class Roster:
    """Every contender of one attack, derived on demand from one random namespace.

    user_ids are derived from the namespace, so they are unique across attacks, yet a
    100 000-race attack needs no memory to tell who carried which id.
    """

    def __init__(self, plan: AttackPlan, namespace: uuid.UUID | None = None) -> None:
        self.plan = plan
        self.namespace = namespace or uuid.uuid4()
        self.run_id = self.namespace.hex[:8]
        kind = "race" if plan.mode == "land-grab" else "siege"
        self.username_prefix = f"{kind}-{self.run_id}-"

    def username(self, race: int) -> str:
        return f"{self.username_prefix}{race:05d}"

    def contender(self, race: int, index: int) -> Contender:
        name = self.username(race)
        if index == HERO:
            email = f"{name}@coodie-corps.{HERO_DIMENSION.lower()}.galaxy"
            display, dimension = hero_name(race).display, HERO_DIMENSION
        else:
            email = f"doppel9-{index}.{name}@clones.{CLONE_DIMENSION.lower()}.galaxy"
            display, dimension = clone_display_name(index), CLONE_DIMENSION
        return Contender(
            race=race,
            index=index,
            username=name,
            user_id=uuid.uuid5(self.namespace, f"{race}/{index}"),
            email=email,
            display_name=display,
            dimension=dimension,
        )

    def racers(self) -> range:
        """The contender indices that race for a name (a siege's hero holds it already)."""
        first = HERO + 1 if self.plan.mode == "siege" else HERO
        return range(first, self.plan.clones + 1)

    def owner_index(self, race: int, user_id: uuid.UUID, likely: tuple[int, ...]) -> int | None:
        """Which contender of `race` carried `user_id` (checks the likely ones first)."""
        for index in itertools.chain(likely, range(HERO, self.plan.clones + 1)):
            if self.contender(race, index).user_id == user_id:
                return index
        return None
