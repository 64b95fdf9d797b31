"""`stadspuls inbox …` on a real database: departments, members, rules, templates, calls."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from stadspuls.cli.inbox import parse_hours, parse_question
from stadspuls.cli.main import main
from stadspuls.records import User
from stadspuls.store import users
from stadspuls.store.database import open_store


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.url = f"sqlite:///{tmp_path / 's.db'}"
        self.env = {"STADSPULS_KEY_FILE": str(tmp_path / "key")}
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Result:
        result = self.runner.invoke(main, ["inbox", *args, "--db", self.url], env=self.env)
        if ok:
            assert result.exit_code == 0, result.output
        return result


def test_set_up_an_inbox_on_the_command_line(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    added = cli("department", "add", "afval", "Afval en reiniging",
                "--hours", "mon-fri 08:30-12:00,13:00-17:00", "--hours", "sat 10:00-14:00",
                "--first-response-hours", "4")  # fmt: skip
    assert "Mon–Fri 08:30–12:00, 13:00–17:00; Sat 10:00–14:00" in added.output
    assert "exists" in cli("department", "add", "afval", "Nog eens", ok=False).output
    listed = cli("department", "list").output
    assert "afval\tAfval en reiniging" in listed
    assert "algemeen" in listed  # the fallback, created on first use
    engine = open_store(cli.url)
    users.create_user(engine, User(username="ana", role="analyst"), password_hash=None)
    engine.dispose()
    assert cli("department", "members", "afval", "ana").output.split() == ["ana"]
    assert "no user 'bob'" in cli("department", "members", "afval", "bob", ok=False).output
    bad = cli("rule", "add", "Kapot", "--department", "afval", "--query", "(afval", ok=False)
    assert "query error" in bad.output
    cli("rule", "add", "Afval Eindhoven", "--department", "afval",
        "--query", "afval OR vuilnis", "--place", "Eindhoven")  # fmt: skip
    assert "Afval Eindhoven\t→ afval" in cli("rule", "list").output
    tested = cli("rule", "test", "De vuilnis is niet opgehaald in Eindhoven").output
    assert tested.startswith("afval\tregel 'Afval Eindhoven'")
    elsewhere = cli("rule", "test", "De vuilnis in Groningen").output
    assert elsewhere.startswith("algemeen\tgeen regel paste")
    unknown = cli("template", "add", "x1", "--body", "Hallo {voornaam}", ok=False)
    assert "unknown placeholder {voornaam}" in unknown.output
    saved = cli("template", "add", "parkeren", "--body", "{aanhef}\n\nU mag daar parkeren.")
    assert "awaits review" in saved.output
    own = cli("template", "review", "parkeren", ok=False)
    assert "someone else reviews it" in own.output
    templates = cli("template", "list").output
    assert "ontvangen\tnl\treviewed by stadspuls" in templates
    assert "parkeren\tnl\tawaits review" in templates
    call = cli("call", "add", "brand-stationsstraat", "Getuigen gezocht: brand",
               "--department", "afval", "--starts", "2026-01-01T00:00",
               "--question", "gezien!:text:Wat zag u?",
               "--question", "waar:choice:Waar stond u?:Noord|Zuid")  # fmt: skip
    assert "/oproep/brand-stationsstraat" in call.output
    assert "brand-stationsstraat\topen" in cli("call", "list").output
    refused = cli("call", "add", "x", "Te kort adres", "--department", "afval", ok=False)
    assert "3–80 characters" in refused.output


def test_hours_and_questions_are_parsed_or_refused() -> None:
    week = parse_hours(("mon-wed 09:00-17:00", "sun 18:00-24:00"))
    assert sorted(week) == [0, 1, 2, 6]
    assert week[6][0].end.hour == 0
    question = parse_question("waar!:choice:Waar stond u?:Noord|Zuid")
    assert (question.key, question.required) == ("waar", True)
    assert question.choices == ("Noord", "Zuid")
    for spec in ("maandag 09:00-17:00", "mon 9-17", "mon 25:00-26:00"):
        with pytest.raises(click.BadParameter):
            parse_hours((spec,))
