"""Routing rules of the inbox, in the order they are tried (`position`, lowest first)."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from stadspuls.cases.records import RoutingRule
from stadspuls.records import utcnow
from stadspuls.store.rows import to_us
from stadspuls.store.schema import routing_rules

_encode = msgspec.json.Encoder().encode
_strings = msgspec.json.Decoder(tuple[str, ...]).decode
_LISTS = ("categories", "places", "languages", "kinds")


def _row(row: sa.RowMapping) -> RoutingRule:
    return RoutingRule(
        id=row["id"],
        department_id=row["department_id"],
        position=row["position"],
        name=row["name"],
        query=row["query"],
        categories=_strings(row["categories"]),
        places=_strings(row["places"]),
        languages=_strings(row["languages"]),
        kinds=_strings(row["kinds"]),
        active=bool(row["active"]),
    )


def _next_position(conn: sa.Connection) -> int:
    highest = conn.execute(sa.select(sa.func.max(routing_rules.c.position))).scalar()
    return 1 if highest is None else int(highest) + 1


def save(conn: sa.Connection, rule: RoutingRule) -> RoutingRule:
    """Insert (no id; a position below 1 puts it last) or update (id) a rule."""
    now = to_us(utcnow())
    values: dict[str, object] = {
        "department_id": rule.department_id,
        "name": rule.name,
        "query": rule.query or None,
        "active": rule.active,
        "updated_us": now,
        **{name: _encode(getattr(rule, name)).decode() for name in _LISTS},
    }
    if rule.id is None:
        position = rule.position if rule.position >= 1 else _next_position(conn)
        result = conn.execute(
            routing_rules.insert().values(**values, position=position, created_us=now)
        )
        rule_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    else:
        if rule.position >= 1:
            values["position"] = rule.position
        conn.execute(routing_rules.update().where(routing_rules.c.id == rule.id).values(**values))
        rule_id = rule.id
    found = get(conn, rule_id)
    if found is None:
        raise LookupError(f"no routing rule {rule_id}")
    return found


def get(conn: sa.Connection, rule_id: int) -> RoutingRule | None:
    row = (
        conn.execute(sa.select(routing_rules).where(routing_rules.c.id == rule_id))
        .mappings()
        .first()
    )
    return None if row is None else _row(row)


def list_all(conn: sa.Connection, *, active_only: bool = False) -> list[RoutingRule]:
    query = sa.select(routing_rules).order_by(routing_rules.c.position, routing_rules.c.id)
    if active_only:
        query = query.where(routing_rules.c.active)
    return [_row(row) for row in conn.execute(query).mappings()]


def delete(conn: sa.Connection, rule_id: int) -> bool:
    result = conn.execute(routing_rules.delete().where(routing_rules.c.id == rule_id))
    return result.rowcount > 0


def move(conn: sa.Connection, rule_id: int, steps: int) -> list[RoutingRule]:
    """Move a rule `steps` places later (negative: earlier) and number all rules 1, 2, 3 …
    again; returns the new order."""
    ordered = list_all(conn)
    ids = [rule.id for rule in ordered]
    if rule_id not in ids:
        raise LookupError(f"no routing rule {rule_id}")
    index = ids.index(rule_id)
    ids.insert(max(0, min(len(ids) - 1, index + steps)), ids.pop(index))
    for position, other in enumerate(ids, start=1):
        conn.execute(
            routing_rules.update().where(routing_rules.c.id == other).values(position=position)
        )
    return list_all(conn)
