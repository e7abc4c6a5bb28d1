"""The `wrapgen` command: a thin dispatcher over subcommands that the subpackages register."""

from __future__ import annotations

import os
import sys

from .errors import UsageError, WrapgenError

TYPE_CHECKING = False  # argparse and typing cost ~20 ms of start-up that a run handed to an agent does not need
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

# Each module named here has `register(subparsers)`; it adds its subcommands and
# sets `func` on them. Heavy imports belong inside the command's function so
# that `wrapgen --help` stays fast whatever the subpackages need.
COMMAND_MODULES: tuple[str, ...] = (
    "wrapgen.doctor",
    "wrapgen.checksum",
    "wrapgen.spec.cli",
    "wrapgen.bind.cli",
    "wrapgen.gsi.cli",
    "wrapgen.gridftp.cli",
    "wrapgen.urls.cli",
    "wrapgen.wsrf.cli",
    "wrapgen.gram.cli",
    "wrapgen.pipeline.cli",
    "wrapgen.web.cli",
)

# Which module registers each command: a run imports only its command's module (the others pull in TLS,
# X.509 and SOAP stacks that cost ~0.2 s of start-up); --help and unknown commands import them all.
COMMANDS: dict[str, str] = {
    "doctor": "wrapgen.doctor", "checksum": "wrapgen.checksum", "schema": "wrapgen.spec.cli",
    "check": "wrapgen.spec.cli", "init": "wrapgen.spec.cli", "build": "wrapgen.bind.cli", "ca": "wrapgen.gsi.cli",
    "cert": "wrapgen.gsi.cli", "proxy-init": "wrapgen.gsi.cli", "proxy-info": "wrapgen.gsi.cli",
    "proxy-destroy": "wrapgen.gsi.cli", "gridftp-server": "wrapgen.gridftp.cli",
    "gridftp-passwd": "wrapgen.gridftp.cli", "url-copy": "wrapgen.urls.cli", "serve": "wrapgen.wsrf.cli",
    "wsrf": "wrapgen.wsrf.cli", "jobmanager": "wrapgen.gram.cli", "globusrun": "wrapgen.gram.cli",
    "job-run": "wrapgen.gram.cli", "job-submit": "wrapgen.gram.cli", "job-status": "wrapgen.gram.cli",
    "job-cancel": "wrapgen.gram.cli", "rsl": "wrapgen.gram.cli", "submit": "wrapgen.gram.cli",
    "run": "wrapgen.pipeline.cli", "plan": "wrapgen.pipeline.cli", "why": "wrapgen.pipeline.cli",
    "status": "wrapgen.pipeline.cli", "report": "wrapgen.pipeline.cli", "editor": "wrapgen.web.cli",
}


def _version_action() -> type:
    """--version that looks the version up only when asked (package metadata is slow to import)."""
    import argparse

    class VersionAction(argparse.Action):
        def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
            super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=str(kwargs.get("help")))

        def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
            import wrapgen

            print(f"wrapgen {wrapgen.__version__}")
            parser.exit()

    return VersionAction


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every registered subcommand, or only the one that registers command."""
    import argparse
    import importlib

    parser = argparse.ArgumentParser(
        prog="wrapgen",
        description="Wrap legacy Fortran/C/C++ kernels as Python modules, grid services, jobs and pipelines.",
    )
    parser.add_argument("--version", action=_version_action(), help="show the version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    only = COMMANDS.get(command or "")
    for name in [only] if only in COMMAND_MODULES else COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            _register_unavailable(subparsers, name, exc)
        else:
            module.register(subparsers)
    return parser


def _register_unavailable(subparsers: argparse._SubParsersAction, module: str, exc: ImportError) -> None:
    # A broken optional part (say, a native core built against another libcrypto)
    # must not take `wrapgen doctor` and the other commands down with it.
    command = module.rsplit(".", 1)[-1].replace("_", "-")
    import argparse

    reason = f"{module} cannot be imported: {exc}"
    p = subparsers.add_parser(command, help=f"(unavailable: {exc})", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def run(_args: argparse.Namespace) -> int:
        raise WrapgenError(f"this command is unavailable: {reason}; 'wrapgen doctor' says more")

    p.set_defaults(func=run)


def main(argv: Sequence[str] | None = None, prepare: Callable[[argparse.Namespace], None] | None = None) -> int:
    """Run the CLI; returns the process exit status (2 for usage errors, as argparse does). prepare(args) runs
    before the command (a url-copy agent lends its sessions so)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command == "url-copy-agent" and argv[0] == command:  # started by a url-copy run, not a user command
        from .urls.agent import serve

        return serve(argv[1:], main)
    if command == "url-copy" and prepare is None and os.environ.get("WRAPGEN_URL_COPY_AGENT"):
        from .urls import agent  # a few stdlib modules: the point is to skip everything else

        status = agent.run_via_agent(argv)
        if status is not None:
            return status
        agent.start_in_background(os.environ["WRAPGEN_URL_COPY_AGENT"])
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if prepare is not None:
        prepare(args)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("wrapgen: error: a command is required (see 'wrapgen --help')", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"wrapgen {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except WrapgenError as exc:
        print(f"wrapgen {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"wrapgen {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
