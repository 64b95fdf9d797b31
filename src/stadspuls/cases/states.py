"""The life of a case: which state changes staff may make, and what the citizen's messages do.

    new ──assign──▶ assigned ──reply──▶ answered ──close──▶ closed
     │                 │  ▲                │
     │                 ▼  │ citizen writes ▼
     └─────────────▶ waiting (for the citizen) ◀──┘

- A case starts "new". Assigning someone makes a new case "assigned"; taking the assignee
  away makes an assigned case "new" again.
- A reply moves the case to "answered" (done unless the citizen writes back) or "waiting"
  (a question to the citizen).
- Staff may set "waiting", "answered" and "closed" from any open state, and "assigned" from
  "waiting" or "answered" when someone is assigned. "new" is never set by hand: it means
  nobody has picked the case up.
- "closed" is final for staff: nothing changes a closed case, except a new message from the
  citizen, which reopens it (as "assigned" when it has an assignee, else "new"), as it
  reopens a waiting or answered case: the retention period then starts again at the next
  closing. A message that answers a case we closed long ago is still part of its story; a
  fresh case would split the conversation.
"""

from __future__ import annotations

from stadspuls.cases.records import CASE_STATES

OPEN_STATES = ("new", "assigned", "waiting", "answered")
# What staff may set by hand, from which states (see the module's picture).
_BY_HAND: dict[str, frozenset[str]] = {
    "assigned": frozenset({"waiting", "answered"}),
    "waiting": frozenset({"new", "assigned", "answered"}),
    "answered": frozenset({"new", "assigned", "waiting"}),
    "closed": frozenset({"new", "assigned", "waiting", "answered"}),
}
REPLY_STATES = ("answered", "waiting")


class CaseStateError(ValueError):
    """A change the case's state does not allow (closing a closed case, replying to a closed
    one); answered 409."""


def check_known(state: str) -> None:
    if state not in CASE_STATES:
        raise ValueError(f"unknown state {state!r}; one of {', '.join(CASE_STATES)}")


def by_hand(current: str, target: str, *, assigned: bool) -> None:
    """Raise CaseStateError unless staff may move a case from `current` to `target`."""
    check_known(target)
    if current == "closed":
        raise CaseStateError("the case is closed; a new message from the citizen reopens it")
    if target == "new":
        raise CaseStateError("'new' is not set by hand; take the assignee away instead")
    if current == target:
        raise CaseStateError(f"the case is {target} already")
    if current not in _BY_HAND[target]:
        raise CaseStateError(f"a case cannot go from {current} to {target}")
    if target == "assigned" and not assigned:
        raise CaseStateError("assign someone first")


def after_assign(current: str, assignee_id: int | None) -> str:
    if current == "closed":
        raise CaseStateError("the case is closed; a new message from the citizen reopens it")
    if current == "new" and assignee_id is not None:
        return "assigned"
    if current == "assigned" and assignee_id is None:
        return "new"
    return current


def after_citizen_message(current: str, assignee_id: int | None) -> str:
    if current in ("waiting", "answered", "closed"):
        return "assigned" if assignee_id is not None else "new"
    return current


def after_reply(current: str, target: str) -> str:
    if current == "closed":
        raise CaseStateError("the case is closed; it cannot be answered")
    if target not in REPLY_STATES:
        raise ValueError(f"after a reply a case is {' or '.join(REPLY_STATES)}, not {target!r}")
    return target
