"""URLs as one kind of thing: a registry of stores by scheme (file, ftp/gsiftp, http(s)), each behind one interface
(stat, list, mkdir, download, upload, checksum, third party), and url-copy's semantics over them (wrapgen.urls.copy).

url-copy, `wrapgen.copy`, job staging and pipelines all go through here; the stores of other packages (GridFTP's)
are named by dotted strings and imported only when a URL of theirs is used.
"""

from __future__ import annotations

from .errors import SchemeUnavailable, TransferError
from .registry import SCHEMES, Registry, Stores
from .store import Stat, Store
from .url import Url, parse_url

__all__ = ["SCHEMES", "Registry", "SchemeUnavailable", "Stat", "Store", "Stores", "TransferError", "Url",
           "parse_url"]

