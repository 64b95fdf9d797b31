"""The stages as separate processes coupled by Redis Streams (docs/cluster.md).

collector (sources → `{prefix}:items`) → door workers (`items` → enrich → `{prefix}:enriched`)
→ the writer (`enriched` → PostgreSQL, then acknowledge). Each stage's code is the one
`stadspuls run` uses in one process; this package only carries records between them.
"""
