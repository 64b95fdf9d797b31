"""The selection through the blind cell index equals a brute-force check of every volunteer
(hypothesis draws the volunteers, their radius, skills, hours and calls, and the call-out), on
SQLite and PostgreSQL; and the rules one by one."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from stadspuls.cases.places import distance_km
from stadspuls.sealed import Sealer
from stadspuls.settings import Settings
from stadspuls.store.rows import to_us
from stadspuls.store.schema import callout_targets, callouts, volunteers
from stadspuls.volunteers.cells import FINE_LAT, FINE_LON, fine_cell
from stadspuls.volunteers.records import SKILLS, WeeklySpan
from stadspuls.volunteers.select import Selector, available
from tests.support.volunteers import Seed, add_volunteers

UTRECHT = (52.0907, 5.1214)
# Wednesday 2 December 2026, 23:30 in Amsterdam (UTC+1).
LATE = datetime(2026, 12, 2, 22, 30, tzinfo=UTC)


def _callout(conn: sa.Connection) -> int:
    key = conn.execute(
        sa.insert(callouts).values(
            title="t", message="m", lat=UTRECHT[0], lon=UTRECHT[1], radius_km=5, wanted=30,
            expires_us=1, state="closed", created_by="op", created_us=1,
        )
    ).inserted_primary_key  # fmt: skip
    assert key is not None
    return int(key[0])


def _call(conn: sa.Connection, callout_id: int, volunteer_id: int, at: datetime) -> None:
    conn.execute(
        sa.insert(callout_targets).values(
            callout_id=callout_id, volunteer_id=volunteer_id, rank=1, distance_m=1,
            selected_us=to_us(at),
        )
    )  # fmt: skip


def _clear(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(callout_targets))
        conn.execute(sa.delete(callouts))
        conn.execute(sa.delete(volunteers))


spans = st.builds(
    WeeklySpan,
    weekday=st.integers(0, 6),
    start=st.sampled_from([time(h) for h in (0, 7, 18, 22, 23)]),
    end=st.sampled_from([time(h) for h in (0, 1, 9, 17, 23)]),
)
seeds = st.builds(
    Seed,
    # Most near the point, some tens of km away (the coarse rings), a few beyond every radius.
    lat=st.one_of(
        st.floats(UTRECHT[0] - 0.05, UTRECHT[0] + 0.05),
        st.floats(UTRECHT[0] - 0.6, UTRECHT[0] + 0.6),
    ),
    lon=st.one_of(
        st.floats(UTRECHT[1] - 0.08, UTRECHT[1] + 0.08),
        st.floats(UTRECHT[1] - 0.9, UTRECHT[1] + 0.9),
    ),
    radius_km=st.sampled_from([0.5, 2.0, 5.0, 20.0, 50.0, 50.0, 50.0]),
    skills=st.one_of(
        st.just(SKILLS[:3]),
        st.lists(st.sampled_from(SKILLS[:3]), max_size=3, unique=True).map(tuple),
    ),
    availability=st.one_of(st.just(()), st.lists(spans, max_size=2).map(tuple)),
    state=st.sampled_from(["active"] * 6 + ["paused", "pending"]),
)


@settings(
    max_examples=100,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(seeds, min_size=5, max_size=60),
    radius_km=st.sampled_from([0.5, 3.0, 15.0, 50.0, 50.0]),
    skills=st.one_of(
        st.just(()), st.lists(st.sampled_from(SKILLS[:3]), max_size=2, unique=True).map(tuple)
    ),
    wanted=st.integers(1, 12),
    at=st.sampled_from([LATE, LATE + timedelta(hours=9), LATE + timedelta(days=2, hours=20)]),
    called=st.lists(st.integers(0, 20), max_size=12),
    exclude=st.lists(st.integers(0, 59), max_size=3),
    point=st.tuples(st.floats(-0.02, 0.02), st.floats(-0.03, 0.03)),
)
def test_selection_equals_brute_force(
    engine: sa.Engine,
    settings: Settings,
    people: list[Seed],
    radius_km: float,
    skills: tuple[str, ...],
    wanted: int,
    at: datetime,
    called: list[int],
    exclude: list[int],
    point: tuple[float, float],
) -> None:
    _clear(engine)
    sealer, key = Sealer(os.urandom(32)), os.urandom(32)
    ids = add_volunteers(engine, sealer, key, people)
    used: dict[int, int] = {}  # call-outs per volunteer (one target per call-out)
    recent: dict[int, int] = {}  # of which in the 24 hours before `at`
    with engine.begin() as conn:
        callout_ids = [_callout(conn) for _ in range(4)]
        for n, index in enumerate(called):
            vid = ids[index % len(ids)]
            if used.get(vid, 0) == len(callout_ids):
                continue
            old = n % 3 == 2  # 25 hours ago: does not count
            _call(conn, callout_ids[used.get(vid, 0)], vid, at - timedelta(hours=25 if old else 3))
            used[vid] = used.get(vid, 0) + 1
            if not old:
                recent[vid] = recent.get(vid, 0) + 1
    skip = {ids[i % len(ids)] for i in exclude}
    lat, lon = UTRECHT[0] + point[0], UTRECHT[1] + point[1]
    limit = 2
    tuned = settings.model_copy(
        update={"volunteers": settings.volunteers.model_copy(update={"max_calls_per_day": limit})}
    )

    expected = []
    for vid, seed in zip(ids, people, strict=True):
        km = distance_km(lat, lon, seed.lat, seed.lon)
        if (
            seed.state == "active"
            and vid not in skip
            and set(skills) <= set(seed.skills)
            and available(seed.availability, at)
            and km <= radius_km
            and km <= seed.radius_km
            and recent.get(vid, 0) < limit
        ):
            expected.append((km, vid))
    expected.sort()

    selector = Selector(engine, tuned, sealer=sealer, index_key=key)
    found = selector.select(
        lat=lat, lon=lon, radius_km=radius_km, skills=skills, wanted=wanted, at=at, exclude=skip
    )
    assert [c.volunteer_id for c in found.candidates] == [v for _, v in expected[:wanted]]
    assert [c.distance_m for c in found.candidates] == [
        round(k * 1000) for k, _ in expected[:wanted]
    ]
    assert found.considered <= len(people)
    assert sum(found.excluded.values()) + len(found.candidates) <= found.considered


def test_hours_past_midnight_and_empty_hours() -> None:
    friday_night = WeeklySpan(weekday=4, start=time(22), end=time(6))
    office = WeeklySpan(weekday=0, start=time(9), end=time(17))
    # Friday 4 December 2026 23:00 and Saturday 05:59 local (UTC+1); Saturday 06:00 is not.
    assert available((friday_night,), datetime(2026, 12, 4, 22, 0, tzinfo=UTC))
    assert available((friday_night,), datetime(2026, 12, 5, 4, 59, tzinfo=UTC))
    assert not available((friday_night,), datetime(2026, 12, 5, 5, 0, tzinfo=UTC))
    assert not available((friday_night,), datetime(2026, 12, 4, 20, 59, tzinfo=UTC))
    # Monday 09:00 local in summer is 07:00 UTC (UTC+2).
    assert available((office,), datetime(2026, 6, 1, 7, 0, tzinfo=UTC))
    assert not available((office,), datetime(2026, 6, 1, 6, 59, tzinfo=UTC))
    assert available((), LATE)


def test_rules_one_by_one(engine: sa.Engine, settings: Settings) -> None:
    sealer, key = Sealer(os.urandom(32)), os.urandom(32)
    lat, lon = UTRECHT
    people = [
        Seed(lat=lat + 0.001, lon=lon),  # 0: 111 m, eligible
        Seed(lat=lat + 0.010, lon=lon, radius_km=0.5),  # 1: 1.1 km, own radius too small
        Seed(lat=lat + 0.002, lon=lon, skills=("first_aid",)),  # 2: eligible with a skill
        Seed(lat=lat + 0.003, lon=lon, state="paused"),  # 3
        Seed(lat=lat + 0.004, lon=lon, availability=(WeeklySpan(0, time(9), time(17)),)),  # 4
        Seed(lat=lat + 0.200, lon=lon, radius_km=50),  # 5: 22 km: beyond the call-out's 10 km
        Seed(lat=lat + 0.005, lon=lon),  # 6: called three times today
        Seed(lat=lat + 0.006, lon=lon),  # 7: excluded (already selected)
    ]
    ids = add_volunteers(engine, sealer, key, people)
    with engine.begin() as conn:
        for _ in range(3):
            _call(conn, _callout(conn), ids[6], LATE - timedelta(hours=1))
    selector = Selector(engine, settings, sealer=sealer, index_key=key)
    found = selector.select(
        lat=lat, lon=lon, radius_km=10, skills=(), wanted=30, at=LATE, exclude={ids[7]}
    )
    assert [c.volunteer_id for c in found.candidates] == [ids[0], ids[2]]
    assert found.candidates[0].distance_m == 111
    assert found.excluded == {
        "own_radius": 1, "paused": 1, "hours": 1, "daily_limit": 1, "already_selected": 1,
    }  # fmt: skip
    # The one 22 km away lies in no cell within 10 km: its row was never read.
    assert found.considered == 7
    skilled = selector.select(
        lat=lat, lon=lon, radius_km=10, skills=("first_aid",), wanted=30, at=LATE
    )
    assert [c.volunteer_id for c in skilled.candidates] == [ids[2]]
    assert skilled.candidates[0].skills == ("first_aid",)
    one = selector.select(lat=lat, lon=lon, radius_km=10, skills=(), wanted=1, at=LATE)
    assert [c.volunteer_id for c in one.candidates] == [ids[0]]


def test_a_nearer_volunteer_beyond_the_first_block_wins(
    engine: sa.Engine, settings: Settings
) -> None:
    """The first read (the 3 × 3 block of cells) holds someone at 2 km in its corner; someone
    at 1.6 km lies just outside it: the scan must read on before it answers."""
    sealer, key = Sealer(os.urandom(32)), os.urandom(32)
    ci, cj = fine_cell(*UTRECHT)
    lat, lon = (ci + 0.5) * FINE_LAT, (cj + 0.5) * FINE_LON  # the middle of its cell
    corner = Seed(lat=lat + 1.4 * FINE_LAT, lon=lon + 1.4 * FINE_LON, radius_km=50)
    outside = Seed(lat=lat - 1.6 * FINE_LAT, lon=lon, radius_km=50)
    ids = add_volunteers(engine, sealer, key, [corner, outside])
    selector = Selector(engine, settings, sealer=sealer, index_key=key)
    found = selector.select(lat=lat, lon=lon, radius_km=10, skills=(), wanted=1, at=LATE)
    assert [c.volunteer_id for c in found.candidates] == [ids[1]]
    assert found.considered == 2


class _CountingSealer(Sealer):
    opened = 0

    def open(self, token: str, context: str) -> str:
        self.opened += 1
        return super().open(token, context)


def test_only_nearby_points_are_opened(engine: sa.Engine, settings: Settings) -> None:
    """3,000 volunteers all over the country, 40 within a few hundred metres: a call-out for 5
    reads a few cells and opens a few dozen sealed points, not 3,000."""
    rng = random.Random(7)
    sealer, key = _CountingSealer(os.urandom(32)), os.urandom(32)
    far = [Seed(lat=rng.uniform(50.8, 53.4), lon=rng.uniform(3.6, 7.1)) for _ in range(3000)]
    near = [
        Seed(
            lat=UTRECHT[0] + rng.uniform(-0.003, 0.003), lon=UTRECHT[1] + rng.uniform(-0.004, 0.004)
        )
        for _ in range(40)
    ]
    ids = add_volunteers(engine, sealer, key, far + near)
    sealer.opened = 0
    selector = Selector(engine, settings, sealer=sealer, index_key=key)
    found = selector.select(
        lat=UTRECHT[0], lon=UTRECHT[1], radius_km=50, skills=(), wanted=5, at=LATE
    )
    assert len(found.candidates) == 5
    assert {c.volunteer_id for c in found.candidates} <= set(ids[3000:])
    assert sealer.opened <= found.considered
    assert found.considered < 100
    assert sealer.opened < 100
