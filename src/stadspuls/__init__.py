"""Stadspuls: watch, send, ask and interact on public social media, with privacy built in."""

__version__ = "0.1.0"
