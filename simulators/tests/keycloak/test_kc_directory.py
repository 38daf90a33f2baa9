"""The IdP-neutral directory generator: deterministic, sized as asked, realistic enough."""

from __future__ import annotations

import re
import time

import pytest

from roster.simulators.directory import generate_directory, login_part


def test_same_seed_gives_identical_directory() -> None:
    first = generate_directory(500, 40, 3000, seed=11)
    second = generate_directory(500, 40, 3000, seed=11)
    assert first.to_dict() == second.to_dict()


def test_other_seed_gives_other_directory() -> None:
    a = generate_directory(200, 20, 1000, seed=1).to_dict()
    b = generate_directory(200, 20, 1000, seed=2).to_dict()
    assert [u["id"] for u in a["users"]] != [u["id"] for u in b["users"]]
    assert a["memberships"] != b["memberships"]


@pytest.mark.parametrize(("users", "groups", "memberships"), [(1000, 50, 5000), (300, 10, 900)])
def test_sizes(users: int, groups: int, memberships: int) -> None:
    directory = generate_directory(users, groups, memberships, seed=1)
    assert len(directory.users) == users
    assert len(directory.groups) == groups
    assert abs(directory.membership_count() - memberships) <= memberships * 0.02


def test_memberships_capped_by_what_is_possible() -> None:
    directory = generate_directory(3, 2, 100, seed=1)
    assert directory.membership_count() == 6


def test_empty_directory() -> None:
    directory = generate_directory(0, 0, 0, seed=1)
    assert directory.to_dict() == {"users": [], "groups": [], "memberships": {}}


def test_users_look_real_and_are_unique() -> None:
    directory = generate_directory(2000, 10, 100, seed=3)
    usernames = [u.username for u in directory.users.values()]
    assert len(set(usernames)) == len(usernames)
    assert all(re.fullmatch(r"[a-z0-9]+\.[a-z0-9]+", name) for name in usernames)
    assert all(u.email.startswith(u.username + "@") for u in directory.users.values())
    assert len({u.id for u in directory.users.values()}) == 2000
    disabled = [u for u in directory.users.values() if not u.enabled]
    assert 2 <= len(disabled) <= 40
    assert any(
        not u.first_name.isascii() or not u.last_name.isascii() for u in directory.users.values()
    )


def test_groups_are_nested_unique_and_uneven() -> None:
    directory = generate_directory(1000, 50, 5000, seed=1)
    groups = list(directory.groups.values())
    assert len({g.name for g in groups}) == 50
    assert any(" " in g.name for g in groups)
    assert any(g.name != g.name.lower() for g in groups)
    nested = [g for g in groups if g.parent_id is not None]
    assert 3 <= len(nested) <= 15
    grandchildren = [g for g in nested if directory.groups[g.parent_id].parent_id]  # type: ignore[index]
    assert grandchildren
    sizes = sorted((len(g.members) for g in groups), reverse=True)
    assert sizes[0] >= 10 * sizes[len(sizes) // 2]
    assert all(m in directory.users for g in groups for m in g.members)


def test_login_part_folds_to_ascii() -> None:
    assert login_part("Siobhán") == "siobhan"
    assert login_part("O'Brien") == "obrien"
    assert login_part("Łukasz") == "lukasz"
    assert login_part("van der Berg") == "vanderberg"


def test_large_directory_is_fast() -> None:
    started = time.perf_counter()
    directory = generate_directory(100_000, 500, 500_000, seed=1)
    elapsed = time.perf_counter() - started
    assert len(directory.users) == 100_000
    assert abs(directory.membership_count() - 500_000) <= 10_000
    assert elapsed < 8, f"took {elapsed:.1f}s (target about 5s)"
