"""Errors raised by wrapgen.wsrf. A SoapFault travels to the client as a SOAP Fault with a WS-BaseFault detail."""

from __future__ import annotations

from ..errors import WrapgenError
from .ns import BF, RL, RP, WSNT, R, q


class WSRFError(WrapgenError):
    """A WS-RF service or client error."""


class NotWrapgenService(WSRFError):
    """The URL serves a WSDL, but not one wrapgen made (no LIBRARYBinding): use a plain SOAP client for it."""


class SoapFault(WSRFError):
    """An error the service reports as a SOAP Fault (faultcode Server unless a subclass says Client)."""

    faultcode = "Server"
    element = q(BF, "BaseFault")

    def __init__(self, message: str, *, element: str | None = None, error_code: str | None = None,
                 exception: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if element is not None:
            self.element = element
        self.error_code = error_code
        self.exception = exception  # the Python exception class a kernel raised, for KernelFault


class ClientFault(SoapFault):
    """The request was wrong: the client must change it."""

    faultcode = "Client"


class ResourceUnknownFault(ClientFault):
    """The EPR's key names no resource (never existed, destroyed, or expired)."""

    element = q(R, "ResourceUnknownFault")


class InvalidResourcePropertyQNameFault(ClientFault):
    """A resource property that the document does not have."""

    element = q(RP, "InvalidResourcePropertyQNameFault")


class ResourceNotDestroyedFault(SoapFault):
    """Destroy failed."""

    element = q(RL, "ResourceNotDestroyedFault")


class NotifyFault(ClientFault):
    """A WS-BaseNotification request that cannot be honoured (the element names which)."""

    element = q(WSNT, "SubscribeCreationFailedFault")


class RemoteFault(WSRFError):
    """A fault returned by a service to wrapgen's client: the server's message, fault element and code."""

    def __init__(self, message: str, element: str | None = None, error_code: str | None = None,
                 exception: str | None = None) -> None:
        super().__init__(message)
        self.element, self.error_code, self.exception = element, error_code, exception


class ResourceUnknown(RemoteFault):
    """The service answered ResourceUnknownFault: the resource was destroyed, expired or never existed."""
