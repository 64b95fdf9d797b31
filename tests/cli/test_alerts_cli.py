"""`stadspuls alerts …` on a real database: list, show, ack, resolve, rules and deliver."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner

from stadspuls.cli.main import main
from stadspuls.store import alerts as store
from stadspuls.store.database import open_store
from tests.alerts.factories import add_monitor, signal
from tests.alerts.receiver import Receiver
from tests.support.http import serve


def _setup(tmp_path: Path) -> tuple[list[str], dict[str, str], int]:
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = open_store(url)
    monitor = add_monitor(engine)
    with engine.begin() as conn:
        store.record_signals(conn, [signal(monitor, 0), signal(monitor, 2)])
        store.record_signals(conn, [signal(monitor, 3, detector="negative", severity="high")])
    engine.dispose()
    return ["--db", url], {"STADSPULS_KEY_FILE": str(tmp_path / "key")}, monitor


def test_list_show_ack_and_resolve(tmp_path: Path) -> None:
    db, env, _ = _setup(tmp_path)
    runner = CliRunner()
    listed = runner.invoke(main, ["alerts", "list", *db], env=env)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split()[:4] == ["id", "state", "severity", "detector"]
    assert lines[1].split()[:4] == ["2", "open", "high", "negative"]
    assert lines[2].split()[:4] == ["1", "open", "medium", "burst"]
    assert "12 posts in 10 min, 1.5 expected" in lines[2]
    as_json = runner.invoke(main, ["alerts", "list", "--json", "--monitor", "stratumseind", *db])
    assert [json.loads(line)["triggers"] for line in as_json.output.splitlines()] == [1, 2]

    shown = runner.invoke(main, ["alerts", "show", "1", *db], env=env)
    assert shown.exit_code == 0, shown.output
    assert "observed:  12 (expected 1.5)" in shown.output
    assert "terms:     vechtpartij, politie" in shown.output
    assert "opened" in shown.output
    assert "updated" in shown.output

    # The command line acts as the OS login name; an old script's --by is ignored, saying so.
    agent12, agent7 = {**env, "LOGNAME": "agent12"}, {**env, "LOGNAME": "agent7"}
    ack = runner.invoke(main, ["alerts", "ack", "1", "--note", "unit sent", *db], env=agent12)
    assert ack.exit_code == 0, ack.output
    assert ack.output.strip() == "alert 1 acknowledged by agent12"
    twice = runner.invoke(main, ["alerts", "ack", "1", "--by", "agent 99", *db], env=agent7)
    assert twice.exit_code == 1
    assert "--by is ignored; you act as agent7" in twice.output
    assert "acknowledged already by agent12" in twice.output
    noted = runner.invoke(main, ["alerts", "note", "1", "district informed", *db], env=agent7)
    assert noted.output.strip() == "note added to alert 1"
    history = runner.invoke(main, ["alerts", "show", "1", *db], env=env).output
    assert "note by agent7" in history
    assert "note:      district informed" in history
    resolved = runner.invoke(main, ["alerts", "resolve", "2", "--false-alarm", *db], env=agent7)
    assert resolved.output.strip() == "alert 2 false alarm by agent7"
    missing = runner.invoke(main, ["alerts", "resolve", "99", "--by", "agent 7", *db])
    assert missing.exit_code == 1
    assert "no alert 99" in missing.output
    assert "no alert 99" in runner.invoke(main, ["alerts", "show", "99", *db]).output
    states = runner.invoke(main, ["alerts", "list", "--state", "acknowledged", *db]).output
    assert [line.split()[0] for line in states.splitlines()[1:]] == ["1"]


def test_rules_and_deliver(tmp_path: Path) -> None:
    db, env, monitor = _setup(tmp_path)
    secret = tmp_path / "hook.secret"
    secret.write_text("a-long-shared-secret-for-tests")
    runner = CliRunner()
    shown = runner.invoke(main, ["alerts", "rules", "stratumseind", *db], env=env)
    assert shown.exit_code == 0, shown.output
    assert "  burst     on  sensitivity 1 -> live" in shown.output
    receiver = Receiver(b"a-long-shared-secret-for-tests")

    async def scenario() -> list[str]:
        async with serve(receiver) as url:
            hooks = json.dumps([{"name": "politie", "url": f"{url}/h", "secret_file": str(secret)}])
            with_hook = {**env, "STADSPULS_WEBHOOKS": hooks}
            outputs = []
            for args in (
                ["--detector", "burst", "--channel", "live", "--channel", "webhook:brandweer"],
                ["--detector", "burst", "--sensitivity", "2", "--quiet-hours", "23:00-07:00"],
                ["--detector", "burst", "--channel", "live", "--channel", "webhook:politie"],
                ["--detector", "story", "--disable"],
                ["--sensitivity", "2"],
            ):
                result = await asyncio.to_thread(
                    runner.invoke,
                    main,
                    ["alerts", "rules", str(monitor), *args, *db],
                    env=with_hook,
                )
                outputs.append(f"{result.exit_code}|{result.output}")
            engine = open_store(db[1])
            with engine.begin() as conn:
                store.record_signals(conn, [signal(monitor, 0, key="new", severity="high")])
            engine.dispose()
            deliver = await asyncio.to_thread(
                runner.invoke, main, ["alerts", "deliver", *db], env=with_hook
            )
            outputs.append(f"{deliver.exit_code}|{deliver.output}")
            return outputs

    unknown, tuned, hooked, disabled, no_detector, delivered = asyncio.run(scenario())
    assert unknown.startswith("1|")
    assert "no webhook named 'brandweer'" in unknown
    assert "burst     on  sensitivity 2, quiet 23:00-07:00 -> live" in tuned
    assert "burst     on  sensitivity 2, quiet 23:00-07:00 -> live, webhook:politie" in hooked
    assert "story     off sensitivity 1 -> live" in disabled
    assert no_detector.startswith("2|")
    assert "--detector" in no_detector
    assert delivered == "0|delivered 1, to retry 0, given up 0; 0 pending in the outbox\n"
    assert [body["alert"]["key"] for body in receiver.received] == ["new"]
