"""Which store serves which URL scheme (fsspec's registry): dotted names, imported on first use, so url-copy to a
file never loads TLS or X.509 code, and this package never imports the packages that implement its schemes."""

from __future__ import annotations

import importlib
import threading
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import SchemeUnavailable

if TYPE_CHECKING:
    from .settings import CopySettings
    from .store import Store
    from .url import Url

# scheme -> "module:Class" of its Store; a scheme's store may also serve others (one GridFTP store for ftp and gsiftp).
SCHEMES: Mapping[str, str] = types.MappingProxyType({
    "file": "wrapgen.urls.local:LocalStore",
    "ftp": "wrapgen.gridftp.store:GridFTPStore",
    "gsiftp": "wrapgen.gridftp.store:GridFTPStore",
    "http": "wrapgen.urls.http:HTTPStore",
    "https": "wrapgen.urls.http:HTTPStore",
})


class Registry:
    """An immutable scheme table; with_scheme() gives a new one with a store added or replaced."""

    def __init__(self, table: Mapping[str, str] = SCHEMES) -> None:
        self.table = types.MappingProxyType(dict(table))

    def with_scheme(self, scheme: str, dotted: str) -> Registry:
        """This registry with scheme served by the store class named "module:Class"."""
        return Registry({**self.table, scheme: dotted})

    def store_class(self, scheme: str) -> type[Store]:
        """The store class serving scheme, imported now; SchemeUnavailable says what is missing."""
        dotted = self.table.get(scheme)
        if dotted is None:
            raise SchemeUnavailable(f"no store serves {scheme}:// URLs; known schemes: {', '.join(sorted(self.table))}")
        module, _, name = dotted.partition(":")
        try:
            return getattr(importlib.import_module(module), name)
        except ImportError as exc:
            raise SchemeUnavailable(f"{scheme}:// URLs need {module}, which cannot be imported ({exc}); "
                                    "'wrapgen doctor' says what is missing") from None
        except AttributeError:
            raise SchemeUnavailable(f"{scheme}:// URLs: {module} has no store class {name!r}") from None


class Stores:
    """The stores of one copy run: made on first use, one per store class, all closed by close()."""

    def __init__(self, settings: CopySettings, registry: Registry | None = None) -> None:
        self.settings = settings
        self.registry = registry or Registry()
        self._made: dict[type, Store] = {}
        self._lock = threading.Lock()

    def of(self, url: Url) -> Store:
        """The store for url's scheme."""
        cls = self.registry.store_class(url.scheme)
        with self._lock:
            store = self._made.get(cls)
            if store is None:
                store = self._made[cls] = cls(self.settings)
            return store

    def prune(self) -> None:
        """Drop the sessions of every store made that no longer answer."""
        with self._lock:
            made = list(self._made.values())
        for store in made:
            store.prune()

    def abort(self) -> None:
        """Abort every store's transfers in progress (from another thread)."""
        with self._lock:
            made = list(self._made.values())
        for store in made:
            store.abort()

    def close(self) -> None:
        """Close every store made."""
        for store in self._made.values():
            store.close()

    def __enter__(self) -> Stores:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
