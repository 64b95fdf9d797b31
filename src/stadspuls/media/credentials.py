"""C2PA content credentials of a photo or video, summarised (read in the decoder process).

A camera or editing app that signs its output (C2PA, "content credentials") says who made the
file, with which tool and what was done to it. Present credentials that validate are a strong
hint the file is what it claims; their absence says nothing (almost no phone signs yet, and
every messenger strips them). Named `credentials`, not `c2pa`, so it never shadows the library.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def summary(path: Path, content_type: str) -> str | None:
    """A JSON summary (issuer, claim generator, title, validation state, actions), or None when
    the file carries no manifest or it cannot be read (logged)."""
    try:
        import c2pa  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - a dependency, but keep the intake working without
        log.warning("c2pa-python is not installed: content credentials are not read")
        return None
    try:
        with path.open("rb") as stream:
            reader = c2pa.Reader.try_create(content_type, stream)
            if reader is None:
                return None
            try:
                store = json.loads(reader.json())
                state = reader.get_validation_state()
            finally:
                reader.close()
    except Exception:
        # A damaged or hostile manifest must not refuse the photo itself: it is only an aid.
        log.warning("cannot read the C2PA manifest", exc_info=True)
        return None
    return json.dumps(_summarise(store, state), ensure_ascii=False, sort_keys=True)


def _summarise(store: dict[str, Any], state: Any) -> dict[str, Any]:
    manifests = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest") or "", {})
    signature = active.get("signature_info") or {}
    generator = active.get("claim_generator") or ""
    if not generator:
        infos = active.get("claim_generator_info") or []
        generator = " ".join(
            f"{info.get('name', '')} {info.get('version', '')}".strip()
            for info in infos
            if isinstance(info, dict)
        )
    actions: list[str] = []
    for assertion in active.get("assertions") or []:
        if isinstance(assertion, dict) and str(assertion.get("label", "")).startswith(
            "c2pa.actions"
        ):
            for action in (assertion.get("data") or {}).get("actions") or []:
                if isinstance(action, dict) and action.get("action"):
                    actions.append(str(action["action"]))
    failures = [
        str(item.get("code", ""))
        for item in store.get("validation_status") or []
        if isinstance(item, dict)
    ]
    state_text = str(state) if state is not None else ("Invalid" if failures else "Valid")
    return {
        "issuer": signature.get("issuer") or signature.get("common_name"),
        "signed_at": signature.get("time"),
        "claim_generator": generator or None,
        "title": active.get("title"),
        "actions": actions,
        "validation_state": state_text,
        # "Valid": signed and unaltered; "Trusted": also by a signer on the trust list.
        "valid": state_text in ("Valid", "Trusted"),
        "trusted": state_text == "Trusted",
        "failures": failures[:10],
        "manifests": len(manifests),
    }
