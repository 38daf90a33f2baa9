"""Bounded read-ahead for connectors: a few requests in flight, results still in order.

IdP APIs are latency bound; a snapshot of 100,000 users is mostly waiting. These helpers keep
a small, fixed number of requests running while the caller sees the same ordered stream as
from sequential code, and they cancel what is still running when the caller stops early.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sized
from typing import Any, TypeVar

T = TypeVar("T")
P = TypeVar("P", bound=Sized)
_END = object()


async def offset_pages(
    fetch: Callable[[int], Awaitable[P]], *, size: int, ahead: int
) -> AsyncIterator[P]:
    """Pages at offsets 0, size, 2·size … with up to `ahead` requests in flight.

    The first page is asked for alone (bad credentials or a missing role fail once, not
    `ahead` times); after each full page the window is topped up before the page is handed
    on. Ends after the first short page, cancelling requests already sent past it.
    """
    pending: deque[asyncio.Future[P]] = deque()
    offset = 0

    def launch() -> None:
        nonlocal offset
        pending.append(asyncio.ensure_future(fetch(offset)))
        offset += size

    try:
        launch()
        while True:
            page = await pending.popleft()
            if len(page) < size:
                yield page
                return
            while len(pending) < max(1, ahead):
                launch()
            yield page
    finally:
        await _cancel(pending)


async def ordered_streams(
    sources: Iterable[T],
    stream: Callable[[T], AsyncIterator[Any]],
    *,
    window: int,
    buffer: int = 4,
) -> AsyncIterator[Any]:
    """Items of `stream(s)` for each source in order, each stream's items kept together.

    Up to `window` streams run at once, each buffering at most `buffer` items, so memory
    stays bounded however long a stream is. The first error raised by a stream is re-raised
    when its turn comes.
    """
    todo = iter(sources)
    running: deque[tuple[asyncio.Queue[Any], asyncio.Task[None]]] = deque()

    async def pump(source: T, queue: asyncio.Queue[Any]) -> None:
        try:
            async for item in stream(source):
                await queue.put(item)
        except Exception as exc:  # handed to the consumer, in order  # noqa: BLE001
            await queue.put(_Failure(exc))
            return
        await queue.put(_END)

    def start_next() -> None:
        for source in todo:
            queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max(1, buffer))
            running.append((queue, asyncio.create_task(pump(source, queue))))
            return

    try:
        for _ in range(max(1, window)):
            start_next()
        while running:
            queue, _task = running[0]
            item = await queue.get()
            if item is _END:
                running.popleft()
                start_next()
            elif isinstance(item, _Failure):
                raise item.error
            else:
                yield item
    finally:
        await _cancel([task for _, task in running])


class _Failure:
    def __init__(self, error: Exception) -> None:
        self.error = error


async def _cancel(futures: Iterable[asyncio.Future[Any]]) -> None:
    waiting = list(futures)
    for future in waiting:
        future.cancel()
    if waiting:
        await asyncio.gather(*waiting, return_exceptions=True)
