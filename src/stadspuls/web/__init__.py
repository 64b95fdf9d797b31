"""The web API and dashboard: an app factory and thin routers."""
