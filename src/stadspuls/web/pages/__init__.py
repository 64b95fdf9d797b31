"""The dashboard's pages: server-rendered HTML over the read service (`app.state.reads`), one
module per page or close group. `install(app)` adds their routers and the handlers that turn a
missing login into a redirect and a missing permission into a friendly 403 page."""

from __future__ import annotations

from fastapi import FastAPI

from stadspuls.web.pages import (
    governance,
    guard,
    monitor,
    monitor_rules,
    monitors_admin,
    overview,
    search,
)


def install(app: FastAPI) -> None:
    guard.install(app)
    # monitors_admin before monitor: `/monitors/new` must not be read as a monitor id.
    for module in (overview, monitors_admin, monitor_rules, monitor, search, governance):
        app.include_router(module.router)
