"""`wrapgen ca`, `wrapgen cert`, `wrapgen proxy-init`, `wrapgen proxy-info`, `wrapgen proxy-destroy`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the credential commands."""
    ca = subparsers.add_parser("ca", help="a certificate authority for a grid: init, sign, revoke")
    sub = ca.add_subparsers(dest="ca_command", metavar="ACTION", required=True)
    p = sub.add_parser("init", help="create a CA and its trust directory (DIR/certificates)")
    p.add_argument("dir", type=Path)
    p.add_argument("--subject", required=True, help="the CA's DN, e.g. '/O=Grid/OU=Lab/CN=Lab CA'")
    p.add_argument("--days", type=float, default=5 * 365)
    p.add_argument("--namespace", action="append", default=None, metavar="PATTERN",
                   help="subjects it may sign (signing policy); default: its DN without the last CN, then /*")
    p.set_defaults(func=_ca_init)
    p = sub.add_parser("sign", help="sign a certificate request")
    p.add_argument("dir", type=Path)
    p.add_argument("request", type=Path)
    p.add_argument("-o", "--out", type=Path, required=True)
    p.add_argument("--days", type=float, default=365)
    p.set_defaults(func=_ca_sign)
    p = sub.add_parser("revoke", help="revoke a certificate (writes <hash>.r0 in the trust directory)")
    p.add_argument("dir", type=Path)
    p.add_argument("cert", type=Path)
    p.set_defaults(func=_ca_revoke)

    cert = subparsers.add_parser("cert", help="certificate requests for hosts and users")
    csub = cert.add_subparsers(dest="cert_command", metavar="ACTION", required=True)
    r = csub.add_parser("request", help="a key and a certificate request (host certificates get subjectAltName)")
    who = r.add_mutually_exclusive_group(required=True)
    who.add_argument("--host", metavar="NAME")
    who.add_argument("--user", metavar="CN")
    r.add_argument("--dns", action="append", default=[], help="extra DNS names (host)")
    r.add_argument("--ip", action="append", default=[], help="IP addresses (host)")
    r.add_argument("--subject-base", default="/O=Grid", help="DN before the CN (default /O=Grid)")
    r.add_argument("-o", "--out", type=Path, default=None, help="directory (default: . for hosts, ~/.globus for users)")
    r.set_defaults(func=_request)

    p = subparsers.add_parser("proxy-init", help="make an RFC 3820 proxy (like grid-proxy-init)")
    p.add_argument("--valid", type=float, default=12.0, metavar="HOURS")
    p.add_argument("--out", type=Path, default=None, help="default $X509_USER_PROXY or /tmp/x509up_u<uid>")
    p.add_argument("--cert", type=Path, default=None, help="default $X509_USER_CERT or ~/.globus/usercert.pem")
    p.add_argument("--key", type=Path, default=None, help="default $X509_USER_KEY or ~/.globus/userkey.pem")
    p.add_argument("--bits", type=int, default=2048, choices=(2048, 3072, 4096))
    p.add_argument("--path-length", type=int, default=None, help="how many proxies may be made below this one")
    p.add_argument("--limited", action="store_true", help="a limited proxy (GCT: no job submission)")
    p.add_argument("--no-verify", action="store_true", help="do not check the certificate against X509_CERT_DIR")
    p.set_defaults(func=_proxy_init)
    p = subparsers.add_parser("proxy-info", help="describe a proxy (like grid-proxy-info)")
    p.add_argument("-f", "--file", type=Path, default=None)
    p.add_argument("-e", "--exists", action="store_true", help="exit 1 unless a proxy with --hours left exists")
    p.add_argument("--hours", type=float, default=0.0)
    p.add_argument("--identity", action="store_true", help="print only the identity")
    p.add_argument("--timeleft", action="store_true", help="print only the seconds left")
    p.set_defaults(func=_proxy_info)
    p = subparsers.add_parser("proxy-destroy", help="overwrite and remove a proxy file")
    p.add_argument("file", type=Path, nargs="?", default=None)
    p.set_defaults(func=_proxy_destroy)


def _ca_init(args: argparse.Namespace) -> int:
    from .ca import init_ca

    ca = init_ca(args.dir, args.subject, args.days, args.namespace)
    print(f"CA {args.subject} in {args.dir}; trust directory {ca.trust_dir} ({ca.hash}.0, {ca.hash}.signing_policy)")
    print(f"clients and servers: export X509_CERT_DIR={ca.trust_dir.resolve()}")
    return 0


def _ca_sign(args: argparse.Namespace) -> int:
    from .ca import CA
    from .names import dn_string
    from .pem import load_certs

    out = CA.load(args.dir).sign_file(args.request, args.out, args.days)
    print(f"signed {dn_string(load_certs(out)[0].subject)} -> {out}")
    return 0


def _ca_revoke(args: argparse.Namespace) -> int:
    from .ca import CA
    from .names import dn_string
    from .pem import load_certs

    cert = load_certs(args.cert)[0]
    crl = CA.load(args.dir).revoke(cert)
    print(f"revoked {dn_string(cert.subject)}; CRL {crl}")
    return 0


def _request(args: argparse.Namespace) -> int:
    from .ca import make_request

    base = args.subject_base.rstrip("/")
    if args.host:
        out = args.out or Path(".")
        key, req = make_request(f"{base}/CN={args.host}", out, "host", [args.host, *args.dns], args.ip)
    else:
        if args.dns or args.ip:
            from ..errors import UsageError

            raise UsageError("--dns and --ip are for host certificates")
        out = args.out or Path.home() / ".globus"
        key, req = make_request(f"{base}/CN={args.user}", out, "user")
    print(f"key {key} (mode 0600); send {req} to your CA ('wrapgen ca sign CA_DIR {req} -o CERT')")
    return 0


def _proxy_init(args: argparse.Namespace) -> int:
    from .files import cert_dir, user_cert_and_key
    from .proxy import create_proxy, describe, load_credential, write_proxy

    cert, key = args.cert, args.key
    if cert is None or key is None:
        default_cert, default_key = user_cert_and_key()
        cert, key = cert or default_cert, key or default_key
    cred = load_credential(cert, key)
    if not args.no_verify:
        from .verify import verify_chain

        verify_chain(cred.full_chain, cert_dir())
    proxy = create_proxy(cred, args.valid, args.bits, args.path_length, args.limited)
    path = write_proxy(proxy, args.out)
    info = describe(proxy, path)
    print(f"Your identity: {info['identity']}")
    print(f"Your proxy is valid until: {proxy.cert.not_valid_after_utc:%a %b %d %H:%M:%S %Y} UTC ({path})")
    return 0


def _proxy_info(args: argparse.Namespace) -> int:
    from .errors import GSIError
    from .files import proxy_path
    from .proxy import describe, load_credential

    path = args.file or proxy_path()
    try:
        info = describe(load_credential(path), path)
    except GSIError:
        if args.exists:
            return 1
        raise
    if args.exists:
        return 0 if int(info["timeleft"]) > args.hours * 3600 else 1
    if args.identity:
        print(info["identity"])
    elif args.timeleft:
        print(info["timeleft"])
    else:
        left = int(info["timeleft"])
        for k in ("subject", "issuer", "identity", "type"):
            print(f"{k:<9}: {info[k]}")
        print(f"{'strength':<9}: {info['strength']} bits")
        print(f"{'path':<9}: {info['path']}")
        print(f"{'timeleft':<9}: {left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d}")
    return 0


def _proxy_destroy(args: argparse.Namespace) -> int:
    from .proxy import destroy_proxy

    print(f"destroyed {destroy_proxy(args.file)}", file=sys.stderr)
    return 0
