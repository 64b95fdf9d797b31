"""Roles and permissions. A role has every permission of the roles below it; re-identification
is granted per user, beside the role, and never implied by it."""

from __future__ import annotations

from stadspuls.records import PERMISSIONS, ROLES, Actor

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"aggregates"}),
    "analyst": frozenset({"aggregates", "posts", "cases", "publish", "callouts"}),
    "admin": frozenset({"aggregates", "posts", "cases", "publish", "approve", "callouts", "admin"}),
}
assert set(ROLE_PERMISSIONS) == set(ROLES)
assert set().union(*ROLE_PERMISSIONS.values()) | {"reidentify"} == set(PERMISSIONS)

# Acts for the system itself (consumers, retention); never the actor of a user's request.
SYSTEM = Actor(user_id=None, username="system", role="admin", via="system")

# The fewest distinct authors an aggregate shown to a viewer may rest on.
MIN_AUTHORS = 5


class Forbidden(PermissionError):
    """The actor lacks the permission an action needs."""

    def __init__(self, actor: Actor, permission: str) -> None:
        super().__init__(f"{actor.username} ({actor.role}) may not: {PERMISSIONS[permission]}")
        self.permission = permission


def allows(actor: Actor, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    if permission == "reidentify":
        return actor.reidentify
    return permission in ROLE_PERMISSIONS.get(actor.role, frozenset())


def check(actor: Actor, permission: str) -> None:
    """Raise `Forbidden` unless `actor` holds `permission`."""
    if not allows(actor, permission):
        raise Forbidden(actor, permission)


def cli_actor(username: str, role: str = "admin", *, reidentify: bool = False) -> Actor:
    """The command line acts with the rights of whoever can read the database and its keys."""
    return Actor(user_id=None, username=username, role=role, reidentify=reidentify, via="cli")
