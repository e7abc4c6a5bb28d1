"""PEM files: certificates, keys and chains in, with errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from .errors import GSIError


def load_certs(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    """Every certificate in a PEM file, in file order."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise GSIError(f"cannot read certificate file {path}: {exc.strerror}") from None
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise GSIError(f"{path} holds no readable PEM certificate: {exc}") from None
    return certs


def load_key(path: str | os.PathLike[str]) -> PrivateKeyTypes:
    """The first private key in a PEM file (unencrypted: grid proxies and host keys are)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise GSIError(f"cannot read key file {path}: {exc.strerror}") from None
    try:
        # The key is the user's own file (mode checked by the caller), so the RSA consistency check (~80 ms,
        # a defence against crafted keys from others) is skipped; the certificate match is still checked.
        return serialization.load_pem_private_key(data, password=None, unsafe_skip_rsa_key_validation=True)
    except TypeError:
        raise GSIError(f"{path} is encrypted; wrapgen reads unencrypted keys only (decrypt it with "
                       f"'openssl pkey -in {path} -out KEY' and keep KEY at mode 0600)") from None
    except ValueError as exc:
        raise GSIError(f"{path} holds no readable PEM private key: {exc}") from None


def cert_pem(*certs: x509.Certificate) -> bytes:
    """PEM bytes of certificates, in order."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def key_pem(key: PrivateKeyTypes, traditional: bool = False) -> bytes:
    """Unencrypted PEM of a key (traditional 'RSA PRIVATE KEY' form for old GCT readers if asked)."""
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if traditional else serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
