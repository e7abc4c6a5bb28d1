"""ServeSettings: what `wrapgen serve` runs with (Server.from_settings takes it; ServiceConfig's limits default to
the same values)."""

from __future__ import annotations

from typing import Literal

from ..settings import Settings, option


class ServeSettings(Settings):
    """A WS-RF server: where it listens, its state, TLS and grid-mapfile, and the limits on what callers may use."""

    host: str = option("127.0.0.1", "--host", help="address to bind (default 127.0.0.1)")
    port: int = option(8080, "--port", help="port (0 picks a free one; default 8080)", ge=0, le=65535)
    workers: int | None = option(None, "--workers", help="server workers (default: one per core)", ge=1)
    state: str = option("wrapgen-wsrf.db", "--state", help="SQLite file holding WS-Resource state")
    max_request: int = option(256 * 1024 * 1024, "--max-request", metavar="BYTES", ge=1,
                              help="largest request accepted (default 256 MiB)")
    inline_limit: int = option(16 * 1024 * 1024, "--inline-limit", metavar="BYTES", ge=0,
                               help="arrays above this size are returned as a download URL (default 16 MiB)")
    lifetime: float = option(24 * 3600.0, "--lifetime", metavar="SECONDS", ge=0,
                             help="initial lifetime of a new resource; 0 for none (default one day)")
    log: str | None = option(None, "--log", metavar="FILE", help="server log file (default: stderr)")
    tls_cert: str | None = option(None, "--tls-cert", metavar="PEM", help="serve HTTPS with this certificate")
    tls_key: str | None = option(None, "--tls-key", metavar="PEM", help="the certificate's private key")
    tls_ca: str | None = option(None, "--tls-ca", metavar="FILE|DIR",
                                help="CA file or X509_CERT_DIR-style directory that client certificates must chain to")
    client_certs: Literal["required", "optional", "none"] = option(
        "required", "--client-certs",
        help="with --tls-cert: whether clients must present a certificate (proxies accepted)")
    gridmap: str | None = option(None, "--gridmap", metavar="FILE",
                                 help="with --tls-ca DIR: only identities listed in this grid-mapfile may call (GCT's "
                                      "checks: signing policy, CRLs)")
    notify_allow: list[str] = option([], "--notify-allow", metavar="CIDR",
                                     help="a non-public network notification consumers may be on (e.g. 127.0.0.0/8); "
                                          "repeat for more. By default notifications go only to public addresses")
    threads: int = option(8, "--threads", help="request threads per worker (default 8)", ge=1)
    admins: list[str] = option([], "--admin", metavar="DN",
                               help="with --gridmap: an identity that may use every resource, not only its own; "
                                    "repeat for more")
    call_timeout: float = option(60.0, "--call-timeout", metavar="SECONDS", gt=0,
                                 help="longest direct (stateless) kernel call; longer computations are WS-Resources "
                                      "(default 60)")
    blob_quota: int = option(512 * 1024 * 1024, "--blob-quota", metavar="BYTES", ge=0,
                             help="download space for large stateless results, per caller identity (default 512 MiB)")


def default(name: str):  # noqa: ANN201 - the field's own type
    """A ServeSettings field's default (ServiceConfig's limits use the same)."""
    return ServeSettings.fields()[name].default
