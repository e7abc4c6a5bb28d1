"""Peers for bench/soap.py, served by the same gunicorn as wrapgen's services:

    /spyne  a bare spyne 2.14 application: dadd(a, b) calling the same Fortran in-process (no isolation),
            daxpy1(a, x, y) with x and y as Array(Double) (spyne's element-per-value arrays)
    /raw    a raw HTTP POST: little-endian x then y in the body, y := a*x + y returned as bytes
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from spyne import Application, Array, Double, ServiceBase, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

import wrapgen

BLAS1 = wrapgen.load(Path(os.environ["WRAPGEN_BENCH_ROOT"]) / "services" / "blas1.yaml")


class Blas1(ServiceBase):
    @rpc(Double, Double, _returns=Double)
    def dadd(ctx, a, b):  # noqa: N805 (spyne's signature)
        return BLAS1.dadd(a, b)

    @rpc(Double, Array(Double), Array(Double), _returns=Array(Double))
    def daxpy1(ctx, a, x, y):  # noqa: N805
        y = np.array(y, dtype=np.float64)
        BLAS1.daxpy1(a, np.array(x, dtype=np.float64), y)
        return y.tolist()


spyne_app = WsgiApplication(Application([Blas1], tns="urn:bench:spyne", in_protocol=Soap11(validator="soft"),
                                        out_protocol=Soap11()), max_content_length=512 * 1024 * 1024)


def raw_app(environ, start_response):
    a = float(environ.get("QUERY_STRING") or "1")
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    xy = np.frombuffer(body, dtype="<f8")
    x, y = xy[: len(xy) // 2].copy(), xy[len(xy) // 2:].copy()  # frombuffer views are read-only
    BLAS1.daxpy1(a, x, y)
    data = y.tobytes()
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(data)))])
    return [data]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/raw"):
        return raw_app(environ, start_response)
    environ["PATH_INFO"] = path.removeprefix("/spyne") or "/"
    return spyne_app(environ, start_response)
