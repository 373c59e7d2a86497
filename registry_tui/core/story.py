"""The demo's story, shared by the seed and the race: who the heroes are, where they and
Doppel-9's clones come from, and how many clones answer a crowd of heroes.

Changing a name here changes the seeded rows: `registry seed` run twice must find its own
heroes again, so the seed's names stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

HERO_DIMENSION = "Dimension-6"  # the race's heroes; the seed spreads its heroes over all six
HERO_DIMENSIONS = tuple(f"Dimension-{n}" for n in range(1, 7))
CLONE_DIMENSION = "Dimension-9"

_FIRST = (
    "agent",
    "captain",
    "doctor",
    "nova",
    "shadow",
    "quantum",
    "iron",
    "silver",
    "neon",
    "zero",
)
_SECOND = (
    "cipher", "vector", "photon", "nebula", "falcon", "tempest", "glitch", "oracle", "specter",
    "pulse",
)  # fmt: skip


@dataclass(frozen=True)
class HeroName:
    first: str  # lower case, as in a username
    second: str

    @property
    def display(self) -> str:
        return f"{self.first.title()} {self.second.title()}"


def hero_name(index: int) -> HeroName:
    """The index-th hero's name: 100 distinct names, then they repeat."""
    return HeroName(_FIRST[index % len(_FIRST)], _SECOND[(index // len(_FIRST)) % len(_SECOND)])


def clone_display_name(number: int) -> str:
    return f"Doppel-9 clone {number}"


def clone_count(heroes: int) -> int:
    """How many clones attack a crowd of heroes: a quarter of them, at least one."""
    return max(1, heroes // 4)
