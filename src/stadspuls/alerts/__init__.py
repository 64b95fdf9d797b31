"""Alerts: signals folded into alerts an operator handles, rules per monitor, and the channels
that deliver them (signed webhook, e-mail, the live stream)."""
