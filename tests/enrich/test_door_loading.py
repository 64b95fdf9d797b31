"""Models load only when used: a core door never imports the optional enrichers' modules, and a
full door imports and builds each one with the first batch that reaches it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from pathlib import Path
from stadspuls.enrich.door import build_door
from stadspuls.settings import BlueskySettings, Settings
from tests.factories import make_post

OPTIONAL = ("stadspuls.enrich.crisis", "stadspuls.enrich.sentiment", "stadspuls.enrich.places",
            "sklearn", "scipy")
settings = Settings(
    db_url="sqlite://", key_file=Path(sys.argv[1]), mastodon=[], feeds=[],
    bluesky=BlueskySettings(enabled=False), enrichers=json.loads(sys.argv[2]),
)
door = build_door(settings)
built = sorted(m for m in OPTIONAL if m in sys.modules)
posts = door([make_post(1, "Grote brand in een loods aan de Industrieweg in Lochem")])
used = sorted(m for m in OPTIONAL if m in sys.modules)
print(json.dumps({"built": built, "used": used, "incident": posts[0].incident_type,
                  "sentiment": posts[0].sentiment, "places": len(posts[0].places)}))
"""


def probe(tmp_path: Path, enrichers: list[str]) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "key"), json.dumps(enrichers)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    found: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return found


def test_core_door_never_imports_the_models(tmp_path: Path) -> None:
    found = probe(tmp_path, [])
    assert found["built"] == []
    assert found["used"] == []
    assert found["incident"] is None
    assert found["sentiment"] is None


def test_full_door_loads_the_models_with_the_first_batch(tmp_path: Path) -> None:
    found = probe(tmp_path, ["places", "sentiment", "crisis"])
    assert found["built"] == []  # building the door imported none of them
    used = found["used"]
    assert isinstance(used, list)
    assert {"stadspuls.enrich.crisis", "stadspuls.enrich.sentiment", "sklearn"} <= set(used)
    assert found["incident"] == "fire"
    assert found["sentiment"] is not None
    assert found["places"] == 1


def test_a_door_process_can_be_warmed_up_and_then_enriches(tmp_path: Path) -> None:
    from stadspuls.enrich.worker import DoorProcess
    from stadspuls.settings import BlueskySettings, Settings
    from tests.factories import make_post

    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 's.db'}",
        key_file=tmp_path / "key",
        mastodon=[],
        feeds=[],
        bluesky=BlueskySettings(enabled=False),
        enrichers=["places"],
    )
    with DoorProcess(settings) as door:
        door.warm_up()  # loads the place table in the child; answers when done
        (post,) = door([make_post(1, "Grote brand in een loods aan de Industrieweg in Lochem")])
    assert [place.name for place in post.places] == ["Lochem"]
