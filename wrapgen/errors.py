"""The root of wrapgen's exception tree; each subpackage derives its own errors from it."""

from __future__ import annotations


class WrapgenError(Exception):
    """Base class of every error wrapgen raises on purpose (bad input, failed build, refused login, ...)."""


class UsageError(WrapgenError):
    """A command line or API call that cannot be carried out as given."""
