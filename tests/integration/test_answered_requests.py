"""An answered request is freed when its answer has been handed over, not a request timeout
later by the cycle collector (core/store.py, `forget_answered_requests`)."""

from __future__ import annotations

import gc
import weakref

from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection


def test_an_answered_request_is_freed_without_the_cycle_collector(
    connection: Connection,
) -> None:
    statement = connection.session.prepare("SELECT release_version FROM system.local")
    gc.disable()
    try:
        request = connection.session.execute_async(statement, timeout=30.0)
        assert request.result().one() is not None
        gone = weakref.ref(request)
        del request
        # 30 s before its timer's deadline: only its own release can have freed it.
        assert gone() is None
    finally:
        gc.enable()


async def test_a_registration_leaves_no_request_alive(
    connection: Connection, registry: Registry
) -> None:
    from cassandra.cluster import ResponseFuture

    await registry.register("freed-warm-up", "freed-warm-up@answers.galaxy", "W", "Dimension-1")
    gc.collect()
    gc.disable()
    try:
        before = sum(isinstance(o, ResponseFuture) for o in gc.get_objects())
        for i in range(20):
            name = f"freed-{i}"
            await registry.register(name, f"{name}@answers.galaxy", "Freed", "Dimension-1")
        after = sum(isinstance(o, ResponseFuture) for o in gc.get_objects())
    finally:
        gc.enable()
    assert after - before < 5, f"{after - before} requests still alive after 20 registrations"
