"""Weak-signal detectors: each watches the posts of the monitors it is enabled for and emits
`Signal`s (bursts, a turn to negative, new stories, rumours, P2000 triggers)."""
