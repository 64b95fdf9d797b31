"""Thin API routers; each takes what it needs from `request.app.state`."""
