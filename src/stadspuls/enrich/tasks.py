"""The registry of measurable tasks: `stadspuls eval TASK` and `stadspuls train TASK` look here.

Each entry imports its model module only when the task is run (`lazy`), so a task whose model
is missing fails with a clear error when it is evaluated, never when another task is.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from stadspuls.enrich.evaluation import Predictor, TaskSpec


@dataclass(frozen=True)
class Lazy:
    """A loader that imports `module` and calls its `attribute()` only when the task runs."""

    module: str
    attribute: str = "load_predictor"

    def __call__(self) -> Predictor:
        try:
            mod = importlib.import_module(self.module)
        except ImportError as exc:
            raise RuntimeError(f"the model module {self.module} cannot be imported: {exc}") from exc
        factory = getattr(mod, self.attribute, None)
        if factory is None:
            raise RuntimeError(f"{self.module} has no {self.attribute}()")
        return cast(Predictor, factory())

    def exists(self) -> bool:
        """Whether the module provides the loader (without calling it)."""
        try:
            mod = importlib.import_module(self.module)
        except ImportError:
            return False
        return callable(getattr(mod, self.attribute, None))


def lazy(module: str, attribute: str = "load_predictor") -> Lazy:
    return Lazy(module, attribute)


def restrict_via(predictor: Predictor, labels: Sequence[str]) -> Predictor:
    """Delegate to the predictor's own `restrict(labels)` (see sentiment.SentimentPredictor)."""
    restrict = getattr(predictor, "restrict", None)
    if restrict is None:
        return predictor
    return cast(Predictor, restrict(labels))


def incident_extra_report(
    predictor: Predictor,
    rows: Sequence[Mapping[str, str]],
    texts: Sequence[str],
    gold: Sequence[str],
    mapper: Callable[[str], str | None],
) -> dict[str, object]:
    """Label-set and story-level figures of incident type (crisis.incident_eval_report)."""
    from stadspuls.enrich.crisis import incident_eval_report

    return incident_eval_report(predictor, rows, texts, gold, mapper)


def related_to_crisis(row: Mapping[str, str]) -> bool:
    return row.get("informativeness", "") != "Not related"


TASKS: dict[str, TaskSpec] = {
    "sentiment": TaskSpec(
        name="sentiment",
        load_predictor=lazy("stadspuls.enrich.sentiment"),
        load_accurate=lazy("stadspuls.enrich.sentiment", "load_accurate_predictor"),
        accurate_head="sentiment_nl",
        label_columns=("label", "sentiment"),
        restrict=restrict_via,
        label_map={"negative": ("neg", "negatief"), "positive": ("pos", "positief")},
        train_script="scripts/train_sentiment.py",
        description="negative / neutral / positive (binary files: the two labels present)",
    ),
    "language": TaskSpec(
        name="language",
        load_predictor=lazy("stadspuls.enrich.language"),
        label_columns=("label", "lang", "language"),
        # The identifier is configured with the languages of the file (as a deployment would be
        # with `Settings.languages`).
        restrict=restrict_via,
        description="ISO 639-1 language code",
    ),
    # Crisis tasks (stadspuls.enrich.crisis; one script trains all four, `-- --task NAME` one).
    "incident-type": TaskSpec(
        name="incident-type",
        load_predictor=lazy("stadspuls.enrich.crisis", "load_incident_predictor"),
        load_accurate=lazy("stadspuls.enrich.crisis", "load_accurate_incident_predictor"),
        accurate_head="incident",
        label_columns=("label", "event_type"),
        row_filter=related_to_crisis,  # the type of posts known to be about a crisis
        label_map={
            "fire": ("Wildfire", "Bushfire", "Fire"),
            "flood": ("Floods", "Flood"),
            "storm": ("Typhoon", "Hurricane", "Storm", "Tornado"),
            "explosion": ("Explosion", "Bombings", "Bombing"),
            "shooting/violence": ("Shootings", "Shooting", "violence"),
            "crash/derailment": ("Derailment", "Crash", "Train crash", "crash"),
            "collapse": ("Building collapse",),
            "meteor": ("Meteorite", "Meteor", "other"),  # details of "other", see crisis.py
            "haze": ("Haze", "other"),
            "other": ("Other", "Meteorite", "Haze"),
        },
        train_script="scripts/train_crisis.py",
        description="fire, flood, storm, … (incident.LABELS) of crisis-related posts",
        extra_report=incident_extra_report,
    ),
    "humanitarian": TaskSpec(
        name="humanitarian",
        load_predictor=lazy("stadspuls.enrich.crisis", "load_humanitarian_predictor"),
        load_accurate=lazy("stadspuls.enrich.crisis", "load_accurate_humanitarian_predictor"),
        accurate_head="humanitarian",
        train_script="scripts/train_crisis.py",
        description="the 8 HumAID humanitarian categories",
    ),
    "informativeness": TaskSpec(
        name="informativeness",
        load_predictor=lazy("stadspuls.enrich.crisis", "load_informativeness_predictor"),
        load_accurate=lazy("stadspuls.enrich.crisis", "load_accurate_informativeness_predictor"),
        accurate_head="informativeness",
        label_columns=("label", "informativeness"),
        row_filter=lambda row: row.get("informativeness", "-") not in ("", "Not applicable"),
        label_map={"related not informative": ("Related - but not informative",)},
        train_script="scripts/train_informativeness.py",
        description="related and informative / related not informative / not related",
    ),
    "rumour": TaskSpec(
        name="rumour",
        load_predictor=lazy("stadspuls.enrich.crisis", "load_rumour_predictor"),
        load_accurate=lazy("stadspuls.enrich.crisis", "load_accurate_rumour_predictor"),
        accurate_head="rumour",
        label_map={"non-rumour": ("nonrumour", "non_rumour"), "rumour": ("rumor",)},
        train_script="scripts/train_rumour.py",
        description="rumour / non-rumour (PHEME source tweets)",
    ),
}


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        known = ", ".join(sorted(TASKS))
        raise KeyError(f"unknown task {name!r}; known tasks: {known}") from None


__all__ = ["TASKS", "Lazy", "get_task", "lazy", "related_to_crisis", "restrict_via"]
