"""`python -m wrapgen.run`: kept for scripts that start the isolated kernel worker by its old name; the worker
is wrapgen.bind.run."""

from __future__ import annotations

if __name__ == "__main__":
    import sys

    from wrapgen.bind.run import main

    sys.stdout.flush()
    raise SystemExit(main())
