"""The detectors Stadspuls knows: built-ins and those of installed plugins, through one door.

Built-ins are named here explicitly; a plugin adds `name = "package.module:Class"` under the
entry point group `stadspuls.detectors`. A plugin that fails to import is an error, not a
silently missing detector.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from stadspuls.detect.base import Detector

BUILTIN = {
    "burst": "stadspuls.detect.burst:BurstDetector",
    "negative": "stadspuls.detect.negative:NegativeTurnDetector",
    "story": "stadspuls.detect.story:StoryDetector",
    "rumour": "stadspuls.detect.rumour:RumourDetector",
    "p2000": "stadspuls.detect.p2000:P2000TriggerDetector",
}


def available() -> dict[str, str]:
    """name -> "module:Class" of every detector, built-in first."""
    found = dict(BUILTIN)
    for entry in entry_points(group="stadspuls.detectors"):
        if entry.name in found:
            raise ValueError(f"plugin detector {entry.name!r} would replace a built-in one")
        found[entry.name] = entry.value
    return found


def detector_class(name: str) -> type[Detector]:
    try:
        target = available()[name]
    except KeyError:
        known = ", ".join(sorted(available()))
        raise ValueError(f"unknown detector {name!r}; known: {known}") from None
    module, _, attribute = target.partition(":")
    cls = getattr(importlib.import_module(module), attribute)
    if not (isinstance(cls, type) and issubclass(cls, Detector)):
        raise TypeError(f"{target} is not a Detector")
    return cls


def build(name: str) -> Detector:
    return detector_class(name)()
