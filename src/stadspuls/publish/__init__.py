"""Zenden: compose once, approve with four eyes, publish to the organisation's own channels."""
