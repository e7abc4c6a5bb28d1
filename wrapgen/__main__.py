"""`python -m wrapgen` is the `wrapgen` command."""

from .cli import main

raise SystemExit(main())
