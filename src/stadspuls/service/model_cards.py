"""Reading the model cards shipped beside the models (`enrich/models/MODEL_CARD_*.md`) into what
a DPIA and the Algoritmeregister ask. Two layouts exist: the crisis classifiers' cards (a list of
`- **Field**: value` lines, a `## Metrics` JSON block, `## Notes`) and the hand-written ones
(`## What it is`, `## Data …`, a metrics table, `## Limits`); both are read as they are."""

from __future__ import annotations

import json
import re
from pathlib import Path

from stadspuls.service.views import ModelEntry

CARDS = Path(__file__).resolve().parents[1] / "enrich" / "models"
NOT_STATED = "not stated in the model card"
# No card states how people oversee the model's output; this is how Stadspuls uses every model.
HUMAN_OVERSIGHT = (
    "The label only sorts and counts posts; it decides nothing about a person. Alerts built on "
    "it reach an operator, who acknowledges, resolves or marks them as a false alarm; the "
    "posts behind every number stay readable to analysts."
)
_FIELD = re.compile(r"^- \*\*(?P<key>[^*]+)\*\*:\s*(?P<value>.+)$")
_JSON_BLOCK = re.compile(r"```json\n(?P<body>.*?)\n```", re.DOTALL)
_METRICS_CAP = 12  # a card's headline figures, not every per-event number


def _sections(text: str) -> tuple[str, dict[str, str]]:
    """(title, {heading: body}) of a markdown card; text before the first `##` is under ""."""
    title = ""
    current = ""
    parts: dict[str, list[str]] = {"": []}
    for line in text.splitlines():
        if line.startswith("# ") and not title:
            title = line[2:].strip()
        elif line.startswith("## "):
            current = line[3:].strip()
            parts[current] = []
        else:
            parts[current].append(line)
    return title, {k: "\n".join(v).strip() for k, v in parts.items()}


def _section(sections: dict[str, str], *prefixes: str) -> str:
    for heading, body in sections.items():
        if heading and heading.lower().startswith(prefixes) and body:
            return body
    return ""


def _paragraph(body: str) -> str:
    """The first paragraph, joined onto one line; a table's rows as "cell, cell; …"."""
    first = body.split("\n\n", 1)[0]
    if first.startswith("|"):
        rows = [line.strip("|").split("|") for line in first.splitlines()[2:]]
        return "; ".join(", ".join(c.strip() for c in row if c.strip()) for row in rows)
    # Code spans (`name`) are markdown, not what a reader of a register should see.
    return " ".join(first.replace("`", "").split())


def _json_metrics(body: str) -> dict[str, str]:
    match = _JSON_BLOCK.search(body)
    if match is None:
        return {}
    data = json.loads(match["body"])
    return {
        key: f"{value:.3f}" if isinstance(value, float) else str(value)
        for key, value in data.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def _table_metrics(body: str) -> dict[str, str]:
    """The first table: "<row> / <column>" -> cell, for every filled cell."""
    rows = [line for line in body.splitlines() if line.startswith("|")]
    if len(rows) < 3:
        return {}
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    out: dict[str, str] = {}
    for row in rows[2:]:
        cells = [c.strip().strip("*") for c in row.strip("|").split("|")]
        for name, cell in zip(header[1:], cells[1:], strict=False):
            if cell:
                out[f"{cells[0]} / {name}"] = cell
    return out


def read_card(path: Path) -> ModelEntry:
    title, sections = _sections(path.read_text(encoding="utf-8"))
    fields = {
        m["key"].strip(): m["value"].strip()
        for line in sections[""].splitlines()
        if (m := _FIELD.match(line))
    }
    what = _paragraph(_section(sections, "what it is"))
    metrics_body = _section(sections, "metrics", "measured")
    metrics = _json_metrics(metrics_body) or _table_metrics(metrics_body)
    data = fields.get("Data") or _paragraph(_section(sections, "data", "artefact"))
    if licence := fields.get("Data licence"):
        data = f"{data} (licence: {licence})"
    limits = _section(sections, "limits", "notes")
    return ModelEntry(
        name=title.removeprefix("Model card:").strip() or path.stem,
        purpose=(f"Sets the label: {fields['Labels']}" if "Labels" in fields else what)
        or NOT_STATED,
        kind=fields.get("Model") or what or NOT_STATED,
        training_data=data or NOT_STATED,
        metrics=dict(list(metrics.items())[:_METRICS_CAP]),
        limitations=" ".join(limits.split()) or NOT_STATED,
        human_oversight=HUMAN_OVERSIGHT,
        card_path=f"src/stadspuls/enrich/models/{path.name}",
    )


def shipped(path: Path) -> bool:
    """A card kept for a model that was trained and compared but not shipped (its title says
    "not shipped", e.g. the incident type's e5 head) describes no model in use."""
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    return "not shipped" not in first.lower()


def read_cards(folder: Path = CARDS) -> list[ModelEntry]:
    """The cards of the models in use."""
    return [read_card(path) for path in sorted(folder.glob("MODEL_CARD_*.md")) if shipped(path)]
