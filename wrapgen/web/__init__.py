"""The visual pipeline editor: `wrapgen editor PIPELINE.yaml` serves a browser canvas over wrapgen.pipeline.

Layers (nothing imports this package): `ports` (port types and the link check, sans-IO), `palette` (node types
from spec files and WSDLs), `document` (pipeline YAML <-> the canvas's graph), `live` (node states from the
journal and the run's log), `api` (the editor's JSON/HTTP surface, one object per editor), `server` (HTTP and
server-sent events on 127.0.0.1), `static/` (the page: plain ES modules over litegraph, vendored, no build)."""
