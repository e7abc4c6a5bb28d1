"""Where credentials live (the Grid Community Toolkit's environment and defaults) and how key files are
written and checked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import GSIError


def cert_dir() -> Path:
    """Trusted CAs: $X509_CERT_DIR, else ~/.globus/certificates if present, else /etc/grid-security/certificates."""
    env = os.environ.get("X509_CERT_DIR")
    if env:
        return Path(env)
    home = Path.home() / ".globus" / "certificates"
    return home if home.is_dir() else Path("/etc/grid-security/certificates")


def user_cert_and_key() -> tuple[Path, Path]:
    """$X509_USER_CERT/$X509_USER_KEY, else ~/.globus/usercert.pem and userkey.pem."""
    globus = Path.home() / ".globus"
    return (Path(os.environ.get("X509_USER_CERT") or globus / "usercert.pem"),
            Path(os.environ.get("X509_USER_KEY") or globus / "userkey.pem"))


def host_cert_and_key() -> tuple[Path, Path]:
    """$X509_USER_CERT/$X509_USER_KEY (as GCT servers read them), else /etc/grid-security/host{cert,key}.pem."""
    return (Path(os.environ.get("X509_USER_CERT") or "/etc/grid-security/hostcert.pem"),
            Path(os.environ.get("X509_USER_KEY") or "/etc/grid-security/hostkey.pem"))


def proxy_path() -> Path:
    """$X509_USER_PROXY, else /tmp/x509up_u<uid> (where grid-proxy-init writes it)."""
    return Path(os.environ.get("X509_USER_PROXY") or f"/tmp/x509up_u{os.getuid()}")


def gridmap_path() -> Path:
    """$GRIDMAP, else /etc/grid-security/grid-mapfile."""
    return Path(os.environ.get("GRIDMAP") or "/etc/grid-security/grid-mapfile")


def write_private(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write a key or proxy file readable by its owner only (created 0600, never briefly wider)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def write_public(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write a certificate (0644)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o644)
    return path


def check_private(path: str | os.PathLike[str], what: str = "private key") -> None:
    """Refuse a key file that others can read or write, or that is not a regular file (as GCT does)."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise GSIError(f"{what} {path} does not exist") from None
    if not stat.S_ISREG(st.st_mode):
        raise GSIError(f"{what} {path} is not a regular file")
    if st.st_mode & 0o077:
        raise GSIError(f"{what} {path} has mode {stat.S_IMODE(st.st_mode):04o}; it must be readable by its owner "
                       f"only (chmod 600 {path})")
    if st.st_uid != os.getuid():
        raise GSIError(f"{what} {path} belongs to uid {st.st_uid}, not to this user ({os.getuid()})")
