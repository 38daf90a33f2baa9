"""Bounded read-ahead helpers: order kept, concurrency bounded, errors in turn, clean stop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from roster.fetcher.connectors.streams import offset_pages, ordered_streams


class Pages:
    """A fake paged listing of `total` items that records offsets and peak concurrency."""

    def __init__(self, total: int, size: int) -> None:
        self.total, self.size = total, size
        self.offsets: list[int] = []
        self.active = self.peak = 0

    async def fetch(self, first: int) -> list[int]:
        self.offsets.append(first)
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(random.random() / 1000)
            return list(range(first, min(first + self.size, self.total)))
        finally:
            self.active -= 1


@pytest.mark.parametrize(
    ("total", "ahead"), [(0, 4), (95, 4), (100, 4), (1000, 1), (1000, 4), (37, 10)]
)
async def test_offset_pages_in_order_until_a_short_page(total: int, ahead: int) -> None:
    source = Pages(total, 10)
    items = [i async for page in offset_pages(source.fetch, size=10, ahead=ahead) for i in page]
    assert items == list(range(total))
    assert source.peak <= ahead
    assert source.offsets[0] == 0
    assert len(source.offsets) <= total // 10 + ahead


async def test_offset_pages_probe_first_so_a_failure_is_met_once() -> None:
    calls: list[int] = []

    async def denied(first: int) -> list[int]:
        calls.append(first)
        raise PermissionError("403")

    with pytest.raises(PermissionError):
        [p async for p in offset_pages(denied, size=10, ahead=4)]
    assert calls == [0]


async def test_offset_pages_cancel_what_is_in_flight_when_the_caller_stops() -> None:
    source = Pages(10_000, 10)
    pages = offset_pages(source.fetch, size=10, ahead=4)
    assert await anext(pages) == list(range(10))
    await pages.aclose()
    await asyncio.sleep(0.01)
    assert source.active == 0


async def stream_of(n: int) -> AsyncIterator[tuple[int, int]]:
    for i in range(n):
        await asyncio.sleep(random.random() / 2000)
        yield (n, i)


async def test_ordered_streams_keep_each_stream_together_and_in_source_order() -> None:
    sizes = [3, 0, 7, 1, 12, 5, 0, 2]
    got = [x async for x in ordered_streams(sizes, stream_of, window=3, buffer=2)]
    assert got == [(n, i) for n in sizes for i in range(n)]


async def test_ordered_streams_bound_how_many_run() -> None:
    running = peak = 0

    async def tracked(n: int) -> AsyncIterator[int]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            for i in range(n):
                await asyncio.sleep(0)
                yield i
        finally:
            running -= 1

    assert len([x async for x in ordered_streams([5] * 20, tracked, window=4)]) == 100
    assert peak <= 4


async def test_ordered_streams_raise_a_streams_error_in_its_turn() -> None:
    async def maybe(n: int) -> AsyncIterator[int]:
        if n == 2:
            raise LookupError("second stream broke")
        yield n

    items = ordered_streams([1, 2, 3], maybe, window=3)
    assert await anext(items) == 1, "items before the broken stream still come out"
    with pytest.raises(LookupError, match="second stream broke"):
        await anext(items)
