"""`wrapgen editor PIPELINE.yaml`: the visual editor in the browser, on 127.0.0.1."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `wrapgen editor`."""
    p = subparsers.add_parser("editor", help="edit and run a pipeline in the browser (serves 127.0.0.1)")
    p.add_argument("pipeline", nargs="?", default="pipeline.yaml",
                   help="the pipeline file (made on the first save if it does not exist; default pipeline.yaml)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (0: any free one; default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    p.add_argument("--specs", action="append", metavar="DIR",
                   help="a folder whose spec files fill the palette (repeatable; default the pipeline's folder)")
    p.add_argument("--state", help="the pipeline's state directory (default .wrapgen/NAME beside the file)")
    p.add_argument("--token", help="the token API calls must carry (default: a new random one)")
    p.set_defaults(func=_editor)


def _editor(args: argparse.Namespace) -> int:
    import signal
    import threading

    from .api import Editor
    from .server import EditorServer

    if not 0 <= args.port <= 65535:
        print(f"wrapgen editor: --port {args.port}: expected 0..65535", file=sys.stderr)
        return 2
    editor = Editor(args.pipeline, args.specs, args.state)
    server = EditorServer(editor, args.host, args.port, args.token)
    try:
        server.start()
    except OSError as exc:
        print(f"wrapgen editor: cannot listen on {args.host}:{args.port}: {exc.strerror} (try --port 0)",
              file=sys.stderr)
        return 1
    print(f"wrapgen editor: {editor.path} at {server.url}", flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.stop()
    return 0
