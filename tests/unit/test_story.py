"""The story shared by the seed and the race (core/story.py) and the race's roster
(race/plan.py): names, dimensions, who carried which user_id. No database."""

from __future__ import annotations

import uuid

import pytest

from registry_tui.core.seed import hero
from registry_tui.core.story import (
    CLONE_DIMENSION,
    HERO_DIMENSION,
    clone_count,
    clone_display_name,
    hero_name,
)
from registry_tui.race import HERO, AttackPlan
from registry_tui.race.plan import Roster


@pytest.mark.parametrize(("heroes", "clones"), [(1, 1), (3, 1), (4, 1), (8, 2), (40, 10), (41, 10)])
def test_a_quarter_of_the_heroes_meet_a_clone_and_always_at_least_one(
    heroes: int, clones: int
) -> None:
    assert clone_count(heroes) == clones


def test_a_hundred_heroes_have_a_hundred_names() -> None:
    names = {hero_name(i) for i in range(100)}
    assert len(names) == 100
    assert hero_name(100) == hero_name(0)


def test_the_seed_draws_heroes_as_the_demo_does() -> None:
    import random
    import re

    from registry_tui.core.story import BIO_TEMPLATES, STATUS_POOL, STORY_DIMENSIONS

    heroes = [hero(random.Random(7)) for _ in range(2)]
    assert heroes[0] == heroes[1]  # one random seed, one hero: tests stay deterministic
    drawn = [hero(random.Random(n)) for n in range(300)]
    for h in drawn:
        assert re.fullmatch(r"[A-Z][a-z]+-[A-Z][a-z]+-\d{3}", h.username), h.username
        assert h.dimension in STORY_DIMENSIONS
        assert h.email == f"{h.username.lower()}@coodie-corps.{h.dimension.lower()}.galaxy"
        assert h.status in STATUS_POOL
        assert h.bio in {t.replace("{dim}", h.dimension) for t in BIO_TEMPLATES}
    assert len({h.dimension for h in drawn}) == 12
    assert {h.status for h in drawn} == {"active", "inactive", "suspended"}


def test_race_heroes_and_clones_come_from_their_dimensions() -> None:
    roster = Roster(AttackPlan(races=3, clones=2))
    hero_1 = roster.contender(1, HERO)
    clone_2 = roster.contender(1, 2)
    assert (hero_1.dimension, hero_1.display_name) == (HERO_DIMENSION, hero_name(1).display)
    assert (clone_2.dimension, clone_2.display_name) == (CLONE_DIMENSION, clone_display_name(2))
    assert hero_1.username == clone_2.username == f"race-{roster.run_id}-00001"
    assert hero_1.email.endswith("@coodie-corps.dimension-6.galaxy")
    assert clone_2.email.endswith("@clones.dimension-9.galaxy")


def test_every_contender_carries_its_own_user_id_and_is_found_by_it() -> None:
    roster = Roster(AttackPlan(races=4, clones=5), namespace=uuid.UUID(int=7))
    ids = {roster.contender(r, i).user_id for r in range(4) for i in range(6)}
    assert len(ids) == 4 * 6
    again = Roster(AttackPlan(races=4, clones=5), namespace=uuid.UUID(int=7))
    assert again.contender(2, 3) == roster.contender(2, 3)
    assert roster.owner_index(2, roster.contender(2, 3).user_id, likely=()) == 3
    assert roster.owner_index(2, roster.contender(1, 3).user_id, likely=(HERO,)) is None


def test_in_a_siege_only_the_clones_race() -> None:
    assert list(Roster(AttackPlan(clones=3)).racers()) == [0, 1, 2, 3]
    siege = Roster(AttackPlan(clones=3, mode="siege"))
    assert list(siege.racers()) == [1, 2, 3]
    assert siege.username_prefix == f"siege-{siege.run_id}-"
