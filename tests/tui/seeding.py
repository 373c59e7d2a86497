"""Rows for the TUI tests, written through the registry core (the real node decides)."""

from __future__ import annotations

import asyncio
import uuid

from registry_tui.core.outcomes import Registered, UserRecord
from registry_tui.core.registry import Registry
from tests.conftest import unique


async def register_user(
    registry: Registry,
    *,
    username: str | None = None,
    dimension: str | None = None,
    display_name: str = "Agent Test",
    email: str | None = None,
    user_id: uuid.UUID | None = None,
) -> UserRecord:
    name = username or unique("hero")
    outcome = await registry.register(
        name,
        email or f"{name}@registry.galaxy",
        display_name,
        dimension or unique("dim"),
        user_id=user_id,
    )
    assert isinstance(outcome, Registered), outcome
    return outcome.user


async def register_many(registry: Registry, count: int, dimension: str) -> list[UserRecord]:
    gate = asyncio.Semaphore(32)

    async def one(index: int) -> UserRecord:
        async with gate:
            return await register_user(
                registry, dimension=dimension, display_name=f"Paged Hero {index:03d}"
            )

    return list(await asyncio.gather(*(one(i) for i in range(count))))
