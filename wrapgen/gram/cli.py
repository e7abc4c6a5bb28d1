"""`wrapgen jobmanager`, GT2's job tools (`globusrun`, `job-run`, `job-submit`, `job-status`, `job-cancel`) and
kernel jobs (`wrapgen rsl`, `wrapgen submit`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError

STATE_WORDS = "GLOBUS_GRAM_PROTOCOL_JOB_STATE_"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the job commands."""
    from ..settings import add_options
    from .settings import JobManagerSettings

    p = subparsers.add_parser("jobmanager", help="serve a job manager (GRAM's states; fork, Slurm or Dask)")
    add_options(p, JobManagerSettings)
    p.set_defaults(func=_jobmanager)

    tls = argparse.ArgumentParser(add_help=False)
    tls.add_argument("--cert", default=None, metavar="PEM", help="client certificate or proxy (HTTPS managers)")
    tls.add_argument("--ca", default=None, metavar="FILE|DIR", help="CA the manager's certificate chains to")

    g = subparsers.add_parser("globusrun", help="submit RSL to a job manager, as GT2's globusrun", parents=[tls])
    g.add_argument("rsl", nargs="?", help="the RSL request (or -f FILE)")
    g.add_argument("-r", dest="resource", metavar="CONTACT", help="the job manager, http(s)://host:port")
    g.add_argument("-f", dest="file", type=Path, metavar="RSLFILE", help="read the RSL from a file")
    g.add_argument("-b", "-batch", dest="batch", action="store_true", help="print the job contact and exit")
    g.add_argument("-q", "-quiet", dest="quiet", action="store_true", help="print no state changes")
    g.add_argument("-o", "-output", dest="output", action="store_true", help="print the job's stdout at the end")
    g.add_argument("-p", "-parse", dest="parse", action="store_true", help="only check the RSL")
    g.add_argument("-status", metavar="JOBCONTACT", help="print a job's state")
    g.add_argument("-k", "-kill", dest="kill", metavar="JOBCONTACT", help="cancel a job")
    g.set_defaults(func=_globusrun)

    r = subparsers.add_parser("job-run", help="run a program as a job, print its output, exit with its status",
                              parents=[tls])
    r.add_argument("contact", metavar="CONTACT")
    r.add_argument("argv", nargs=argparse.REMAINDER, metavar="EXECUTABLE ARGS")
    r.set_defaults(func=_job_run)
    s = subparsers.add_parser("job-submit", help="submit a program as a job and print its contact", parents=[tls])
    s.add_argument("contact", metavar="CONTACT")
    s.add_argument("argv", nargs=argparse.REMAINDER, metavar="EXECUTABLE ARGS")
    s.set_defaults(func=_job_submit)
    for name, helptext in (("rsl", "print the RSL of a kernel job (any GRAM job manager can run it)"),
                           ("submit", "run a kernel job and wait for it (fork by default)")):
        k = subparsers.add_parser(name, help=helptext, parents=[tls] if name == "submit" else [])
        k.add_argument("spec", metavar="SPEC")
        k.add_argument("function", metavar="FUNCTION")
        k.add_argument("--input", action="append", default=[], metavar="NAME=URL", help="an input, staged in")
        k.add_argument("--output", action="append", default=[], metavar="NAME=URL", help="an output, staged out")
        k.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a scalar (JSON)")
        k.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="an environment variable")
        k.add_argument("--scratch", default=None, metavar="DIR",
                       help="run in a scratch directory of its own under DIR (e.g. '$(HOME)' for GRAM5)")
        if name == "submit":
            k.add_argument("--backend", default="fork://", metavar="TARGET",
                           help="fork://, slurm:// or a job manager's http(s):// URL (default fork://)")
        k.set_defaults(func=_kernel, tool=name)
    for name, helptext in (("job-status", "print a job's state"), ("job-cancel", "cancel a job")):
        t = subparsers.add_parser(name, help=helptext, parents=[tls])
        t.add_argument("job", metavar="JOBCONTACT")
        t.set_defaults(func=_job_tool, tool=name)


def _client(url: str, args: argparse.Namespace) -> Any:
    from .client import JobClient

    return JobClient(url, cert=args.cert, verify=args.ca if args.ca else None)


def _manager_of(contact: str) -> str:
    from urllib.parse import urlsplit

    u = urlsplit(contact)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise UsageError(f"{contact}: expected a job contact, http(s)://host:port/jobs/ID")
    return f"{u.scheme}://{u.netloc}"


def _jobmanager(args: argparse.Namespace) -> int:
    from ..settings import from_args
    from .manager import JobManager
    from .server import JobServer
    from .settings import JobManagerSettings

    s = from_args(JobManagerSettings, args)
    tls = None
    if s.tls_cert:
        from ..gsi.tls import server_context

        tls = server_context(s.tls_cert, s.tls_key, s.tls_ca)  # type: ignore[arg-type]
    server = JobServer(JobManager(s.state, s.backend, callback_allow=s.callback_allow), s.host, s.port, tls=tls,
                       cert_dir=str(s.tls_ca) if s.tls_ca else None, gridmap=str(s.gridmap) if s.gridmap else None,
                       admins=tuple(s.admins), max_connections=s.max_connections).start()
    print(f"job manager at {server.url} ({s.backend}; state in {server.manager.state_dir})", flush=True)
    from ..proc import wait_for_stop

    wait_for_stop()
    server.stop()
    return 0


def _globusrun(args: argparse.Namespace) -> int:
    from .description import JobDescription

    if args.status or args.kill:
        contact = args.status or args.kill
        c = _client(_manager_of(contact), args)
        rec = c.status(contact) if args.status else c.cancel(contact)
        print(rec["state"] if args.status else f"job {rec['id']} cancelled")
        return 0
    if args.file is not None:
        if args.rsl:
            raise UsageError("give the RSL as an argument or with -f FILE, not both")
        try:
            text = args.file.read_text()
        except OSError as exc:
            raise UsageError(f"-f {args.file}: {exc.strerror}") from None
    elif args.rsl:
        text = args.rsl
    else:
        raise UsageError("give an RSL request (or -f RSLFILE, -status JOBCONTACT, -k JOBCONTACT)")
    if args.parse:
        JobDescription.from_rsl(text)
        print("RSL Parsed Successfully...")
        return 0
    if not args.resource:
        raise UsageError("-r CONTACT: which job manager (http(s)://host:port)")
    c = _client(args.resource, args)
    rec = c.submit(text)
    contact = rec["contact"]
    if rec.get("waiting_for_commit"):  # as GT2's globusrun: it asked for two-phase, it commits once submitted
        c.signal(contact, "COMMIT_REQUEST")
    if args.batch:
        print(contact)
        return 0
    after, last = 0, None
    while True:
        for e in c.events(contact, after, 30.0):
            after = e["seq"]
            if e["state"] != last and not args.quiet:
                print(STATE_WORDS + e["state"], flush=True)
            last = e["state"]
        if last in ("DONE", "FAILED"):
            break
    final = c.status(contact)
    if args.output:
        sys.stdout.write(c.output(contact).decode(errors="replace"))
    if final["state"] == "FAILED":
        print(f"GRAM Job failed because {final['cause']} (error code {final['failure_code']})", file=sys.stderr)
        return 1
    return 0


def _kernel(args: argparse.Namespace) -> int:
    import json

    from ..bind.call import _pairs
    from .kernel import kernel_job

    params = {}
    for name, text in _pairs(args.param, "--param").items():
        try:
            params[name] = json.loads(text)
        except json.JSONDecodeError:
            params[name] = text
    desc = kernel_job(args.spec, args.function, _pairs(args.input, "--input"), _pairs(args.output, "--output"),
                      params, scratch=args.scratch, environment=_pairs(args.env, "--env"))
    if args.tool == "rsl":
        print(desc.to_rsl())
        return 0
    from .job import JobFailed, submit

    options = {"cert": args.cert, "verify": args.ca} if args.backend.startswith("http") else {}
    job = submit(args.backend, desc, **options)
    try:
        rec = job.result()
    except JobFailed as exc:
        print(f"the kernel job failed ({exc.code}): {exc.record['cause']}", file=sys.stderr)
        return 1
    if rec["exit_code"]:
        sys.stderr.write(job.output("stderr").decode(errors="replace"))
        print(f"the kernel job ended with exit status {rec['exit_code']}", file=sys.stderr)
        return 1
    print(f"done: {job.contact}")
    return 0


def _argv(args: argparse.Namespace) -> list[str]:
    if not args.argv:
        raise UsageError("give the program to run (and its arguments)")
    return args.argv


def _job_run(args: argparse.Namespace) -> int:
    c = _client(args.contact, args)
    rec = c.submit(_argv(args))
    final = c.wait(rec["contact"])
    sys.stdout.buffer.write(c.output(rec["contact"], "stdout"))
    sys.stderr.buffer.write(c.output(rec["contact"], "stderr"))
    if final["state"] == "FAILED":
        print(f"job failed ({final['failure_code']}): {final['cause']}", file=sys.stderr)
        return 1
    return int(final["exit_code"] or 0) & 0xFF


def _job_submit(args: argparse.Namespace) -> int:
    print(_client(args.contact, args).submit(_argv(args))["contact"])
    return 0


def _job_tool(args: argparse.Namespace) -> int:
    c = _client(_manager_of(args.job), args)
    if args.tool == "job-status":
        print(c.status(args.job)["state"])
    else:
        c.cancel(args.job)
    return 0
