"""wrapgen.wsrf: spec-wrapped kernels as WS-RF grid services (SOAP 1.1, WS-Addressing 1.0, OASIS WS-RF 1.2).

    with wrapgen.wsrf.Server(["services/heat.yaml"], state="state.db") as srv:
        heat = wrapgen.connect(f"{srv.url}/heat")
"""

from __future__ import annotations

from typing import Any

from .errors import RemoteFault, ResourceUnknown, SoapFault, WSRFError

__all__ = ["RemoteFault", "ResourceUnknown", "Server", "SoapFault", "WSRFError", "connect"]


def __getattr__(name: str) -> Any:
    # The server pulls in gunicorn and the builder, the client zeep: import them only when used.
    if name == "Server":
        from .server import Server

        return Server
    if name == "connect":
        from .client import connect

        return connect
    raise AttributeError(f"module 'wrapgen.wsrf' has no attribute {name!r}")
