"""Deterministic fake directories (users, groups, memberships) for the IdP simulators.

IdP-neutral: each simulator turns these records into its own wire format. The same arguments
always give the same directory, so demos, tests and benchmarks are reproducible. Nothing here
knows about HTTP or any IdP's representations.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

_FIRST_NAMES_TEXT = (
    "James,Mary,Robert,Patricia,John,Jennifer,Michael,Linda,David,Elizabeth,William,Barbara,"
    "Richard,Susan,Joseph,Jessica,Thomas,Sarah,Charles,Karen,Daniel,Lisa,Matthew,Nancy,Anthony,"
    "Betty,Mark,Sandra,Steven,Ashley,Paul,Emily,Andrew,Donna,Joshua,Michelle,Kevin,Carol,Brian,"
    "Amanda,George,Melissa,Timothy,Deborah,Ronald,Stephanie,Jason,Rebecca,Ryan,Laura,Jacob,Helen,"
    "Gary,Sharon,Nicholas,Cynthia,Eric,Kathleen,Jonathan,Amy,Wei,Mei,Hiroshi,Yuki,Aarav,Priya,"
    "Arjun,Ananya,Mohammed,Fatima,Omar,Aisha,Ngozi,Chinedu,Kwame,Amara,Olga,Dmitri,Ivan,Svetlana,"
    "Lars,Ingrid,Sven,Astrid,Pierre,Camille,Luca,Giulia,Marco,Sofia,Hans,Greta,Jan,Anna,Pedro,"
    "Lucia,Diego,Carmen,Mateo,Valentina,José,Zoë,Björn,Siobhán,François,Łukasz,Søren,Renée,Noël,"
    "Inés,Jürgen,Ahmet,Elif,Thảo,Minh"
)
FIRST_NAMES = tuple(_FIRST_NAMES_TEXT.split(","))

_LAST_NAMES_TEXT = (
    "Smith,Johnson,Williams,Brown,Jones,Miller,Davis,Wilson,Anderson,Taylor,Thomas,Moore,Jackson,"
    "Martin,Lee,Thompson,White,Harris,Clark,Lewis,Robinson,Walker,Young,Allen,King,Wright,Scott,"
    "Hill,Green,Adams,Baker,Nelson,Carter,Mitchell,Roberts,Turner,Phillips,Campbell,Parker,Evans,"
    "Edwards,Collins,Stewart,Morris,Rogers,Reed,Cook,Morgan,Bell,Murphy,Bailey,Cooper,Richardson,"
    "Cox,Howard,Ward,Peterson,Gray,James,Watson,Brooks,Kelly,Sanders,Price,Bennett,Wood,Barnes,"
    "Ross,Henderson,Coleman,Jenkins,Perry,Powell,Long,Patterson,Hughes,Flores,Washington,Butler,"
    "Simmons,Foster,Bryant,Russell,Griffin,Hayes,Myers,Ford,Hamilton,Graham,Sullivan,Wallace,"
    "West,Cole,Jordan,Reynolds,Fisher,Ellis,Chen,Wang,Li,Zhang,Liu,Tanaka,Suzuki,Sato,Kim,Park,"
    "Nguyen,Tran,Patel,Shah,Singh,Kumar,Gupta,Khan,Ali,Hassan,Okafor,Mensah,Adeyemi,Ivanova,"
    "Petrov,Novak,Kowalski,Nowak,Jensen,Hansen,Larsen,Nilsson,Lindqvist,Dubois,Moreau,Lefèvre,"
    "Rossi,Bianchi,Ferrari,Müller,Schmidt,Schneider,Fischer,Weber,García,Martínez,López,González,"
    "Rodríguez,Fernández,Pérez,Silva,Santos,Oliveira,Costa,Yılmaz,Öztürk,Kaya,O'Brien,O'Connor,"
    "van der Berg,de la Cruz,Smith-Jones,MacDonald"
)
LAST_NAMES = tuple(_LAST_NAMES_TEXT.split(","))

_DEPARTMENTS_TEXT = (
    "Engineering,Sales,Marketing,Finance,Human Resources,IT,Legal,Support,Product,Operations"
)
DEPARTMENTS = tuple(_DEPARTMENTS_TEXT.split(","))
_TITLES_TEXT = (
    "Engineer,Senior Engineer,Staff Engineer,Manager,Director,Analyst,Specialist,Coordinator,"
    "Consultant,Designer,Account Executive,Support Agent"
)
TITLES = tuple(_TITLES_TEXT.split(","))
LOCATIONS = ("Berlin", "London", "New York", "Austin", "Singapore", "Sydney", "São Paulo", "Tokyo")
EMAIL_DOMAINS = ("example.com", "example.com", "example.com", "corp.example.org")

# Parents come before their children; names with spaces or capitals exercise group mapping.
_GROUP_TREE: tuple[tuple[str, str | None], ...] = (
    ("all-staff", None),
    ("eng", None),
    ("eng-platform", "eng"),
    ("eng-payments", "eng"),
    ("eng-mobile", "eng"),
    ("eng-platform-oncall", "eng-platform"),
    ("Marketing Team", None),
    ("sales", None),
    ("sales-emea", "sales"),
    ("sales-amer", "sales"),
    ("QA Leads", None),
    ("finance", None),
    ("hr", None),
    ("it-helpdesk", None),
    ("Data Science", None),
    ("legal", None),
    ("support-tier1", None),
    ("support-tier2", None),
    ("product-design", None),
    ("product-research", None),
    ("security", None),
    ("sre", None),
)
_GROUP_STEMS_TEXT = (
    "eng-web,eng-data,eng-infra,eng-ml,sales-apac,sales-ops,marketing-brand,marketing-growth,"
    "marketing-events,finance-ap,finance-ar,finance-fpa,hr-recruiting,hr-people-ops,it-infra,"
    "it-endpoints,legal-contracts,support-escalations,product-analytics,ops-facilities,"
    "ops-procurement,data-platform,data-governance,exec-staff"
)
_GROUP_STEMS = tuple(_GROUP_STEMS_TEXT.split(","))
_REGIONS = ("emea", "amer", "apac", "latam", "anz", "dach", "nordics", "uki")

_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)
_EPOCH_2019_MS = 1_546_300_800_000
_FIVE_YEARS_MS = 5 * 365 * 24 * 3600 * 1000


@dataclass(slots=True)
class DirectoryUser:
    id: str
    username: str
    """Lower-case login, unique in the directory."""
    email: str
    first_name: str
    last_name: str
    enabled: bool = True
    email_verified: bool = True
    created_ms: int = 0
    """Creation time, epoch milliseconds."""
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class DirectoryGroup:
    id: str
    name: str
    parent_id: str | None = None
    members: set[str] = field(default_factory=set)
    """Ids of the users that are direct members."""
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Directory:
    users: dict[str, DirectoryUser] = field(default_factory=dict)
    """By id, in generation order."""
    groups: dict[str, DirectoryGroup] = field(default_factory=dict)
    """By id; a parent always comes before its children."""

    def membership_count(self) -> int:
        return sum(len(g.members) for g in self.groups.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form: what a demo compares the target system against."""
        return {
            "users": [
                {
                    "id": u.id,
                    "username": u.username,
                    "email": u.email,
                    "first_name": u.first_name,
                    "last_name": u.last_name,
                    "enabled": u.enabled,
                    "email_verified": u.email_verified,
                    "created_ms": u.created_ms,
                    "attributes": dict(u.attributes),
                }
                for u in self.users.values()
            ],
            "groups": [
                {
                    "id": g.id,
                    "name": g.name,
                    "parent_id": g.parent_id,
                    "attributes": dict(g.attributes),
                }
                for g in self.groups.values()
            ],
            "memberships": {g.id: sorted(g.members) for g in self.groups.values()},
        }


def login_part(name: str) -> str:
    """ASCII, lower-case, letters and digits only: "Siobhán" -> "siobhan", "O'Brien" -> "obrien"."""
    folded = unicodedata.normalize("NFKD", name.replace("Ł", "L").replace("ł", "l"))
    return "".join(c for c in folded.lower() if c.isascii() and c.isalnum())


def _uuid(rng: random.Random) -> str:
    """A random (version 4) UUID drawn from `rng`, formatted as `uuid.UUID` would."""
    n = (rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _pick(rng: random.Random, options: Sequence[T]) -> T:
    # random.choice is several times slower; this matters at 100,000 users.
    return options[int(rng.random() * len(options))]


def _sample(rng: random.Random, population: list[str], k: int) -> set[str]:
    n = len(population)
    if k * 3 > n:
        return set(rng.sample(population, k))
    picked: set[str] = set()
    while len(picked) < k:
        picked.add(population[int(rng.random() * n)])
    return picked


def generate_directory(users: int, groups: int, memberships: int, seed: int) -> Directory:
    """A directory of `users` users, `groups` groups and about `memberships` memberships."""
    if min(users, groups, memberships) < 0:
        raise ValueError("users, groups and memberships must not be negative")
    rng = random.Random(seed)
    directory = Directory()
    user_ids = _generate_users(directory, users, rng)
    group_ids = _generate_groups(directory, groups, rng)
    _assign_memberships(directory, user_ids, group_ids, memberships, rng)
    return directory


def _generate_users(directory: Directory, count: int, rng: random.Random) -> list[str]:
    firsts = [(n, login_part(n)) for n in FIRST_NAMES]
    lasts = [(n, login_part(n)) for n in LAST_NAMES]
    taken: set[str] = set()
    disabled = set(rng.sample(range(count), min(count, max(2, count // 100))))
    ids: list[str] = []
    for i in range(count):
        first, first_login = _pick(rng, firsts)
        last, last_login = _pick(rng, lasts)
        base = f"{first_login}.{last_login}"
        username = base if base not in taken and rng.random() < 0.3 else ""
        while not username or username in taken:
            username = f"{base}{1 + int(rng.random() * 999)}"
        taken.add(username)
        user = DirectoryUser(
            id=_uuid(rng),
            username=username,
            email=f"{username}@{_pick(rng, EMAIL_DOMAINS)}",
            first_name=first,
            last_name=last,
            enabled=i not in disabled,
            email_verified=rng.random() < 0.95,
            created_ms=_EPOCH_2019_MS + int(rng.random() * _FIVE_YEARS_MS),
            attributes={
                "department": _pick(rng, DEPARTMENTS),
                "title": _pick(rng, TITLES),
                "location": _pick(rng, LOCATIONS),
                "employeeNumber": f"E{100000 + i}",
            },
        )
        directory.users[user.id] = user
        ids.append(user.id)
    return ids


def _group_names(count: int) -> list[tuple[str, str | None]]:
    names: list[tuple[str, str | None]] = list(_GROUP_TREE[:count])
    seen = {name for name, _ in names}
    stems = [s.lower().replace(" ", "-") for s, _ in _GROUP_TREE[1:]] + list(_GROUP_STEMS)
    extra = list(_GROUP_STEMS) + [f"{stem}-{region}" for region in _REGIONS for stem in stems]
    extra += [f"project-{n:04d}" for n in range(1, count + 1)]
    for name in extra:
        if len(names) >= count:
            break
        if name not in seen:
            seen.add(name)
            names.append((name, None))
    return names


def _generate_groups(directory: Directory, count: int, rng: random.Random) -> list[str]:
    by_name: dict[str, str] = {}
    ids: list[str] = []
    for index, (name, parent) in enumerate(_group_names(count)):
        group = DirectoryGroup(
            id=_uuid(rng),
            name=name,
            parent_id=by_name.get(parent) if parent else None,
            attributes={"costCenter": f"CC-{1000 + index}"} if index % 3 == 0 else {},
        )
        by_name[name] = group.id
        directory.groups[group.id] = group
        ids.append(group.id)
    return ids


def _group_sizes(count: int, users: int, total: int, rng: random.Random) -> list[int]:
    """Zipf-like sizes summing to about `total`: the first group is biggest, then random ranks."""
    ranks = list(range(1, count))
    rng.shuffle(ranks)
    weights = [1.0] + [1.0 / (r + 1) for r in ranks]
    sizes = [0] * count
    remaining = min(total, users * count)
    open_groups = set(range(count))
    while remaining > 0 and open_groups:
        weight_sum = sum(weights[i] for i in open_groups)
        granted = 0
        for i in sorted(open_groups):
            share = min(users - sizes[i], max(1, round(remaining * weights[i] / weight_sum)))
            share = min(share, remaining - granted)
            sizes[i] += share
            granted += share
            if sizes[i] >= users:
                open_groups.discard(i)
        remaining -= granted
        if granted == 0:
            break
    return sizes


def _assign_memberships(
    directory: Directory,
    user_ids: list[str],
    group_ids: list[str],
    total: int,
    rng: random.Random,
) -> None:
    if not user_ids or not group_ids:
        return
    sizes = _group_sizes(len(group_ids), len(user_ids), total, rng)
    for group_id, size in zip(group_ids, sizes, strict=True):
        directory.groups[group_id].members = _sample(rng, user_ids, size)
