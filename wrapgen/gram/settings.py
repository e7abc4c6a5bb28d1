"""JobManagerSettings: what `wrapgen jobmanager` runs with."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ..settings import Settings, option


class JobManagerSettings(Settings):
    """A job manager: where it listens, where it keeps job state, which backend runs the jobs, and TLS."""

    host: str = option("127.0.0.1", "--host", help="address to bind (default 127.0.0.1)")
    port: int = option(0, "--port", ge=0, le=65535,
                       help="port (default: the one this state directory was served on before, else a free one)")
    state: Path = option(Path("wrapgen-jobs"), "--state", metavar="DIR",
                         help="directory of the job store and the jobs' files (default ./wrapgen-jobs)")
    backend: Literal["fork", "slurm", "dask"] = option("fork", "--backend", help="where jobs run (default fork)")
    tls_cert: Path | None = option(None, "--tls-cert", metavar="PEM", help="serve HTTPS with this host certificate")
    tls_key: Path | None = option(None, "--tls-key", metavar="PEM", help="the host certificate's key")
    tls_ca: Path | None = option(None, "--tls-ca", metavar="DIR",
                                 help="trusted CAs (X509_CERT_DIR layout) client certificates and proxies chain to")
    gridmap: Path | None = option(None, "--gridmap", metavar="FILE",
                                  help="with TLS: only identities in this grid-mapfile may submit")
    admins: list[str] = option([], "--admin", metavar="DN",
                               help="an identity that may see and cancel every job; repeat for more")
    max_connections: int = option(256, "--max-connections", ge=1, help="connections served at once (default 256)")
    callback_allow: list[str] = option([], "--callback-allow", metavar="CIDR",
                                       help="a non-public network state callbacks may go to (e.g. 127.0.0.0/8); "
                                            "repeat for more. By default callbacks go only to public addresses")

    def check(self) -> None:
        """Raise ValueError if the options do not go together."""
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("--tls-cert and --tls-key go together")
        if (self.tls_ca or self.gridmap) and not self.tls_cert:
            raise ValueError("--tls-ca and --gridmap need --tls-cert and --tls-key")
        if self.tls_cert and not self.tls_ca:
            raise ValueError("--tls-cert needs --tls-ca: client certificates are always verified")
