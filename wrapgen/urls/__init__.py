"""URLs as one kind of thing: a registry of stores by scheme (file, ftp/gsiftp, http(s)), each behind one interface
(stat, list, mkdir, download, upload, checksum, third party), and url-copy's semantics over them (wrapgen.urls.copy).

url-copy, `wrapgen.copy`, job staging and pipelines all go through here; the stores of other packages (GridFTP's)
are named by dotted strings and imported only when a URL of theirs is used.
"""

from __future__ import annotations

import importlib

# Imported when first named: a url-copy handed to its agent (wrapgen.urls.agent) must not pay for them.
_EXPORTS = {"SchemeUnavailable": "errors", "TransferError": "errors", "SCHEMES": "registry", "Registry": "registry",
            "Stores": "registry", "Stat": "store", "Store": "store", "Url": "url", "parse_url": "url"}


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SCHEMES", "Registry", "SchemeUnavailable", "Stat", "Store", "Stores", "TransferError", "Url",
           "parse_url"]

