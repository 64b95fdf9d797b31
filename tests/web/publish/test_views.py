"""The response chart's numbers and the history's words, from the service's records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stadspuls.publish.records import PublicationEvent, ResponseCount
from stadspuls.web.routes.publish_views import any_response, chart_of, history

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_chart_series_line_up_with_the_hours() -> None:
    counts = [
        ResponseCount(hour=T0, replies=3, reposts=1, quotes=2, negative=2, positive=1),
        ResponseCount(hour=T0 + timedelta(hours=1), replies=1, monitor_posts=40),
    ]
    chart = chart_of(counts)
    assert chart["x"] == [T0.timestamp(), T0.timestamp() + 3600]
    assert chart["replies"] == [3.0, 1.0]
    assert chart["reposts"] == [3.0, 0.0]  # reposts and quotes together
    assert chart["negative"] == [2.0, 0.0]
    assert chart["links"] == [0.0, 0.0]
    assert chart["monitor"] == [None, 40.0]
    assert any_response(counts)
    assert not any_response([ResponseCount(hour=T0), ResponseCount(hour=T0, monitor_posts=0)])


def test_history_is_newest_first_with_its_details() -> None:
    events = [
        PublicationEvent(id=1, publication_id=5, at=T0, actor="anna", kind="created"),
        PublicationEvent(
            id=2, publication_id=5, at=T0 + timedelta(minutes=5), actor="chef", kind="rejected",
            details={"reason": "Noem de omleiding."},
        ),
        PublicationEvent(
            id=3, publication_id=5, at=T0 + timedelta(minutes=9), actor="anna", kind="approved",
            details={"crisis": True},
        ),
    ]  # fmt: skip
    told = history(events)
    assert [t["event"].id for t in told] == [3, 2, 1]
    assert told[0]["crisis"] is True
    assert told[1]["extra"] == [("reason", "Noem de omleiding.")]
    assert told[2]["label"] == "created it"
