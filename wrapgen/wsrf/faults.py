"""The SOAP fault for what a kernel call raised, in one place for direct calls, computations and objects."""

from __future__ import annotations

import logging

from . import ns as N
from .errors import ClientFault, SoapFault

log = logging.getLogger("wrapgen.wsrf")


def kernel_fault(exc: BaseException, tns: str) -> SoapFault:
    """The SOAP fault ({tns}KernelFault) for an exception a kernel call raised (declared errors, refusals, crashes)."""
    from ..bind.errors import IsolatedCallError
    from ..bind.runtime import KernelError

    if isinstance(exc, SoapFault):
        return exc
    name = type(exc).__name__
    element = N.q(tns, "KernelFault")
    if isinstance(exc, KernelError):
        return ClientFault(str(exc), element=element, exception=name,
                           error_code=None if exc.code is None else str(exc.code))
    if isinstance(exc, (ValueError, TypeError)):
        return ClientFault(str(exc), element=element, exception=name)
    if isinstance(exc, IsolatedCallError):
        return SoapFault(str(exc), element=element, exception=name)
    log.exception("unexpected error in a kernel call")
    return SoapFault(f"{name}: {exc}", element=element, exception=name)
