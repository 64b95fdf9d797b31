"""Registered volunteers and geo call-outs: the nearest available helpers within a radius."""
