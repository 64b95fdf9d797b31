"""`stadspuls eval bursts`: a small crisis file written here, and the real CrisisLexT26 sample."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from stadspuls.cli.eval import eval_command
from stadspuls.detect.evaluation import keyword_query, surge_onset
from stadspuls.query.parser import parse
from tests.conftest import shared_data_path

T0 = datetime(2013, 4, 17, tzinfo=UTC)


def crisis_file(folder: Path) -> Path:
    """Two events: a day of sparse chatter each, then a surge of the first one at 20:00 on the
    second day; the second event's chatter is background."""
    rows: list[tuple[str, datetime, str]] = []
    for i in range(24):
        rows.append(("explosion", T0 + timedelta(hours=i, minutes=11), f"west texas news {i}"))
        rows.append(("floods", T0 + timedelta(hours=i, minutes=37), f"#abflood river level {i}"))
    surge = T0 + timedelta(hours=44)
    for i in range(60):
        text = f"huge fertilizer plant explosion in west texas #westexplosion {i}"
        rows.append(("explosion", surge + timedelta(minutes=i), text))
    path = folder / "crisis.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event", "created_at", "text"])
        for event, at, text in rows:
            writer.writerow([event, at.isoformat(), text])
    events = {
        "explosion": {"keywords": ["#westexplosion", "west explosion", "texas explosion"]},
        "floods": {"keywords": ["#abflood", "alberta flood"]},
    }
    (folder / "events.json").write_text(json.dumps(events), encoding="utf-8")
    return path


def test_keywords_become_one_valid_query() -> None:
    query = keyword_query(["#COfire", "colorado fire", "#sg #haze", 'say "hi"', "#COfire"])
    assert query == '#COfire OR "colorado fire" OR (#sg #haze) OR "say hi"'
    parse(query)


def test_the_onset_is_the_first_hour_at_a_tenth_of_the_peak() -> None:
    times = [T0 + timedelta(minutes=5)] * 2 + [T0 + timedelta(hours=3)] * 4
    times += [T0 + timedelta(hours=5)] * 40
    assert surge_onset(times) == T0 + timedelta(hours=3)


def test_eval_bursts_reports_each_event_and_one_json_line(tmp_path: Path) -> None:
    data = crisis_file(tmp_path)
    result = CliRunner().invoke(eval_command, ["bursts", "--data", str(data)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    last = json.loads(lines[-1])
    assert last["events"] == 1  # the floods' chatter never surges: nothing to detect
    assert last["detected"] == 1
    assert 0 <= last["median_delay_h"] < 0.5
    assert last["false_alerts_per_day"] == 0
    assert any(line.startswith("floods") and "no surge" in line for line in lines)


def test_eval_bursts_without_events_json_is_one_clear_error(tmp_path: Path) -> None:
    data = crisis_file(tmp_path)
    (tmp_path / "events.json").unlink()
    result = CliRunner().invoke(eval_command, ["bursts", "--data", str(data)])
    assert result.exit_code == 1
    assert "events.json is missing" in result.output


@pytest.mark.shared_data
def test_crisislext26_surges_are_detected_without_dozens_of_alerts() -> None:
    data = shared_data_path("crisis_crisislext26", "dev.csv")
    result = CliRunner().invoke(eval_command, ["bursts", "--data", str(data)])
    assert result.exit_code == 0, result.output
    last = json.loads(result.output.strip().splitlines()[-1])
    assert last["events"] == 18
    # guards against a regression of the figures in the README, not the figures themselves
    assert last["detected"] >= 15
    assert last["alerts_per_event"] < 6
