"""Wiring publishing into the app: the publish service with its targets, the staff pages
(/publicaties), the API (/api/publications) and the public news page with its feeds (/nieuws).
CONTRACT STUB: the owning helper fills it in."""

from __future__ import annotations

from fastapi import FastAPI

from stadspuls.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    del app, settings
