"""`ReadService`: the read service's parts in one object (see the package's docstring)."""

from __future__ import annotations

from stadspuls.service.aggregates import AggregateReads
from stadspuls.service.alerts import AlertReads
from stadspuls.service.governance import GovernanceReads
from stadspuls.service.monitors import MonitorReads
from stadspuls.service.posts import PostReads


class ReadService(AggregateReads, PostReads, MonitorReads, AlertReads, GovernanceReads):
    """Every read of stored data, and every change, with the acting user."""
