"""The pipeline file's typed model (`wrapgen schema --pipeline` prints its JSON Schema).

A pipeline is named steps of five kinds: `stage_in` (a URL into the pipeline's content store), `compute` (a spec
kernel's function, its inputs wired from other steps' outputs), `call` (an operation of a service known by its
WSDL alone), `python` (a small expression over its inputs, run in-process) and `stage_out` (a step's output to a
URL).
Wires name a step (its only output) or `step.output`; they make the DAG, with `after:` for order alone.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")]
Scalar = bool | int | float | str

#: A sha256 digest as lower-case hex.
Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Sweep(BaseModel):
    """Parameter points a step fans out over: every combination of `product`'s lists, each combined with every
    row of `zip`'s lists (which must be of one length)."""

    model_config = ConfigDict(extra="forbid")
    product: dict[Name, list[Scalar]] = Field(default_factory=dict, description="NAME: [values]; all combinations")
    zip: dict[Name, list[Scalar]] = Field(default_factory=dict, description="NAME: [values]; taken row by row")


class Step(BaseModel):
    """One step: exactly one of stage_in, compute, call, python or stage_out."""

    model_config = ConfigDict(extra="forbid")
    doc: str = ""
    stage_in: str | None = Field(None, description="URL to fetch (file, ftp, gsiftp, http(s)); its output is 'data'")
    sha256: Digest | None = Field(None, description="stage_in: the digest the data must have")
    compute: str | None = Field(None, description="SPEC#FUNCTION: a spec file (relative to the pipeline) and "
                                "one of its functions")
    inputs: dict[Name, str] = Field(default_factory=dict, description="compute: ARG: STEP or STEP.OUTPUT")
    params: dict[Name, Scalar] = Field(default_factory=dict, description="compute: ARG: a scalar value")
    outputs: list[Name] | None = Field(None, description="compute: the outputs kept (default: all it gives)")
    sweep: Sweep | None = Field(None, description="compute: parameter points to fan out over")
    job: str | None = Field(None, description="compute: run as a job on fork://, slurm://, dask://HOST:PORT or a "
                            "job manager's http(s):// URL (null: in this process, whatever defaults say)")
    service: str | None = Field(None, description="compute: call a published service (http(s)://HOST:PORT/LIB)")
    isolate: bool = Field(False, description="compute, in-process: run the call in an isolated worker process")
    call: str | None = Field(None, description="SERVICE_URL#OPERATION: an operation of a published service known "
                             "only by its WSDL (SERVICE_URL?wsdl); inputs and params as for compute, outputs listed")
    python: str | None = Field(None, description="a Python expression over the step's inputs and params (numpy as "
                               "np); its value is the output 'result' (an array or a JSON value)")
    stage_out: str | None = Field(None, description="STEP or STEP.OUTPUT to deliver")
    to: str | None = Field(None, description="stage_out: the destination URL; {PARAM} names a sweep's value")
    after: list[Name] = Field(default_factory=list, description="steps that must end first (order only)")
    retries: int | None = Field(None, ge=0, le=20, description="transient failures retried (default: defaults)")


class Defaults(BaseModel):
    """Settings every step takes unless it says otherwise."""

    model_config = ConfigDict(extra="forbid")
    retries: int = Field(2, ge=0, le=20, description="transient failures (network, scheduler) retried")
    job: str | None = Field(None, description="run every compute step as a job here (a backend URL)")
    verify: bool = Field(True, description="compare every stage-in and stage-out with the server's own SHA256 "
                         "(false: trust the transfer; the local digest that keys the content is still computed, and "
                         "a declared sha256 is still checked)")


class Pipeline(BaseModel):
    """A stage-compute-retrieve pipeline."""

    model_config = ConfigDict(extra="forbid")
    pipeline: Name = Field(description="the pipeline's name")
    doc: str = ""
    defaults: Defaults = Field(default_factory=Defaults)
    steps: dict[Name, Step] = Field(min_length=1)
    layout: dict[Name, tuple[float, float]] = Field(default_factory=dict, description="where the editor draws each "
                                                    "step (x, y); runs ignore it")


def json_schema() -> dict[str, Any]:
    """The pipeline file's JSON Schema."""
    schema = Pipeline.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "wrapgen pipeline"
    return schema


KIND = Literal["stage_in", "compute", "call", "python", "stage_out"]
