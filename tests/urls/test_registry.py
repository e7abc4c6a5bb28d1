"""The URL-scheme registry (issue 12): stores named by dotted strings and imported on first use, one interface for
every scheme, and url-copy's semantics over any store a registry names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wrapgen.errors import UsageError
from wrapgen.urls import Registry, SchemeUnavailable, Stat, Store, Stores, TransferError, parse_url
from wrapgen.urls.copy import copy
from wrapgen.urls.settings import CopySettings


class VaultStore(Store):
    """vault://x/<path>: files under the directory in $WRAPGEN_TEST_VAULT, a plug-in written against the
    interface alone (no listing, so -r refuses it)."""

    schemes = ("vault",)
    can_list = False

    def _p(self, url) -> Path:
        return Path(os.environ["WRAPGEN_TEST_VAULT"]) / url.path.lstrip("/")

    def stat(self, url):
        p = self._p(url)
        return Stat(p.stat().st_size, p.stat().st_mtime) if p.exists() else None

    def download(self, url, local, offset=0, length=None, progress=None):
        shutil.copyfile(self._p(url), local)
        return local.stat().st_size

    def upload(self, local, url, offset=0, length=None, progress=None):
        shutil.copyfile(local, self._p(url))
        return self._p(url).stat().st_size

    def checksum(self, url, algorithm, length=-1):
        from wrapgen.checksum import file_checksum

        return file_checksum(str(self._p(url)), algorithm, offset=0, length=length)


def test_stores_are_imported_on_first_use_only() -> None:
    code = ("import sys; from wrapgen.urls import Stores, parse_url; from wrapgen.urls.settings import CopySettings; "
            "s = Stores(CopySettings()); s.of(parse_url('file:///tmp/x'));"
            "print('wrapgen.gridftp.client' in sys.modules, 'wrapgen.urls.local' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.split() == ["False", "True"], r.stderr


def test_unknown_and_broken_schemes_say_what_is_missing() -> None:
    with pytest.raises(UsageError, match="unsupported URL scheme 's3'"):
        parse_url("s3://bucket/key")
    reg = Registry().with_scheme("ftp", "wrapgen.no_such_module:Store")
    with pytest.raises(SchemeUnavailable, match=r"ftp:// URLs need wrapgen.no_such_module, which cannot be imported"):
        reg.store_class("ftp")
    with pytest.raises(SchemeUnavailable, match="wrapgen.urls.local has no store class 'Nope'"):
        Registry().with_scheme("file", "wrapgen.urls.local:Nope").store_class("file")
    with pytest.raises(SchemeUnavailable, match="no store serves vault:// URLs; known schemes: file, ftp"):
        Registry().store_class("vault")
    assert "vault" not in Registry().table  # with_scheme made a new registry; the default is unchanged


def test_a_plugged_in_store_gets_url_copy_semantics(tmp_path, monkeypatch) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    monkeypatch.setenv("WRAPGEN_TEST_VAULT", str(vault))
    reg = Registry().with_scheme("vault", f"{__name__}:VaultStore")
    src = tmp_path / "in.bin"
    src.write_bytes(os.urandom(100_000))
    done = copy(f"file://{src}", "vault://x/a.bin", registry=reg, verify=True, quiet=True)
    assert (done.files, done.bytes) == (1, 100_000) and (vault / "a.bin").read_bytes() == src.read_bytes()
    again = copy(f"file://{src}", "vault://x/a.bin", registry=reg, sync=True, sync_level=3, quiet=True)
    assert again.bytes == 0  # the same checksum at both ends: nothing to do
    back = copy("vault://x/a.bin", f"file://{tmp_path}/back.bin", registry=reg, quiet=True)
    assert back.bytes == 100_000 and (tmp_path / "back.bin").read_bytes() == src.read_bytes()
    with pytest.raises(UsageError, match="-r cannot list an vault:// source"):
        copy("vault://x/", f"file://{tmp_path}/d/", registry=reg, recursive=True, quiet=True)
    with pytest.raises(TransferError, match="vault://x/missing -> file://"):
        copy("vault://x/missing", f"file://{tmp_path}/m.bin", registry=reg, quiet=True)
    with pytest.raises(UsageError, match=r"unsupported URL scheme 'vault'; use file://, ftp://"):
        copy(f"file://{src}", "vault://x/a.bin", quiet=True)  # the default registry has no vault
    with pytest.raises(UsageError, match="give settings or options"):
        copy("vault://x/a", "file:///tmp/b", settings=CopySettings(), registry=reg, parallel=2)


def test_http_source_to_file_and_its_stat(tmp_path) -> None:
    import http.server
    import threading

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "d.bin").write_bytes(b"x" * 5000)
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path / "www"), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        with Stores(CopySettings()) as stores:
            st = stores.of(parse_url(f"{base}/d.bin")).stat(parse_url(f"{base}/d.bin"))
            assert st is not None and st.size == 5000 and st.mtime > 0
            assert stores.of(parse_url(f"{base}/no")).stat(parse_url(f"{base}/no")) is None
        dst = tmp_path / "d.bin"
        assert copy(f"{base}/d.bin", f"file://{dst}", quiet=True).bytes == 5000
        # -sync-level 2 over http: same size and not older, so nothing moves
        assert copy(f"{base}/d.bin", f"file://{dst}", sync=True, quiet=True).bytes == 0
        with pytest.raises(UsageError, match="-off/-len are not supported for http"):
            copy(f"{base}/d.bin", f"file://{tmp_path}/p.bin", offset=1, quiet=True)
    finally:
        httpd.shutdown()
