"""The publishing outbox: each delivery on its own, back-off, permanent failures, the channel's
own wait, the age limit, a channel that hangs, and two runners at once."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from stadspuls.media.vault import Vault
from stadspuls.publish.outbox import PublishOutbox
from stadspuls.publish.records import MediaItem
from stadspuls.publish.runner import vault_loader
from stadspuls.publish.targets import SendError
from stadspuls.settings import Settings
from tests.publish.conftest import Desk, make_desk

BOTH = ("mastodon", "bluesky")


def outbox(desk: Desk, **media: bytes) -> PublishOutbox:
    return PublishOutbox(desk.service, desk.targets, media.__getitem__, rng=lambda: 0.5)


def states(desk: Desk, publication_id: int | None) -> dict[str, tuple[str, int]]:
    assert publication_id is not None
    return {
        d.target: (d.state, d.attempts)
        for d in desk.service.deliveries(desk.actor("ann"), publication_id)
    }


def test_every_target_gets_it_once_and_the_history_says_so(desk: Desk) -> None:
    published = desk.published(targets=BOTH)
    assert asyncio.run(outbox(desk).send_due()) == {"sent": 2}
    assert asyncio.run(outbox(desk).send_due()) == {}
    assert states(desk, published.id) == {"mastodon": ("sent", 1), "bluesky": ("sent", 1)}
    assert [p for p, _ in desk.targets["mastodon"].sent] == [published.id]
    delivered = [e for e in desk.service.events(desk.actor("ann"), published.id or 0)
                 if e.kind == "delivered"]  # fmt: skip
    assert sorted(str(e.details["target"]) for e in delivered) == ["bluesky", "mastodon"]
    mastodon = next(
        d for d in desk.service.deliveries(desk.actor("ann"), published.id or 0)
        if d.target == "mastodon"
    )  # fmt: skip
    assert mastodon.external_id == f"mastodon-{mastodon.id}"
    assert mastodon.url == f"https://mastodon.example/{mastodon.id}"


def test_a_failing_target_is_retried_with_back_off_and_blocks_no_other(desk: Desk) -> None:
    published = desk.published(targets=BOTH)
    desk.targets["mastodon"].fail = [SendError("502 Bad Gateway"), SendError("503")]
    box = outbox(desk)
    assert asyncio.run(box.send_due()) == {"sent": 1, "retry": 1}
    assert states(desk, published.id) == {"mastodon": ("pending", 1), "bluesky": ("sent", 1)}
    desk.clock.advance(seconds=4.9)  # backoff_min_s 5, jitter factor 1.0 with rng 0.5
    assert asyncio.run(box.send_due()) == {}
    desk.clock.advance(seconds=0.2)
    assert asyncio.run(box.send_due()) == {"retry": 1}
    desk.clock.advance(seconds=9.9)  # doubled: 10 s
    assert asyncio.run(box.send_due()) == {}
    desk.clock.advance(seconds=0.2)
    assert asyncio.run(box.send_due()) == {"sent": 1}
    assert states(desk, published.id)["mastodon"] == ("sent", 3)
    failed = [e for e in desk.service.events(desk.actor("ann"), published.id or 0)
              if e.kind == "delivery_failed"]  # fmt: skip
    assert [(e.details["error"], e.details["final"]) for e in failed] == [
        ("502 Bad Gateway", False),
        ("503", False),
    ]


def test_a_permanent_failure_is_given_up_at_once(desk: Desk) -> None:
    published = desk.published(targets=BOTH)
    desk.targets["bluesky"].fail = [SendError("text too long", permanent=True)]
    assert asyncio.run(outbox(desk).send_due()) == {"sent": 1, "failed": 1}
    assert states(desk, published.id)["bluesky"] == ("failed", 1)
    desk.clock.advance(hours=1)
    assert asyncio.run(outbox(desk).send_due()) == {}
    events = desk.service.events(desk.actor("ann"), published.id or 0)
    (event,) = [e for e in events if e.kind == "delivery_failed"]
    assert event.details == {"target": "bluesky", "error": "text too long", "final": True}


def test_the_channels_own_wait_is_honoured(desk: Desk) -> None:
    published = desk.published(targets=("mastodon",))
    desk.targets["mastodon"].fail = [SendError("429 Too Many Requests", retry_after_s=120)]
    box = outbox(desk)
    assert asyncio.run(box.send_due()) == {"retry": 1}
    (delivery,) = desk.service.deliveries(desk.actor("ann"), published.id or 0)
    assert delivery.next_at == desk.clock() + timedelta(seconds=120)
    desk.clock.advance(seconds=119)
    assert asyncio.run(box.send_due()) == {}
    desk.clock.advance(seconds=1)
    assert asyncio.run(box.send_due()) == {"sent": 1}


def test_given_up_after_the_age_limit(engine: sa.Engine, settings: Settings) -> None:
    desk = make_desk(engine, settings, max_age_hours=1.0, backoff_min_s=600, backoff_max_s=600)
    published = desk.published(targets=("mastodon",))
    desk.targets["mastodon"].fail = [SendError("down")] * 3
    box = outbox(desk)
    assert asyncio.run(box.send_due()) == {"retry": 1}
    desk.clock.advance(seconds=600)
    assert asyncio.run(box.send_due()) == {"retry": 1}
    desk.clock.advance(seconds=3000)
    assert asyncio.run(box.send_due()) == {"failed": 1}
    (delivery,) = desk.service.deliveries(desk.actor("ann"), published.id or 0)
    assert delivery.state == "failed"
    assert delivery.last_error is not None
    assert "given up after 1 h" in delivery.last_error


def test_a_hanging_target_times_out_and_the_others_go(
    engine: sa.Engine, settings: Settings
) -> None:
    desk = make_desk(engine, settings, send_timeout_s=0.3)
    published = desk.published(targets=BOTH)
    desk.targets["mastodon"].hang = True
    began = time.monotonic()
    assert asyncio.run(outbox(desk).send_due()) == {"sent": 1, "retry": 1}
    assert time.monotonic() - began < 5
    (error,) = [d.last_error for d in desk.service.deliveries(desk.actor("ann"), published.id or 0)
                if d.target == "mastodon"]  # fmt: skip
    assert error == "no answer within 0.3 s"


def test_the_runner_sends_new_work_while_a_channel_hangs(
    engine: sa.Engine, settings: Settings
) -> None:
    desk = make_desk(engine, settings, send_timeout_s=60.0, poll_s=0.05)
    desk.targets["mastodon"].hang = True
    desk.published(targets=("mastodon",))

    async def scenario() -> float:
        stop = asyncio.Event()
        runner = asyncio.create_task(outbox(desk).run(stop))
        await asyncio.sleep(0.3)  # the mastodon send is under way and hangs
        second = await asyncio.to_thread(desk.published, targets=("bluesky",))
        began = time.monotonic()
        while not desk.targets["bluesky"].sent:
            await asyncio.sleep(0.02)
            assert time.monotonic() - began < 10, "bluesky waited for mastodon"
        assert desk.targets["bluesky"].sent[0][0] == second.id
        took = time.monotonic() - began
        # Stopping waits for the hanging send up to its timeout; this test does not.
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        return took

    assert asyncio.run(scenario()) < 10
    assert desk.targets["mastodon"].sent == []


def test_two_runners_never_send_one_delivery_twice(desk: Desk) -> None:
    ids = [desk.published(targets=BOTH, title=f"Bericht {n}").id or 0 for n in range(10)]
    results = []

    def runner() -> None:
        results.append(asyncio.run(outbox(desk).drain()))

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r["sent"] for r in results) == 20
    for target in desk.targets.values():
        assert sorted(p for p, _ in target.sent) == sorted(ids)
        assert len({d for _, d in target.sent}) == 10


def test_images_are_read_from_the_vault_and_kept_by_its_purge(desk: Desk, tmp_path: Path) -> None:
    image = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100
    sha256 = hashlib.sha256(image).hexdigest()
    vault = Vault(tmp_path / "media")
    received = tmp_path / "upload"
    received.write_bytes(image)
    vault.keep(received, sha256)
    item = MediaItem(sha256=sha256, content_type="image/png", alt="Rookwolk boven de stad")
    desk.published(targets=("mastodon",), media=(item,))
    settings = desk.settings.model_copy(
        update={"inbox": desk.settings.inbox.model_copy(update={"media_dir": vault.root})}
    )
    box = PublishOutbox(desk.service, desk.targets, vault_loader(settings))
    assert asyncio.run(box.send_due()) == {"sent": 1}
    assert desk.targets["mastodon"].media == [image]
    with desk.engine.connect() as conn:
        assert vault.remove_unused(conn, [sha256, "cd" * 32]) == 1
    assert vault.path_of(sha256).exists()
    # An image gone from the vault fails the send for good: no retry brings it back.
    missing = MediaItem(sha256="ef" * 32, content_type="image/png", alt="Kaart")
    gone = desk.published(targets=("mastodon",), media=(missing,), title="Zonder beeld")
    assert asyncio.run(box.send_due()) == {"failed": 1}
    (delivery,) = desk.service.deliveries(desk.actor("ann"), gone.id or 0)
    assert delivery.last_error == f"image {'ef' * 6}… is not in the media vault"


def test_an_unconfigured_target_waits_visibly(desk: Desk) -> None:
    published = desk.published(targets=("news", "mastodon"))
    assert asyncio.run(outbox(desk).send_due()) == {"sent": 1, "retry": 1}
    news = next(
        d for d in desk.service.deliveries(desk.actor("ann"), published.id or 0)
        if d.target == "news"
    )  # fmt: skip
    assert (news.state, news.attempts) == ("pending", 0)
    assert news.last_error == "channel 'news' is not configured"
