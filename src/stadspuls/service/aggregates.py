"""Counts, series, facets and the map, from the pre-aggregated tables (`monitor_buckets`,
`monitor_facets`): never a count over posts. Viewers get only aggregates over at least
`MIN_AUTHORS` distinct authors."""

from __future__ import annotations

from stadspuls.service.base import ServiceBase


class AggregateReads(ServiceBase):
    """Overview, monitor view, series and map (permission "aggregates")."""
