"""The response to a publication: replies, reposts and links to our messages, found among the
collected posts after the door has pseudonymised them, counted hour by hour beside the monitor
it was about."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from stadspuls.consumers import Driver
from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline, build_consumers
from stadspuls.publish.responses import NAME, build, platform_ids
from stadspuls.records import Monitor, Post
from stadspuls.settings import Settings
from stadspuls.store import publication_deliveries as deliveries
from stadspuls.store.monitors import insert_monitor
from stadspuls.store.rows import to_us
from stadspuls.store.schema import consumers, monitor_buckets, publication_responses
from tests.publish.conftest import Desk, make_desk

OUR_STATUS = "https://social.example/@gemeente/1001"
OUR_RECORD = "at://did:plc:gemeente/app.bsky.feed.post/3kabc"


def test_platform_ids_match_how_the_collectors_name_posts() -> None:
    assert platform_ids("mastodon", "1001", OUR_STATUS) == [
        "mastodon:social.example/users/gemeente/statuses/1001",
        "mastodon:social.example/@gemeente/1001",
    ]
    assert platform_ids("bluesky", OUR_RECORD, None) == ["bluesky:did:plc:gemeente/3kabc"]
    assert platform_ids("webhook:site", "x", "https://example.nl/x") == []


def _sent(desk: Desk, publication_id: int, target: str, external_id: str, url: str) -> None:
    with desk.engine.begin() as conn:
        (delivery,) = [d for d in deliveries.of_publication(conn, publication_id)
                       if d.target == target]  # fmt: skip
        assert deliveries.mark_sent(
            conn, delivery.id, external_id=external_id, url=url, now_us=to_us(desk.clock())
        )


def _post(n: int, desk: Desk, **values: object) -> Post:
    defaults: dict[str, object] = {
        "id": f"mastodon:other.example/users/p{n}/statuses/{n}",
        "source": "mastodon",
        "native_id": str(n),
        "created_at": desk.clock() + timedelta(minutes=10 * n),
        "text": f"Reactie {n}",
        "author": f"p{n}@other.example",
    }
    return Post(**{**defaults, **values})  # type: ignore[arg-type]


def test_replies_reposts_and_links_are_counted_by_the_hour(
    engine: sa.Engine, settings: Settings
) -> None:
    settings = settings.model_copy(
        update={"inbox": settings.inbox.model_copy(update={"public_url": "https://stad.example"})}
    )
    desk = make_desk(engine, settings)
    published = desk.published(targets=("news", "mastodon", "bluesky"))
    assert published.id is not None
    other = desk.published(targets=("mastodon",), title="Iets anders")
    assert other.id is not None
    _sent(desk, published.id, "mastodon", "1001", OUR_STATUS)
    _sent(desk, published.id, "bluesky", OUR_RECORD, "https://bsky.app/profile/gem/post/3kabc")
    _sent(desk, other.id, "mastodon", "1002", "https://social.example/@gemeente/1002")
    posts = [
        _post(
            1,
            desk,
            reply_to="mastodon:social.example/users/gemeente/statuses/1001",
            text="Wat een slecht bericht, waardeloos en te laat!",
        ),
        _post(2, desk, repost_of="mastodon:social.example/users/gemeente/statuses/1001"),
        _post(
            3,
            desk,
            id="bluesky:did:plc:someone/3kxyz",
            source="bluesky",
            native_id="3kxyz",
            repost_of="bluesky:did:plc:gemeente/3kabc",
            author="someone.bsky.social",
        ),
        _post(
            4,
            desk,
            links=(f"https://www.stad.example/nieuws/{published.id}-brand",),
            created_at=desk.clock() + timedelta(hours=2, minutes=5),
        ),
        _post(5, desk, links=("https://bsky.app/profile/gem/post/3kabc",)),
        _post(6, desk, text="Niets met ons te maken", links=("https://nos.nl/artikel/1",)),
        _post(7, desk, reply_to="mastodon:social.example/users/gemeente/statuses/1002"),
        # Written before our message: it cannot be a response to it.
        _post(
            8,
            desk,
            links=(f"https://stad.example/nieuws/{published.id}",),
            created_at=desk.clock() - timedelta(hours=1),
        ),
    ]
    pipeline = Pipeline(engine, build_door(settings))
    pipeline.process(posts)
    pipeline.close()
    consumer = build(engine, settings)  # the keys the door used, read when first needed
    consumer.clock = desk.clock
    driver = Driver(engine, consumer, start="beginning")
    driver.prepare()
    assert driver.step() == 8
    with engine.connect() as conn:
        found = sorted(
            (int(r.publication_id), r.kind) for r in conn.execute(sa.select(publication_responses))
        )
    assert found == sorted(
        [(published.id, "reply"), (published.id, "repost"), (published.id, "repost"),
         (published.id, "link"), (published.id, "quote"), (other.id, "reply")]
    )  # fmt: skip
    # Consumed again from the start (a cursor lost, a crash before it moved): nothing twice.
    with engine.begin() as conn:
        conn.execute(consumers.delete().where(consumers.c.name == NAME))
    again = Driver(engine, consumer, start="beginning")
    again.prepare()
    assert again.step() == 8
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(publication_responses))
        assert count.scalar() == 6

    desk.clock.advance(hours=3)
    hours = desk.service.responses(desk.actor("ann"), published.id)
    assert [h.hour for h in hours[:4]] == [desk.clock() - timedelta(hours=3 - n) for n in range(4)]
    assert (hours[0].replies, hours[0].reposts, hours[0].quotes, hours[0].links) == (1, 2, 1, 0)
    assert hours[2].links == 1
    assert sum(h.negative for h in hours) == 1
    assert hours[0].monitor_posts is None  # no monitor


def test_the_consumer_is_registered(engine: sa.Engine, settings: Settings) -> None:
    group = build_consumers(settings, engine)
    assert NAME in [driver.name for driver in group.drivers]


def test_the_monitors_volume_stands_beside_the_response(desk: Desk) -> None:
    monitor = insert_monitor(
        desk.engine,
        Monitor(name="brand", query="brand", owner="ann", purpose="test",
                legal_basis="public-task", retention_days=30),
    )  # fmt: skip
    assert monitor.id is not None
    hour = to_us(desk.clock())
    with desk.engine.begin() as conn:
        conn.execute(
            monitor_buckets.insert(),
            [
                {"monitor_id": monitor.id, "start_us": hour, "posts": 40, "authors": 30,
                 "negative": 12, "last_us": hour},
                {"monitor_id": monitor.id, "start_us": hour + 3_600_000_000, "posts": 7,
                 "authors": 6, "negative": 1, "last_us": hour + 3_600_000_000},
                # Before publishing: not shown.
                {"monitor_id": monitor.id, "start_us": hour - 3_600_000_000, "posts": 99,
                 "authors": 9, "negative": 9, "last_us": hour - 3_600_000_000},
            ],
        )  # fmt: skip
    published = desk.published(targets=("news",), monitor_id=monitor.id)
    desk.clock.advance(hours=2, minutes=30)
    hours = desk.service.responses(desk.actor("ann"), published.id or 0)
    assert [(h.monitor_posts, h.monitor_negative) for h in hours] == [(40, 12), (7, 1), (0, 0)]
    assert [h.replies for h in hours] == [0, 0, 0]
