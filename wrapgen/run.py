"""`python -m wrapgen.run`: with --fd, the isolated kernel worker (wrapgen.bind.run, kept here for scripts that
start it by this name); otherwise one kernel call from files, as a kernel job runs it (wrapgen.bind.call)."""

from __future__ import annotations

if __name__ == "__main__":
    import sys

    sys.stdout.flush()
    if any(a == "--fd" or a.startswith("--fd=") for a in sys.argv[1:]):
        from wrapgen.bind.run import main
    else:
        from wrapgen.bind.call import main
    raise SystemExit(main())
