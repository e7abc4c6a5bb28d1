"""The WSGI entry point gunicorn workers import: the app for the config in WRAPGEN_WSRF_CONFIG."""

from __future__ import annotations

from .app import ServiceConfig, make_app

application = make_app(ServiceConfig.from_env())
