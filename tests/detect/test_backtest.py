"""`stadspuls alerts backtest`: a file replayed through a throw-away monitor, on a small P2000
log written here and on the real New Year's Eve messages in ../shared/data."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from stadspuls.cli.backtest import backtest_command
from tests.conftest import shared_data_path

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FIRE = "brand OR buitenbrand OR containerbrand OR br OR gebouwbrand OR voertuigbrand"


def p2000_log(path: Path) -> Path:
    """A day with a fire every two hours, then eight container fires in a quarter of an hour
    at 21:00 local time (20:00 UTC in winter)."""
    start = datetime(2025, 12, 30, 0, 0)
    rows = ["created_at,service,priority,text"]
    for i in range(12):
        at = start + timedelta(hours=2 * i, minutes=7)
        rows.append(f"{at.isoformat()},brandweer,P2,P 2 Buitenbrand afval Dorpsstraat Delft {i}")
    for i in range(8):
        at = start + timedelta(hours=45, minutes=2 * i)
        rows.append(f"{at.isoformat()},brandweer,P2,P 2 Containerbrand Spui Den Haag {i}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def summary(output: str) -> dict[str, object]:
    parsed = json.loads(output.strip().splitlines()[-1])
    assert isinstance(parsed, dict)
    return parsed


def test_a_burst_in_a_p2000_log_is_one_alert_at_local_time(tmp_path: Path) -> None:
    log = p2000_log(tmp_path / "log.csv")
    result = CliRunner().invoke(backtest_command, [str(log), "--query", FIRE])
    assert result.exit_code == 0, result.output
    last = summary(result.output)
    assert last["posts"] == 20
    assert last["alerts"] == 1
    opened = last["opened"]
    assert isinstance(opened, list)
    at = datetime.fromisoformat(opened[0])
    # the log's times are Amsterdam wall-clock: 21:0x local is 20:0x UTC
    assert at.astimezone(AMSTERDAM).hour == 21
    assert "containerbrand" in result.output.lower()


def test_json_format_and_no_alert_for_an_unmatched_query(tmp_path: Path) -> None:
    log = p2000_log(tmp_path / "log.csv")
    result = CliRunner().invoke(
        backtest_command, [str(log), "--query", "overstroming", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert summary(result.output) == {"posts": 20, "alerts": 0, "opened": []}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--query", "(brand"], "--query"),
        (["--query", "brand", "--detector", "nope"], "unknown detector 'nope'"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    log = p2000_log(tmp_path / "log.csv")
    result = CliRunner().invoke(backtest_command, [str(log), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_an_unreadable_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\x00\x01\x02 not a post file")
    result = CliRunner().invoke(backtest_command, [str(bad), "--query", "brand"])
    assert result.exit_code == 1
    assert "bad.bin" in result.output


@pytest.mark.shared_data
def test_new_years_eve_fires_open_an_alert_before_midnight_and_none_after() -> None:
    path = shared_data_path("p2000", "nye_2017_2020_fire.csv")
    result = CliRunner().invoke(backtest_command, [str(path), "--query", FIRE])
    assert result.exit_code == 0, result.output
    times = summary(result.output)["opened"]
    assert isinstance(times, list)
    opened = [datetime.fromisoformat(t).astimezone(AMSTERDAM) for t in times]
    for year in (2017, 2018, 2019):
        midnight = datetime(year + 1, 1, 1, tzinfo=AMSTERDAM)
        evening = [t for t in opened if midnight - timedelta(hours=24) <= t < midnight]
        after = [t for t in opened if midnight <= t < midnight + timedelta(hours=36)]
        assert evening, f"no alert on New Year's Eve {year} before midnight: {opened}"
        assert after == [], f"new alerts during the decline after New Year {year + 1}: {after}"
