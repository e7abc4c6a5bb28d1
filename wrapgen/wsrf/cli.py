"""`wrapgen serve` and the GT4-style resource tools `wrapgen wsrf ...`."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .status import TERMINAL


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `serve` and `wsrf`."""
    from ..settings import add_options
    from .settings import ServeSettings

    p = subparsers.add_parser("serve", help="publish spec-wrapped kernels as WS-RF grid services",
                              description="Serve each SPEC as a SOAP service at http://HOST:PORT/<library>?wsdl "
                                          "(gunicorn sync workers; kernels run in isolated processes).")
    p.add_argument("specs", nargs="+", metavar="SPEC")
    add_options(p, ServeSettings)
    p.set_defaults(func=_serve)

    w = subparsers.add_parser("wsrf", help="WS-Resource tools: create, start, get-property, query, destroy, ...")
    sub = w.add_subparsers(dest="wsrf_command", metavar="TOOL", required=True)
    https = argparse.ArgumentParser(add_help=False)
    https.add_argument("--cert", default=None, metavar="PEM",
                       help="client certificate for an HTTPS service (a proxy file with its key works)")
    https.add_argument("--key", default=None, metavar="PEM", help="the certificate's key, if not in --cert")
    https.add_argument("--ca", default=None, metavar="FILE|DIR", help="CA file or directory the server chains to")
    parent = [https]

    c = sub.add_parser("create", help="create a resource for FUNCTION and write its EPR", parents=parent)
    c.add_argument("url", help="the service, http://HOST:PORT/<library>")
    c.add_argument("function")
    c.add_argument("params", nargs="*", metavar="NAME=VALUE", help="a number, or @file.npy for an array")
    c.add_argument("-o", "--out", type=Path, default=None, help="write the EPR here (default: stdout)")
    c.set_defaults(func=_create)
    for name, helptext in (("start", "start the computation"), ("status", "print the status"),
                           ("result", "print the result (arrays summarised; --save DIR writes .npy files)"),
                           ("cancel", "stop the computation"), ("destroy", "destroy the resource"),
                           ("get-properties", "print the resource property document")):
        t = sub.add_parser(name, help=helptext, parents=parent)
        t.add_argument("-e", "--epr", type=Path, required=True, help="EPR file written by `wrapgen wsrf create`")
        if name == "result":
            t.add_argument("--save", type=Path, default=None, metavar="DIR")
        t.set_defaults(func=_tool, tool=name)
    g = sub.add_parser("get-property", help="print one resource property", parents=parent)
    g.add_argument("-e", "--epr", type=Path, required=True)
    g.add_argument("qname", help="{namespace}local, or a local name of the resource's own namespace")
    g.set_defaults(func=_tool, tool="get-property")
    q = sub.add_parser("query", help="XPath 1.0 query over the resource properties (prefix r: is the resource's)",
                       parents=parent)
    q.add_argument("-e", "--epr", type=Path, required=True)
    q.add_argument("xpath")
    q.set_defaults(func=_tool, tool="query")
    n = sub.add_parser("subscribe", help="print Status and termination notifications (through a pull point, "
                                         "so nothing has to reach this machine) until the run ends", parents=parent)
    n.add_argument("-e", "--epr", type=Path, required=True)
    n.add_argument("--until-destroyed", action="store_true",
                   help="keep listening after the run ends, until the resource is destroyed")
    n.add_argument("--timeout", type=float, default=None, metavar="SECONDS")
    n.set_defaults(func=_subscribe)
    s = sub.add_parser("set-termination-time", help="destroy after SECONDS (or 'infinity' for never)",
                       parents=parent)
    s.add_argument("-e", "--epr", type=Path, required=True)
    s.add_argument("seconds")
    s.set_defaults(func=_tool, tool="set-termination-time")


def _serve(args: argparse.Namespace) -> int:
    from ..settings import from_args
    from .server import Server
    from .settings import ServeSettings

    srv = Server.from_settings(args.specs, from_args(ServeSettings, args))
    srv.start()
    from .app import WsrfApp

    for name, model in WsrfApp(srv.config).models.items():
        served = [*model.operations, *(f"{c} (objects)" for c in model.classes)]
        print(f"serving {name} at {srv.url}/{name}?wsdl  ({', '.join(served)})", flush=True)
        skipped = {**model.skipped, **{k: v for c in model.classes.values() for k, v in c.skipped.items()}}
        for fname, why in skipped.items():
            print(f"  not served: {fname}: {why}", file=sys.stderr, flush=True)

    class _Stop(Exception):
        pass

    def stop(*_: Any) -> None:
        # Only unwind here: stopping from inside the handler would wait on the very child whose
        # wait() the signal interrupted (Popen's waitpid lock is still held by that frame).
        raise _Stop

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        status = srv.wait()
    except _Stop:
        status = 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        srv.stop()
    return status


def _value(text: str) -> Any:
    if text.startswith("@"):
        import numpy as np

        path = Path(text[1:])
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read array file {path}: {exc}") from None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _create(args: argparse.Namespace) -> int:
    from lxml import etree

    from .client import connect

    params = {}
    for item in args.params:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise UsageError(f"parameter {item!r} is not NAME=VALUE")
        params[name] = _value(value)
    proxy = connect(args.url, cert=_cert(args), verify=args.ca)
    fn = getattr(proxy, args.function, None)
    if fn is None or not hasattr(fn, "create"):
        raise UsageError(f"{args.url} has no function {args.function!r}; it has {', '.join(dir(proxy))}")
    res = fn.create(**params)
    text = etree.tostring(res.epr(), pretty_print=True).decode()
    if args.out:
        args.out.write_text(text)
        print(f"wrote the EPR of {args.function} resource {res.key} to {args.out}")
    else:
        print(text, end="")
    return 0


def _tool(args: argparse.Namespace) -> int:
    from lxml import etree

    try:
        data = args.epr.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read EPR file {args.epr}: {exc.strerror}") from None
    res = _resource(args, data)
    tool = args.tool
    if tool == "start":
        res.start()
    elif tool == "cancel":
        res.cancel()
    elif tool == "destroy":
        res.destroy()
    elif tool == "status":
        print(res.status)
    elif tool == "get-properties":
        print(_show(res.document()), end="")
    elif tool == "get-property":
        qname = args.qname if args.qname.startswith("{") else f"{{{res.tns}:{res.function}}}{args.qname}"
        for e in res.get_property(qname):
            print(_show(e), end="")
    elif tool == "query":
        for item in res.query(args.xpath):
            print(_show(item).rstrip() if isinstance(item, etree._Element) else item)
    elif tool == "set-termination-time":
        seconds = None if args.seconds.lower() in ("infinity", "inf", "never") else float(args.seconds)
        print(res.set_termination_time(seconds) or "infinity")
    elif tool == "result":
        _print_result(res.result(), args.save)
    return 0


def _cert(args: argparse.Namespace) -> str | tuple[str, str] | None:
    if args.key and not args.cert:
        raise UsageError("--key needs --cert")
    return (args.cert, args.key) if args.key else args.cert


def _resource(args: argparse.Namespace, epr: bytes) -> Any:
    from .client import Resource, make_session

    return Resource.from_epr(epr, session=make_session(_cert(args), args.ca))


def _subscribe(args: argparse.Namespace) -> int:
    import time

    try:
        res = _resource(args, args.epr.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read EPR file {args.epr}: {exc.strerror}") from None
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    with res.subscribe() as sub:
        status = res.status  # after subscribing: no change can fall between the two
        print(f"status: {status}", flush=True)
        done = status in TERMINAL and not args.until_destroyed
        while not done:
            for note in sub.get_messages():
                if note.topic == "Status":
                    print(f"status: {note.old_status} -> {note.status}", flush=True)
                    done = note.status in TERMINAL and not args.until_destroyed
                else:
                    print(f"terminated: {note.reason}", flush=True)
                    return 0
            if deadline is not None and time.monotonic() > deadline:
                print(f"wrapgen wsrf subscribe: no end after {args.timeout:g} s", flush=True)
                return 1
            time.sleep(0.2)
    return 0


def _show(element: Any) -> str:
    """An element as text, without the namespace declarations it inherited from the envelope."""
    import copy

    from lxml import etree

    e = copy.deepcopy(element)
    etree.cleanup_namespaces(e)
    return etree.tostring(e, pretty_print=True).decode()


def _print_result(result: dict[str, Any], save: Path | None) -> None:
    import numpy as np

    for name, v in result.items():
        if isinstance(v, np.ndarray):
            if save is not None:
                save.mkdir(parents=True, exist_ok=True)
                np.save(save / f"{name}.npy", v)
            print(f"{name}: {v.dtype} array of shape {v.shape}" + (f" -> {save / (name + '.npy')}" if save else ""))
        else:
            print(f"{name}: {v!r}")
