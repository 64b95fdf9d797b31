"""The publish service: validation, the four-eyes rule and crisis mode, states, scheduling,
templates and the history, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from stadspuls.publish.records import MediaItem, PublishTemplate
from stadspuls.publish.service import PublishError, PublishStateError
from stadspuls.service.errors import Forbidden, NotFound
from stadspuls.settings import Settings
from stadspuls.store.schema import cases, departments, media, publication_events
from tests.publish.conftest import Desk, make_desk

SHA = "ab" * 32


def test_compose_submit_approve_publishes_to_every_target(desk: Desk) -> None:
    ann, chief = desk.actor("ann"), desk.actor("chief", "admin")
    created = desk.service.create(ann, desk.draft(targets=("news", "mastodon", "bluesky")))
    assert created.id is not None
    assert (created.state, created.created_by) == ("draft", "ann")
    assert created.slug == "brand-in-utrecht-sluit-ramen-en-deuren"
    assert desk.service.submit(ann, created.id).state == "pending"
    approved = desk.service.approve(chief, created.id)
    assert (approved.state, approved.approved_by, approved.crisis) == ("published", "chief", False)
    deliveries = desk.service.deliveries(ann, created.id)
    assert sorted((d.target, d.state) for d in deliveries) == [
        ("bluesky", "pending"),
        ("mastodon", "pending"),
        ("news", "pending"),
    ]
    kinds = [e.kind for e in desk.service.events(ann, created.id)]
    assert kinds == ["created", "submitted", "approved", "published"]
    assert [p.id for p in desk.service.published()] == [created.id]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"body": "   "}, "body"),
        ({"title": ""}, "title"),
        ({"targets": ("news", "friendica")}, "targets"),
        ({"targets": ()}, "targets"),
        ({"media": (MediaItem(sha256=SHA, content_type="image/jpeg", alt=" "),)}, "media"),
        ({"media": (MediaItem(sha256="nope", content_type="image/jpeg", alt="x"),)}, "media"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"body": "x" * 501}, "variants.mastodon"),
        ({"variants": {"bluesky": "kort"}}, "variants"),
    ],
)
def test_invalid_drafts_are_refused_with_their_field(
    desk: Desk, values: dict[str, object], field: str
) -> None:
    with pytest.raises(PublishError) as refused:
        desk.service.create(desk.actor("ann"), desk.draft(**values))
    assert refused.value.field == field
    assert desk.service.recent(desk.actor("ann")) == []


def test_a_shorter_variant_makes_a_long_text_fit(desk: Desk) -> None:
    draft = desk.draft(body="x" * 900, variants={"mastodon": "Brand: sluit ramen en deuren."})
    created = desk.service.create(desk.actor("ann"), draft)
    previews = {p.target: p for p in desk.service.preview(created)}
    assert previews["mastodon"].fits
    assert previews["mastodon"].length == 29
    assert previews["news"].length == 900
    assert previews["news"].limit is None
    assert previews["news"].card_url is not None
    assert previews["news"].card_url.endswith(f"/nieuws/{created.id}-{created.slug}")


def test_a_schedule_in_the_past_is_refused(desk: Desk) -> None:
    with pytest.raises(PublishError) as refused:
        desk.service.create(
            desk.actor("ann"), desk.draft(scheduled_at=desk.clock() - timedelta(minutes=1))
        )
    assert refused.value.field == "scheduled_at"


def test_four_eyes_the_author_may_not_approve_their_own(desk: Desk) -> None:
    chief = desk.actor("chief", "admin")
    created = desk.service.create(chief, desk.draft())
    assert created.id is not None
    desk.service.submit(chief, created.id)
    with pytest.raises(PublishStateError, match="four eyes"):
        desk.service.approve(chief, created.id)
    assert desk.service.get(chief, created.id).state == "pending"
    approved = desk.service.approve(desk.actor("boss", "admin"), created.id)
    assert approved.approved_by == "boss"


def test_approving_needs_the_approve_permission(desk: Desk) -> None:
    ann, bob = desk.actor("ann"), desk.actor("bob")
    created = desk.service.create(ann, desk.draft())
    assert created.id is not None
    desk.service.submit(ann, created.id)
    with pytest.raises(Forbidden):
        desk.service.approve(bob, created.id)
    with pytest.raises(Forbidden):
        desk.service.reject(bob, created.id, "nee")
    with pytest.raises(Forbidden):
        desk.service.create(desk.actor("vera", "viewer"), desk.draft())
    # Another analyst may neither cancel nor edit ann's publication.
    with pytest.raises(Forbidden):
        desk.service.cancel(bob, created.id)
    with pytest.raises(Forbidden):
        desk.service.update(bob, created.id, desk.draft(body="Anders."))


def test_crisis_mode_lets_the_author_approve_and_is_logged(desk: Desk) -> None:
    chief = desk.actor("chief", "admin")
    with pytest.raises(Forbidden):
        desk.service.declare_crisis(desk.actor("ann"), "brand", 2)
    with pytest.raises(PublishError) as too_long:
        desk.service.declare_crisis(chief, "brand", 13)
    assert too_long.value.field == "hours"
    crisis = desk.service.declare_crisis(chief, "Grote brand Vaartsche Rijn", 2)
    assert desk.service.crisis() == crisis
    created = desk.service.create(chief, desk.draft())
    assert created.id is not None
    desk.service.submit(chief, created.id)
    approved = desk.service.approve(chief, created.id)
    assert (approved.state, approved.crisis) == ("published", True)
    event = next(e for e in desk.service.events(chief, created.id) if e.kind == "approved")
    assert event.details == {"crisis": True}
    # It expires by itself ...
    desk.clock.advance(hours=2, seconds=1)
    assert desk.service.crisis() is None
    second = desk.service.create(chief, desk.draft())
    assert second.id is not None
    desk.service.submit(chief, second.id)
    with pytest.raises(PublishStateError):
        desk.service.approve(chief, second.id)
    # ... or is ended.
    desk.service.declare_crisis(chief, "Nog steeds brand", 1)
    desk.service.end_crisis(chief)
    assert desk.service.crisis() is None
    with pytest.raises(PublishStateError):
        desk.service.end_crisis(chief)


def test_without_four_eyes_anyone_with_approve_may(engine: sa.Engine, settings: Settings) -> None:
    desk = make_desk(engine, settings, four_eyes=False)
    chief = desk.actor("chief", "admin")
    created = desk.service.create(chief, desk.draft())
    assert created.id is not None
    desk.service.submit(chief, created.id)
    approved = desk.service.approve(chief, created.id)
    assert (approved.state, approved.crisis) == ("published", False)


def test_reject_edit_resubmit(desk: Desk) -> None:
    ann, chief = desk.actor("ann"), desk.actor("chief", "admin")
    created = desk.service.create(ann, desk.draft())
    assert created.id is not None
    desk.service.submit(ann, created.id)
    with pytest.raises(PublishError):
        desk.service.reject(chief, created.id, "  ")
    rejected = desk.service.reject(chief, created.id, "Noem de straat.")
    assert (rejected.state, rejected.rejected_reason) == ("rejected", "Noem de straat.")
    with pytest.raises(PublishStateError):
        desk.service.approve(chief, created.id)
    edited = desk.service.update(
        ann, created.id, desk.draft(title="Brand Vaartsche Rijn 12", body="Sluit ramen.")
    )
    assert (edited.state, edited.slug) == ("draft", "brand-vaartsche-rijn-12")
    desk.service.submit(ann, created.id)
    desk.service.approve(chief, created.id)
    events = desk.service.events(ann, created.id)
    assert [e.kind for e in events] == [
        "created", "submitted", "rejected", "edited", "submitted", "approved", "published",
    ]  # fmt: skip
    assert events[3].details == {"fields": ["title", "body"], "from": "rejected"}
    with pytest.raises(PublishStateError):
        desk.service.update(ann, created.id, desk.draft())
    with pytest.raises(PublishStateError):
        desk.service.cancel(chief, created.id)


def test_the_history_is_append_only(desk: Desk) -> None:
    published = desk.published()
    with pytest.raises(sa.exc.DatabaseError), desk.engine.begin() as conn:
        conn.execute(
            publication_events.update()
            .where(publication_events.c.publication_id == published.id)
            .values(actor="mallory")
        )


def test_scheduled_publications_wait_for_their_time(desk: Desk) -> None:
    ann, chief = desk.actor("ann"), desk.actor("chief", "admin")
    at = desk.clock() + timedelta(hours=2)
    created = desk.service.create(ann, desk.draft(scheduled_at=at))
    assert created.id is not None
    desk.service.submit(ann, created.id)
    approved = desk.service.approve(chief, created.id)
    assert approved.state == "approved"
    assert desk.service.deliveries(ann, created.id) == []
    assert desk.service.release_due() == 0
    desk.clock.advance(hours=2)
    assert desk.service.release_due() == 1
    assert desk.service.release_due() == 0  # once only
    assert desk.service.get(ann, created.id).state == "published"
    assert len(desk.service.deliveries(ann, created.id)) == 2
    kinds = [e.kind for e in desk.service.events(ann, created.id)]
    assert kinds[-3:] == ["approved", "scheduled", "published"]


def test_a_cancelled_schedule_is_never_released(desk: Desk) -> None:
    ann, chief = desk.actor("ann"), desk.actor("chief", "admin")
    created = desk.service.create(
        ann, desk.draft(scheduled_at=desk.clock() + timedelta(minutes=30))
    )
    assert created.id is not None
    desk.service.submit(ann, created.id)
    desk.service.approve(chief, created.id)
    assert desk.service.cancel(ann, created.id).state == "cancelled"
    desk.clock.advance(hours=1)
    assert desk.service.release_due() == 0
    assert desk.service.published() == []


def test_unknown_publication_is_not_found(desk: Desk) -> None:
    with pytest.raises(NotFound):
        desk.service.get(desk.actor("ann"), 999)
    with pytest.raises(PublishError):
        desk.service.recent(desk.actor("ann"), state="nonsense")


def test_templates_fill_placeholders_and_refuse_unknown_ones(desk: Desk) -> None:
    chief, ann = desk.actor("chief", "admin"), desk.actor("ann")
    template = PublishTemplate(
        name="brand",
        title="Brand in {plaats}",
        body="Er is brand in {plaats}. {advies}. Meer: {link}",
    )
    with pytest.raises(Forbidden):
        desk.service.save_template(ann, template)
    with pytest.raises(PublishError, match="unknown placeholder"):
        desk.service.save_template(chief, PublishTemplate(name="x", title="t", body="{naam}"))
    saved = desk.service.save_template(chief, template)
    assert (saved.updated_by, saved.id is not None) == ("chief", True)
    values = {"plaats": "Utrecht", "advies": "Sluit ramen en deuren", "link": "https://x.nl"}
    draft = desk.service.from_template(ann, "brand", values, targets=("news",))
    assert draft.title == "Brand in Utrecht"
    assert draft.body == "Er is brand in Utrecht. Sluit ramen en deuren. Meer: https://x.nl"
    assert draft.template == "brand"
    with pytest.raises(PublishError, match=r"\{advies\}"):
        desk.service.from_template(ann, "brand", {"plaats": "Utrecht", "link": "x"})
    replaced = desk.service.save_template(chief, PublishTemplate(name="brand", title="B", body="b"))
    assert replaced.id == saved.id
    assert [t.body for t in desk.service.templates()] == ["b"]
    desk.service.delete_template(chief, "brand")
    assert desk.service.templates() == []
    with pytest.raises(NotFound):
        desk.service.delete_template(chief, "brand")


def test_a_citizens_photo_is_never_published(desk: Desk) -> None:
    """A photo a citizen sent with a report lies in the same vault; knowing its hash does not
    make it ours to publish."""
    with desk.service.engine.begin() as conn:
        department = conn.execute(
            departments.insert()
            .values(
                slug="wijk", name="Wijk", hours="{}", retention_days=30, created_us=0, updated_us=0
            )
            .returning(departments.c.id)
        ).scalar_one()
        case = conn.execute(
            cases.insert()
            .values(
                channel="web",
                kind="report",
                state="new",
                department_id=department,
                text="Kijk",
                created_us=0,
                updated_us=0,
            )
            .returning(cases.c.id)
        ).scalar_one()
        conn.execute(
            media.insert().values(
                case_id=case, sha256=SHA, size=10, content_type="image/jpeg", received_us=0
            )
        )
    citizens = (MediaItem(sha256=SHA, content_type="image/jpeg", alt="Rook boven de wijk"),)
    with pytest.raises(PublishError) as refused:
        desk.service.create(desk.actor("ann"), desk.draft(media=citizens))
    assert refused.value.field == "media"
    own = (MediaItem(sha256="cd" * 32, content_type="image/jpeg", alt="Rook boven de wijk"),)
    assert desk.service.create(desk.actor("ann"), desk.draft(media=own)).media == own
