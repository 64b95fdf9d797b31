"""`ReadService`: the read service's parts in one object (see the package's docstring)."""

from __future__ import annotations

from stadspuls.service.aggregates import AggregateReads


class ReadService(AggregateReads):
    """Every read of stored data, and every change, with the acting user."""
