"""HTTPS for the services: gunicorn's SSL context, with client certificates verified against a CA file or an
X509_CERT_DIR-style directory and RFC 3820 proxy certificates accepted.

Used as gunicorn's `ssl_context` hook (`-c python:wrapgen.wsrf.tls`); the settings come from the
environment the Server gives its gunicorn. Mapping a verified identity to a local account (grid-mapfile)
belongs to wrapgen.gsi.
"""

from __future__ import annotations

import os
import ssl
from typing import Any, Callable

CLIENT_MODES = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}


def tls_env(ca: str | None, client_certs: str) -> dict[str, str]:
    """Environment for the gunicorn master that this module's hook reads."""
    if client_certs not in CLIENT_MODES:
        raise ValueError(f"client_certs must be one of {', '.join(CLIENT_MODES)}, got {client_certs!r}")
    if client_certs != "none" and not ca:
        raise ValueError("verifying client certificates needs a CA file or directory (tls_ca)")
    return {"WRAPGEN_WSRF_TLS_CA": ca or "", "WRAPGEN_WSRF_TLS_CLIENT": client_certs}


def ssl_context(conf: Any, default_ssl_context_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """gunicorn hook: the server's context (its certificate is already loaded by the factory)."""
    from ..gsi.tls import trust_grid_chains

    ctx = default_ssl_context_factory()
    ca = os.environ.get("WRAPGEN_WSRF_TLS_CA") or None
    if ca:
        trust_grid_chains(ctx, ca)
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.verify_flags |= ssl.VERIFY_ALLOW_PROXY_CERTS
    ctx.verify_mode = CLIENT_MODES[os.environ.get("WRAPGEN_WSRF_TLS_CLIENT", "none")]
    return ctx
