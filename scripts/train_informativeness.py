"""Train the informativeness models (fast n-gram model and accurate e5 head) with nested selection.

    export STADSPULS_E5_CACHE=/work/e5cache
    nice -n 10 .venv/bin/python scripts/train_informativeness.py [--no-save] [--stages ...]

The procedure of `scripts/train_rumour.py` on CrisisLexT26 `dev.csv`: nested leave-one-event-out
selection over the 18 events minus `selection.HELDOUT_T26`, those four events scored once at the
end, the shipped artefacts trained on all 18. Labels as `stadspuls eval informativeness` reads
them: related and informative / related not informative / not related.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stadspuls.enrich.selection import HELDOUT_T26
from train_rumour import Task, main, read

INFORMATIVENESS = {
    "Related and informative": "related and informative",
    "Related - but not informative": "related not informative",
    "Not related": "not related",
}


def crisislex_task(data: Path) -> Task:
    rows = [
        r
        for r in read(data / "crisis_crisislext26" / "dev.csv")
        if r["informativeness"] in INFORMATIVENESS and r["text"]
    ]
    return Task(
        "informativeness",
        [r["text"] for r in rows],
        [INFORMATIVENESS[r["informativeness"]] for r in rows],
        [r["event"] for r in rows],
        HELDOUT_T26,
        fast_cs=(0.5, 2.0),
        head_cs=(0.5, 2.0),
        head_features=("e5", "e5+cues"),
        avg_fast_cs=(2.0,),  # the fast model's earlier default, fixed a priori
        # Kept small for the shared 2-core machine: 14 outer events x 2 inner folds.
        inner_k=2,
        head_tol=1e-3,
    )


if __name__ == "__main__":
    main(crisislex_task, sys.argv[1:], script="scripts/train_informativeness.py")
