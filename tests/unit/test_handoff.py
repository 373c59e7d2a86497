"""The driver-to-loop handoff: every answer reaches its future, in bursts or one by one, from
one thread or several, and a cancelled waiter or a closed loop costs nothing."""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from typing import Any

from registry_tui.core.store import Answer, Handoff


async def test_every_answer_arrives_from_racing_threads() -> None:
    loop = asyncio.get_running_loop()
    handoff = Handoff.of(loop)
    assert Handoff.of(loop) is handoff
    futures: list[asyncio.Future[Any]] = [loop.create_future() for _ in range(20_000)]
    wakeups = 0
    call_soon_threadsafe = loop.call_soon_threadsafe

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal wakeups
        wakeups += 1
        return call_soon_threadsafe(*args, **kwargs)

    loop.call_soon_threadsafe = counted  # type: ignore[method-assign]

    def answer(part: list[tuple[int, asyncio.Future[Any]]], seed: int) -> None:
        rng = random.Random(seed)
        for i, future in part:
            if i % 7 == 0:
                handoff.put(future, True, None, ValueError(str(i)))
            else:
                handoff.put(future, False, None, i)
            if rng.random() < 0.01:
                time.sleep(0.0005)  # bursts, and gaps the loop catches up in

    indexed = list(enumerate(futures))
    # Switch threads as often as the interpreter can: the loop's settling and the threads'
    # puts interleave at every point, the one that matters included (a put just after the
    # loop found the queue empty).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    threads = [threading.Thread(target=answer, args=(indexed[k::4], k)) for k in range(4)]
    for thread in threads:
        thread.start()
    results = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), timeout=30)
    for thread in threads:
        thread.join()
    sys.setswitchinterval(interval)
    for i, result in enumerate(results):
        if i % 7 == 0:
            assert isinstance(result, ValueError) and str(result) == str(i)
        else:
            assert result == i
    del loop.call_soon_threadsafe  # type: ignore[method-assign]
    # Answers share wake-ups (the point of it): far fewer than one per answer.
    assert 0 < wakeups < len(futures) / 2, wakeups


async def test_a_cancelled_waiter_is_skipped() -> None:
    loop = asyncio.get_running_loop()
    handoff = Handoff.of(loop)
    gone, kept = loop.create_future(), loop.create_future()
    gone.cancel()
    threading.Thread(
        target=lambda: (handoff.put(gone, False, None, 1), handoff.put(kept, False, None, 2))
    ).start()
    assert await asyncio.wait_for(kept, timeout=5) == 2
    assert gone.cancelled()


class PutWhenEmpty(Handoff):
    """The driver's thread puts an answer at the worst moment: just as the loop finds the
    queue empty, before its settling returns."""

    __slots__ = ("late",)

    def __init__(self, loop: asyncio.AbstractEventLoop, late: asyncio.Future[Any]) -> None:
        super().__init__(loop)
        self.late: asyncio.Future[Any] | None = late

    def _next(self) -> Answer | None:
        answer = super()._next()
        if answer is None and self.late is not None:
            late, self.late = self.late, None
            self.put(late, False, None, "late")
        return answer


async def test_an_answer_put_as_the_loop_finds_the_queue_empty_still_arrives() -> None:
    loop = asyncio.get_running_loop()
    first, late = loop.create_future(), loop.create_future()
    handoff = PutWhenEmpty(loop, late)
    handoff.put(first, False, None, "first")
    assert await asyncio.wait_for(first, timeout=5) == "first"
    assert await asyncio.wait_for(late, timeout=5) == "late"


def test_an_answer_after_the_loop_closed_is_dropped_quietly() -> None:
    loop = asyncio.new_event_loop()
    handoff = Handoff(loop)
    future = loop.create_future()
    loop.close()
    handoff.put(future, False, None, 1)  # nobody waits any more: no error, nothing kept
    assert not handoff._queue


async def test_an_answer_is_converted_on_the_loop_and_a_failed_conversion_raises() -> None:
    loop = asyncio.get_running_loop()
    handoff = Handoff(loop)
    on_loop: list[bool] = []

    def applied(rows: list[dict[str, Any]]) -> bool:
        on_loop.append(threading.get_ident() == loop_thread)
        return bool(rows[0]["[applied]"])

    def broken(rows: list[dict[str, Any]]) -> bool:
        raise KeyError("[applied]")

    loop_thread = threading.get_ident()
    converted, refused, untouched = (loop.create_future() for _ in range(3))
    driver = threading.Thread(
        target=lambda: (
            handoff.put(converted, False, applied, [{"[applied]": True}]),
            handoff.put(refused, False, broken, [{}]),
            handoff.put(untouched, False, None, [{}]),
        )
    )
    driver.start()
    driver.join()
    assert await asyncio.wait_for(converted, timeout=5) is True
    assert on_loop == [True]
    try:
        await asyncio.wait_for(refused, timeout=5)
    except KeyError as exc:
        assert exc.args == ("[applied]",)
    else:
        raise AssertionError("a conversion that raised must raise in the awaiting task")
    assert await asyncio.wait_for(untouched, timeout=5) == [{}]
