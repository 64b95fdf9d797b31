"""The evaluation harness: label mapping, scoring, the report's last line, the CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from stadspuls.cli.eval import eval_command
from stadspuls.cli.train import train_command
from stadspuls.enrich.evaluation import (
    LabelMapper,
    TaskSpec,
    evaluate_file,
    evaluate_rows,
    format_report,
    score,
)
from stadspuls.enrich.tasks import TASKS, get_task


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
    assert set(summary) == {"task", "n", "accuracy", "macro_f1", "posts_per_s"}
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
