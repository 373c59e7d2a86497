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


# The demo seed's own pools (demos/lwt-user-registry/seed.py): its heroes are drawn from them,
# so two heroes can draw one name on a first run, as in the demo.
STORY_DIMENSIONS = (
    "Dimension-1", "Dimension-2", "Dimension-3", "Dimension-4", "Dimension-5", "Dimension-6",
    "Dimension-6-Prime", "Dimension-7", "Void-Sector", "Echo-Layer", "Shard-Prime", "Null-Space",
)  # fmt: skip
HERO_PREFIXES = (
    "Agent", "Commander", "Captain", "Operator", "Sentinel", "Guardian", "Director", "Marshal",
)  # fmt: skip
HERO_SUFFIXES = (
    "Cipher", "Flux", "Phantom", "Nexus", "Vortex", "Wraith", "Pulse", "Echo", "Rift", "Shade",
    "Vector", "Void", "Apex", "Quasar", "Nova", "Helios", "Zephyr", "Onyx", "Prism", "Talon",
)  # fmt: skip
BIO_TEMPLATES = (
    "Field operative specializing in LWT-secured identity verification.",
    "Senior analyst at the Coodie Corps registry division.",
    "Counter-clone specialist; 47 Doppel-9 duplicates neutralized.",
    "IF-NOT-EXISTS enforcement unit, Dimension-{dim} branch.",
    "Identity integrity officer with zero tolerance for duplicates.",
    "Trained in optimistic concurrency and psionic version control.",
    "Registry architect who designed the serial-consistency enforcement protocol.",
    "Veteran operative; survived three Doppel-9 clone waves.",
)
STATUS_POOL = ("active", "active", "active", "inactive", "suspended")


def clone_display_name(number: int) -> str:
    return f"Doppel-9 clone {number}"


def clone_count(heroes: int) -> int:
    """How many clones attack a crowd of heroes: a quarter of them, at least one."""
    return max(1, heroes // 4)
