"""Kernel jobs: a spec's function as a job. Inputs are URLs staged into the job directory, outputs are staged
back to URLs, and the job runs `python -m wrapgen.run SPEC FUNCTION ...` there, so any GRAM job manager (ours or
a GRAM5 gatekeeper) can run it from the RSL `to_rsl()` prints."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from .description import JobDescription
from .errors import GRAMError


def kernel_job(spec: str | os.PathLike[str], function: str, inputs: dict[str, str] | None = None,
               outputs: dict[str, str] | None = None, params: dict[str, Any] | None = None,
               python: str | None = None, scratch: str | None = None, **fields: Any) -> JobDescription:
    """The job that calls spec's function: inputs NAME -> URL (arrays as .npy, scalars as JSON), params
    NAME -> scalar, outputs NAME -> URL; fields are more JobDescription fields (queue, max_wall_time, ...).

    Files are staged flat into the job directory (in.NAME, out.NAME: GRAM5 makes no directories when it stages).
    scratch="$(HOME)" (say) runs the job in a scratch directory of its own under it (GRAM's scratch_dir), which
    a GRAM5 job manager needs for jobs not to share $(HOME); wrapgen's manager gives every job its own directory
    anyway."""
    from ..spec.load import load_spec

    spec_path = Path(spec).resolve()
    lib = load_spec(spec_path)  # a wrong spec or function fails here, not on the execution host
    if function not in lib.functions:
        raise GRAMError(f"{spec}: no function {function!r}; the spec has {', '.join(lib.functions)}", code=55)
    args = ["-m", "wrapgen.run", str(spec_path), function]
    stage_in, stage_out = [], []
    for name, url in (inputs or {}).items():
        args += ["--input", f"{name}=in.{name}"]
        stage_in.append((url, f"in.{name}"))
    for name, value in (params or {}).items():
        args += ["--param", f"{name}={json.dumps(value)}"]
    for name, url in (outputs or {}).items():
        args += ["--output", f"{name}=out.{name}"]
        stage_out.append((f"out.{name}", url))
    if scratch is not None:
        fields.setdefault("scratch_dir", scratch)
        fields.setdefault("directory", "$(SCRATCH_DIRECTORY)")
    return JobDescription(executable=python or sys.executable, arguments=args, file_stage_in=stage_in,
                          file_stage_out=stage_out, job_type="single", **fields)
