"""The pure snapshot assembler: event order, member chunking, counts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roster.fetcher.core.snapshot import GroupMembers, SnapshotAssembler, SnapshotOrderError
from roster.shared.messages.directory import GroupObserved, IdpGroup, IdpUser, UserObserved
from roster.shared.messages.sync import SyncRequested

REQUEST = SyncRequested(run_id="r1", directory="kc", dry_run=True, trigger="schedule")
G1 = IdpGroup(id="g1", name="one", path="/one")
G2 = IdpGroup(id="g2", name="two", path="/one/two", parent_id="g1")


def chunks_of(events: list[object]) -> list[tuple[str, int, int, bool]]:
    return [
        (e.group.id, len(e.members), e.chunk, e.last_chunk)
        for e in events
        if isinstance(e, GroupObserved)
    ]


def test_started_copies_the_request() -> None:
    started = SnapshotAssembler(REQUEST, member_chunk=10).started()
    assert (started.run_id, started.directory, started.dry_run, started.trigger, started.mode) == (
        "r1",
        "kc",
        True,
        "schedule",
        "full",
    )


@pytest.mark.parametrize(
    ("pages", "chunk", "expected"),
    [
        # (members per page, last?) → (chunk sizes, last flags)
        ([(0, True)], 3, [(0, True)]),
        ([(3, True)], 3, [(3, True)]),
        ([(3, False), (0, True)], 3, [(3, True)]),
        ([(4, True)], 3, [(3, False), (1, True)]),
        ([(2, False), (2, False), (2, True)], 3, [(3, False), (3, True)]),
        ([(7, False), (0, True)], 3, [(3, False), (3, False), (1, True)]),
        ([(6, True)], 3, [(3, False), (3, True)]),
    ],
)
def test_member_pages_are_rechunked(pages, chunk, expected) -> None:
    assembler = SnapshotAssembler(REQUEST, member_chunk=chunk)
    events = []
    counter = 0
    for size, last in pages:
        members = tuple(f"u{counter + i}" for i in range(size))
        counter += size
        events += assembler.feed(GroupMembers(G1, members, last=last))
    got = chunks_of(events)
    assert [(n, last) for _, n, _, last in got] == expected
    assert [c for _, _, c, _ in got] == list(range(len(expected)))
    done = assembler.completed()
    assert (done.groups, done.memberships, done.chunks) == (1, counter, len(expected))


def test_a_full_stream_gives_counts_and_events_in_order() -> None:
    assembler = SnapshotAssembler(REQUEST, member_chunk=2)
    events = []
    for i in range(3):
        events += assembler.feed(IdpUser(subject=f"u{i}", login=f"user{i}"))
    events += assembler.feed(GroupMembers(G1, ("u0", "u1", "u2"), last=True))
    events += assembler.feed(GroupMembers(G2, (), last=True))
    assert [type(e).__name__ for e in events] == ["UserObserved"] * 3 + ["GroupObserved"] * 3
    assert all(e.run_id == "r1" and e.directory == "kc" for e in events)
    assert isinstance(events[0], UserObserved)
    assert events[0].user.login == "user0"
    done = assembler.completed()
    assert (done.users, done.groups, done.memberships, done.chunks) == (3, 2, 3, 3)


def test_a_member_repeated_by_offset_paging_is_sent_once() -> None:
    assembler = SnapshotAssembler(REQUEST, member_chunk=10)
    events = assembler.feed(GroupMembers(G1, ("a", "b"), last=False))
    events += assembler.feed(GroupMembers(G1, ("b", "c"), last=True))
    assert [m for e in events if isinstance(e, GroupObserved) for m in e.members] == ["a", "b", "c"]
    assert assembler.completed().memberships == 3


@pytest.mark.parametrize(
    "pages",
    [
        [GroupMembers(G1, ("a",), last=False), GroupMembers(G2, (), last=True)],
        [GroupMembers(G1, (), last=True), GroupMembers(G1, (), last=True)],
    ],
)
def test_a_broken_stream_is_refused(pages) -> None:
    assembler = SnapshotAssembler(REQUEST, member_chunk=10)
    *good, bad = pages
    for page in good:
        assembler.feed(page)
    with pytest.raises(SnapshotOrderError):
        assembler.feed(bad)


def test_completing_inside_a_group_is_refused() -> None:
    assembler = SnapshotAssembler(REQUEST, member_chunk=10)
    assembler.feed(GroupMembers(G1, ("a",), last=False))
    with pytest.raises(SnapshotOrderError):
        assembler.completed()


@given(
    pages=st.lists(st.integers(min_value=0, max_value=25), min_size=1, max_size=8),
    chunk=st.integers(min_value=1, max_value=12),
)
def test_chunks_carry_every_member_once_in_order(pages: list[int], chunk: int) -> None:
    assembler = SnapshotAssembler(REQUEST, member_chunk=chunk)
    events = []
    members: list[str] = []
    for index, size in enumerate(pages):
        page = tuple(f"m{len(members) + i}" for i in range(size))
        members += page
        events += assembler.feed(GroupMembers(G1, page, last=index == len(pages) - 1))
    observed = [e for e in events if isinstance(e, GroupObserved)]
    assert [m for e in observed for m in e.members] == members
    assert [e.chunk for e in observed] == list(range(len(observed)))
    assert [e.last_chunk for e in observed] == [False] * (len(observed) - 1) + [True]
    assert all(0 < len(e.members) <= chunk for e in observed) or members == []
    assert len(observed) == max(1, -(-len(members) // chunk))
