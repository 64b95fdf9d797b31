"""Storage: the schema (one source of truth), migrations, and the only modules containing SQL."""
