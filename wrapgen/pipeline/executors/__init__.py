"""Where compute steps run: in this process, as jobs (fork, Slurm, Dask, a job manager) or on a published
service. One small interface (base.Executor); executors are named by dotted strings and imported when used."""

from __future__ import annotations

import importlib
from typing import Any

from .base import Executor

EXECUTORS: dict[str, str] = {
    "local": "wrapgen.pipeline.executors.local:LocalExecutor",
    "job": "wrapgen.pipeline.executors.job:JobExecutor",
    "service": "wrapgen.pipeline.executors.service:ServiceExecutor",
    "call": "wrapgen.pipeline.executors.call:CallExecutor",
    "python": "wrapgen.pipeline.executors.python:PythonExecutor",
}


def make_executor(placement: str, **options: Any) -> Executor:
    """The executor for a placement ('local', 'job:URL', 'service:URL', 'call:URL', 'python')."""
    kind, _, target = placement.partition(":")
    module, _, cls = EXECUTORS[kind].partition(":")
    return getattr(importlib.import_module(module), cls)(target, **options)


__all__ = ["EXECUTORS", "Executor", "make_executor"]
