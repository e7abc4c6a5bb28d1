"""Distinguished names in the slash form the Grid Community Toolkit writes ("/O=Grid/OU=Lab/CN=Jane Doe"):
grid-mapfiles, signing policies, grid-proxy-info and wrapgen's messages all use it."""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.x509.oid import NameOID

from .errors import GSIError

_OIDS = {"C": NameOID.COUNTRY_NAME, "ST": NameOID.STATE_OR_PROVINCE_NAME, "L": NameOID.LOCALITY_NAME,
         "O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "CN": NameOID.COMMON_NAME,
         "DC": NameOID.DOMAIN_COMPONENT, "UID": NameOID.USER_ID, "emailAddress": NameOID.EMAIL_ADDRESS,
         "Email": NameOID.EMAIL_ADDRESS, "serialNumber": NameOID.SERIAL_NUMBER}
_NAMES = {NameOID.COUNTRY_NAME: "C", NameOID.STATE_OR_PROVINCE_NAME: "ST", NameOID.LOCALITY_NAME: "L",
          NameOID.ORGANIZATION_NAME: "O", NameOID.ORGANIZATIONAL_UNIT_NAME: "OU", NameOID.COMMON_NAME: "CN",
          NameOID.DOMAIN_COMPONENT: "DC", NameOID.USER_ID: "UID", NameOID.EMAIL_ADDRESS: "emailAddress",
          NameOID.SERIAL_NUMBER: "serialNumber"}


def dn_string(name: x509.Name) -> str:
    """/A=v/B=w in certificate order (OpenSSL's X509_NAME_oneline, as GCT prints and matches them)."""
    parts = []
    for rdn in name.rdns:
        for attr in rdn:
            key = _NAMES.get(attr.oid, attr.oid.dotted_string)
            parts.append(f"/{key}={attr.value}")
    return "".join(parts)


def parse_dn(text: str) -> x509.Name:
    """The x509.Name for a slash-form DN; an unknown attribute or a missing '=' names the part."""
    if not text.startswith("/"):
        raise GSIError(f"DN {text!r} must start with '/', e.g. /O=Grid/OU=Lab/CN=Jane Doe")
    pairs: list[list[str]] = []
    for part in re.split(r"(?<!\\)/", text)[1:]:
        key, eq, value = part.partition("=")
        if not eq and pairs:
            # A '/' inside a value, as in the legacy host form CN=host/node1.example.org.
            pairs[-1][1] += "/" + part
            continue
        if not eq or not value:
            raise GSIError(f"DN {text!r}: part {part!r} is not KEY=value")
        pairs.append([key, value])
    attrs = []
    for key, value in pairs:
        if key not in _OIDS:
            raise GSIError(f"DN {text!r}: unknown attribute {key!r}; known: {', '.join(sorted(set(_OIDS)))}")
        attrs.append(x509.NameAttribute(_OIDS[key], value.replace("\\/", "/")))
    if not attrs:
        raise GSIError(f"DN {text!r} is empty")
    return x509.Name(attrs)
