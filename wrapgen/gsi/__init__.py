"""wrapgen.gsi: certificates, RFC 3820 proxies, grid-mapfile and TLS contexts."""

from __future__ import annotations

from .errors import GSIError

__all__ = ["GSIError"]
