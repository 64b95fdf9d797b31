"""The evaluation harness: label mapping, scoring, the report's last line, the CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from stadspuls.cli.eval import eval_command
from stadspuls.cli.train import train_command
from stadspuls.enrich.evaluation import (
    LabelMapper,
    TaskSpec,
    accurate_unavailable,
    default_stage,
    evaluate_file,
    evaluate_rows,
    format_report,
    score,
)
from stadspuls.enrich.tasks import TASKS, get_task, lazy


class Echo:
    """A predictor that answers the first word of each text, upper-cased."""

    def __call__(self, texts: Sequence[str]) -> tuple[list[str], list[float]]:
        return [t.split()[0].upper() for t in texts], [1.0] * len(texts)


def echo_task(**kwargs: object) -> TaskSpec:
    return TaskSpec(name="echo", load_predictor=Echo, **kwargs)  # type: ignore[arg-type]


def test_label_mapper_matches_case_and_punctuation() -> None:
    mapper = LabelMapper(["Not related", "Related and informative"], {"x": ["Not related"]})
    assert mapper("not_related") == "Not related"
    assert mapper("RELATED AND INFORMATIVE") == "Related and informative"
    assert mapper("x") == "Not related"
    assert mapper("unknown") is None


def test_score_macro_f1_over_gold_labels() -> None:
    report = score("t", ["a", "a", "b", "b"], ["a", "b", "b", None], seconds=2.0)
    assert report.accuracy == pytest.approx(0.5)
    by_label = {c.label: c for c in report.classes}
    assert by_label["a"].precision == pytest.approx(1.0)
    assert by_label["a"].recall == pytest.approx(0.5)
    assert by_label["b"].precision == pytest.approx(0.5)
    assert report.macro_f1 == pytest.approx((2 / 3 + 0.5) / 2)
    assert report.posts_per_s == pytest.approx(2.0)


def test_rows_use_aliases_and_row_filter() -> None:
    rows = [
        {"text": "yes one", "event_type": "Yes", "informativeness": "Related"},
        {"text": "no two", "event_type": "no", "informativeness": "Related"},
        {"text": "no three", "event_type": "yes", "informativeness": "Not related"},
    ]
    spec = echo_task(
        label_columns=("label", "event_type"),
        row_filter=lambda r: r["informativeness"] != "Not related",
    )
    report = evaluate_rows(spec, rows)
    assert report.n == 2
    assert report.accuracy == pytest.approx(1.0)


def test_restrict_receives_the_data_labels() -> None:
    seen: list[Sequence[str]] = []

    def restrict(predictor: object, labels: Sequence[str]) -> Echo:
        seen.append(labels)
        return Echo()

    evaluate_rows(echo_task(restrict=restrict), [{"text": "a", "label": "a"}])
    assert seen == [["a"]]


def test_last_line_is_the_json_summary(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("text,label\nyes x,yes\nno y,yes\n", encoding="utf-8")
    out = format_report(evaluate_file(echo_task(), data))
    summary = json.loads(out.splitlines()[-1])
    assert set(summary) == {"task", "stage", "n", "accuracy", "macro_f1", "posts_per_s"}
    assert summary["stage"] == "fast"
    assert summary["n"] == 2
    assert summary["accuracy"] == pytest.approx(0.5)


def test_registry_has_my_tasks_and_lazy_loaders() -> None:
    assert {"sentiment", "language"} <= set(TASKS)
    with pytest.raises(KeyError, match="known tasks"):
        get_task("nope")


def test_eval_cli_on_sentiment(tmp_path: Path) -> None:
    data = tmp_path / "s.csv"
    data.write_text(
        "text,label\n"
        "Wat een prachtige dag in Utrecht!,Positive\n"
        "Wat een vreselijk slecht nieuws,Negative\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(eval_command, ["sentiment", "--data", str(data)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["task"] == "sentiment"
    assert summary["accuracy"] == pytest.approx(1.0)


def test_eval_cli_where_filter(tmp_path: Path) -> None:
    data = tmp_path / "l.csv"
    data.write_text(
        "granularity,lang,text\nsentences,nl,Er is brand in Utrecht\nwords,en,house\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        eval_command, ["language", "--data", str(data), "--where", "granularity=sentences"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["n"] == 1


def test_train_cli_needs_shared_data(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        train_command, ["sentiment", "--data-dir", str(tmp_path / "absent")]
    )
    assert result.exit_code != 0
    assert "shared data not found" in result.output


class Yes:
    """The 'accurate' predictor of the echo task: always "yes"."""

    def __call__(self, texts: Sequence[str]) -> tuple[list[str], list[float]]:
        return ["yes"] * len(texts), [1.0] * len(texts)


def test_the_accurate_stage_is_evaluated_when_asked_and_the_report_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stadspuls.enrich.heads as heads

    data = tmp_path / "d.csv"
    data.write_text("text,label\nyes x,yes\nno y,yes\n", encoding="utf-8")
    spec = echo_task(load_accurate=Yes, accurate_head="echo")
    monkeypatch.setattr(heads, "MODELS", tmp_path)
    with pytest.raises(ValueError, match=r"echo_e5\.npz is not trained"):
        evaluate_file(spec, data, stage="accurate")
    assert default_stage(spec, stage_on=True) == "fast"
    (tmp_path / "echo_e5.npz").write_bytes(b"")  # only its presence counts here
    assert default_stage(spec, stage_on=True) == "accurate"
    assert default_stage(spec, stage_on=False) == "fast"
    assert default_stage(echo_task(), stage_on=True) == "fast"  # no accurate stage at all
    fast = evaluate_file(spec, data)
    accurate = evaluate_file(spec, data, stage="accurate")
    assert (fast.stage, fast.accuracy) == ("fast", 0.5)  # the first word: "yes", "no"
    assert (accurate.stage, accurate.accuracy) == ("accurate", 1.0)
    assert json.loads(format_report(accurate).splitlines()[-1])["stage"] == "accurate"


def test_a_loader_not_written_yet_falls_back_to_fast_with_a_reason() -> None:
    spec = echo_task(
        load_accurate=lazy("stadspuls.enrich.crisis", "load_accurate_nothing"),
        accurate_head="incident",
    )
    assert (
        accurate_unavailable(spec) == "stadspuls.enrich.crisis has no load_accurate_nothing() yet"
    )
    assert default_stage(spec, stage_on=True) == "fast"
    assert accurate_unavailable(get_task("language")) == "language has no accurate stage"


def test_eval_cli_stage_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "s.csv"
    data.write_text(
        "text,label\n"
        "Wat een prachtige dag in Utrecht!,Positive\n"
        "Wat een vreselijk slecht nieuws,Negative\n",
        encoding="utf-8",
    )
    args = ["sentiment", "--data", str(data)]
    # The stage off (as in every test): the default is the door's model.
    result = CliRunner().invoke(eval_command, args)
    assert json.loads(result.output.strip().splitlines()[-1])["stage"] == "fast"
    # On, for a task whose accurate loader or head is missing: fast, and why.
    monkeypatch.setenv("STADSPULS_ACCURATE__ENABLED", "true")
    spec = echo_task(load_accurate=lazy("stadspuls.enrich.crisis", "load_accurate_nothing"))
    monkeypatch.setitem(TASKS, "sentiment", replace(spec, name="sentiment", accurate_head="x"))
    result = CliRunner().invoke(eval_command, args)
    assert result.exit_code == 0, result.output
    assert "evaluating the fast stage: the accurate stage of sentiment: " in result.output
    assert json.loads(result.output.strip().splitlines()[-1])["stage"] == "fast"
    result = CliRunner().invoke(eval_command, [*args, "--stage", "accurate"])
    assert result.exit_code != 0
    assert "has no load_accurate_nothing() yet" in result.output


def test_eval_incident_type_reports_label_sets_and_story_level_figures(tmp_path: Path) -> None:
    data = tmp_path / "incidents.csv"
    lines = ["event,event_type,created_at,informativeness,text"]
    refinery = [
        "Huge explosion at the refinery, fire still burning",
        "Explosion at the oil refinery heard for miles, flames everywhere",
        "Blast at the refinery: several dead after the explosion and fire",
    ]
    flood = [
        "River burst its banks, streets flooded after the storm",
        "Flood water rising in the town centre, evacuations under way",
        "Houses under water after heavy rain, flooding everywhere",
    ]
    for event, kind, texts in (("r", "Explosion", refinery), ("f", "Floods", flood)):
        for i, text in enumerate(texts):
            lines.append(
                f"{event},{kind},2013-08-25T0{i}:00:00+00:00,Related and informative,{text}"
            )
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        eval_command, ["incident-type", "--data", str(data), "--stage", "fast"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["n"] == 6
    assert summary["story_event_n"] == 2
    assert summary["story_event_accuracy"] == pytest.approx(1.0)
    assert summary["set_recall"] >= 0.8  # the event's type is among most posts' types
    # the refinery posts name the fire too: some post carries more than one type
    assert summary["mean_types_per_post"] > 1.0
