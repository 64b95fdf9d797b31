"""Public sources: one module per platform or feed. Network I/O is kept apart from the pure
raw → `Post` mapping so that mapping can be tested on recorded payloads."""
