"""Words the pages show that come from data, not from a template: marked here with `N_` so the
catalogue test finds them, translated in the template with `_()`."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it here (`N_` is the name the
    gettext extractors look for)."""
    return message


# Keys are `records.LEGAL_BASES`; tests/web/pages/test_monitors_admin.py keeps them in step.
LEGAL_BASIS_LABELS = {
    "public-task": N_("Public task (AVG art. 6(1)(e))"),
    "vital-interest": N_("Vital interest (AVG art. 6(1)(d))"),
    "legitimate-interest": N_("Legitimate interest (AVG art. 6(1)(f))"),
    "police-task": N_("Police task (Wet politiegegevens)"),
}

DETECTOR_LABELS = {
    "burst": N_("Volume burst"),
    "negative": N_("Negative shift"),
    "story": N_("New story"),
    "rumour": N_("Rumour"),
    "p2000": N_("P2000 dispatch"),
}

# Keys are `enrich.incident.LABELS`.
INCIDENT_LABELS = {
    "fire": N_("fire"),
    "flood": N_("flood"),
    "storm": N_("storm"),
    "earthquake": N_("earthquake"),
    "explosion": N_("explosion"),
    "shooting/violence": N_("shooting/violence"),
    "crash/derailment": N_("crash/derailment"),
    "collapse": N_("collapse"),
    "riot/disorder": N_("riot/disorder"),
    "outbreak/health": N_("outbreak/health"),
    "infrastructure outage": N_("infrastructure outage"),
    "other": N_("other"),
    "none": N_("none"),
}
