"""Run kernel calls in a worker process each, so a crash, STOP, hang or memory blow-up fails one call.

    mod = wrapgen.load("services/tridiag.yaml", isolate=True)
    mod.tridiag(dl, d, du, b)      # same signature; b is updated in place as usual

Each function gets its own long-lived worker (`python -m wrapgen.run`), limited by the spec's
`resources` (memory, timeout). A worker that dies is replaced on the next call. Arguments and results
are passed through shared memory (memfd; see wrapgen.bind.shared), everything else pickled; intent
inout arrays are copied back into the caller's arrays only after a clean return. A callback stays in the
caller's process (lambdas, closures and functions of __main__ need not pickle): the kernel calls it back over
the worker's channel, and an exception it raises comes back to the caller as the very object it raised.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import tempfile
import threading
import types
import warnings
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from .. import proc
from ..spec import load_spec
from . import shared
from .build import build
from .runtime import KernelError, KernelWarning, as_buffer, declared_class
from .wrapper import declared_classes, declared_warnings, docstring, python_params
from .errors import BindError, KernelCrashed, KernelExited, KernelOutOfMemory, KernelTimeout

def describe_death(name: str, status: int, tail: str, memory: int | None, what: str) -> BindError:
    """The exception for a kernel process that ended (Popen-style status: negative for a signal)."""
    death = proc.describe_death(status, tail, memory)
    if death.kind == "memory":
        return KernelOutOfMemory(f"{name}: the kernel needed more than its memory limit of {memory} bytes "
                                 f"while {what}{tail}")
    if death.kind == "signal":
        return KernelCrashed(f"{name}: the kernel crashed with {death.signal} ({death.description}) while "
                             f"{what}; the caller's arrays were not changed{tail}")
    return KernelExited(f"{name}: the kernel ended its process with exit status {status} while {what} "
                        f"(a Fortran STOP, exit() or a runtime error); the caller's arrays were not changed{tail}")


log_tail = proc.log_tail


def _portable(exc: BaseException) -> BaseException:
    """An exception that pickles: the callback's own if it does, else a RuntimeError saying what it was (the
    caller keeps the original either way)."""
    try:
        pickle.dumps(exc)
        return exc
    except Exception:  # noqa: BLE001 - any failure to pickle
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _stand_ins(value: Any) -> list[shared.SharedArray]:
    found: list[shared.SharedArray] = []
    shared.replace(value, lambda v: found.append(v) if isinstance(v, shared.SharedArray) else None)
    return found


class IsolatedFunction:
    """A kernel function whose calls run in a worker process."""

    def __init__(self, spec: Path, name: str, cache: str | None, timeout: float | None, memory: int | None,
                 doc: str | None, params: list[str], declared: dict[str, type[KernelError] | type[KernelWarning]],
                 inout: set[str], strict: set[str], callbacks: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self._spec, self.__name__, self._cache = spec, name, cache
        self._inout = inout  # arrays the kernel may write: copied back after a clean return
        self._strict = strict  # arrays that must match exactly (no silent copy)
        self._callbacks = callbacks  # callables: they run here, the worker calls them back
        self._lock = threading.Lock()
        self._pool: list[shared.Segment] = []  # reused across calls
        self._declared = declared
        self._params = params  # Python parameter order, to find a positional inout argument
        self.timeout, self.memory = timeout, memory
        self.__doc__ = doc
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._log: Any = None

    def _start(self) -> None:
        parent, child = socket.socketpair()
        self._log = tempfile.TemporaryFile()
        env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
        cmd = [sys.executable, "-P", "-m", "wrapgen.bind.run", "--fd", str(child.fileno()), "--spec", str(self._spec),
               "--function", self.__name__, "--memory", str(self.memory or 0)]
        if self._cache:
            cmd += ["--cache", self._cache]
        self._proc = subprocess.Popen(cmd, pass_fds=[child.fileno()], stdin=subprocess.DEVNULL,
                                      stdout=self._log, stderr=subprocess.STDOUT, env=env)
        child.close()
        self._conn = Connection(parent.detach())
        kind, value = self._receive(timeout=None, what="starting its worker")
        if kind == "error":
            self.close()
            raise value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:  # one conversation at a time on the worker's socket
            return self._call(args, kwargs)

    def _call(self, args: tuple, kwargs: dict) -> Any:
        # bytearray/memoryview arguments the kernel writes become ndarrays over the same memory, so that the copy
        # back after the call lands in the caller's buffer.
        args = tuple(as_buffer(v) if i < len(self._params) and self._params[i] in self._inout else v
                     for i, v in enumerate(args))
        kwargs = {k: as_buffer(v) if k in self._inout else v for k, v in kwargs.items()}
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        assert self._conn is not None and self._proc is not None
        # A strided view cannot travel as shared pages; refuse it where the module itself would (no
        # silent copies), instead of letting a contiguous pickle through.
        for position, value in [*enumerate(args), *kwargs.items()]:
            name = self._params[position] if isinstance(position, int) and position < len(self._params) else position
            if name in self._strict and isinstance(value, np.ndarray) and not shared.shareable(value) \
                    and value.nbytes and not (value.flags.c_contiguous or value.flags.f_contiguous):
                raise TypeError(f"{self.__name__}(): argument '{name}' must be contiguous, got a strided view "
                                f"(no silent copy)")
        segments: list[shared.Segment] = []
        originals: list[np.ndarray] = []

        def export(value: Any) -> Any:
            if shared.shareable(value):
                i = len(segments)
                stand_in, seg = shared.export(value, i, self._pool[i] if i < len(self._pool) else None)
                segments.append(seg)
                originals.append(value)
                return stand_in
            return value

        callables: list[Any] = []

        def refer(name: Any, value: Any) -> Any:
            if name in self._callbacks and callable(value):
                callables.append(value)
                return shared.CallbackRef(len(callables) - 1)
            return value

        try:
            call_args = tuple(refer(self._params[i] if i < len(self._params) else i, v) for i, v in enumerate(args))
            call_kwargs = {k: refer(k, v) for k, v in kwargs.items()}
            call_args, call_kwargs = shared.replace(call_args, export), shared.replace(call_kwargs, export)
            stand_ins = [s for s in _stand_ins(call_args) + _stand_ins(call_kwargs)]
            try:
                self._conn.send(("call", call_args, call_kwargs, sorted(stand_ins, key=lambda s: s.index)))
                shared.send_segments(self._conn, segments, self._proc.pid)
            except (BrokenPipeError, ConnectionResetError):
                self._receive(timeout=0, what="receiving the call")  # raises with the cause
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                # Nothing was sent (pickling happens before the write): the worker is still in step.
                raise TypeError(f"{self.__name__}(): an argument cannot be sent to the isolated worker: {exc}; "
                                f"pass numbers, strings and arrays (callables only where the spec declares a "
                                f"callback)") from None
            raised: list[BaseException] = []
            reply = self._receive(timeout=self.timeout, what="running")
            while reply[0] == "callback":  # the kernel calls back: the callable runs here, in the caller
                _, index, cb_args = reply
                try:
                    answer: tuple[str, Any] = ("return", callables[index](*cb_args))
                except BaseException as exc:  # noqa: BLE001 - the kernel's abort protocol takes it from here
                    raised.append(exc)
                    answer = ("raise", _portable(exc))
                try:
                    self._conn.send(answer)
                except (pickle.PicklingError, TypeError, AttributeError) as exc:
                    raised.append(TypeError(f"{self.__name__}(): a callback returned a value that cannot be sent "
                                            f"to the isolated kernel: {exc}"))
                    self._conn.send(("raise", _portable(raised[-1])))
                reply = self._receive(timeout=self.timeout, what="running")
            if reply[0] == "error" and raised:
                # The worker re-raised a callback's exception after the kernel stopped: raise the original
                # object (the caller's own class and attributes), with the worker's note on what happened.
                for note in getattr(reply[1], "__notes__", []):
                    raised[0].add_note(note)
                raise raised[0]
            if reply[0] == "error":
                raise reply[1]
            if reply[0] == "declared":  # an exception class the spec declares: rebuilt on this side
                _, cls_name, message, code = reply
                exc = self._declared[cls_name](message)
                exc.code = code
                raise exc
            _, result, n_returned, small, warned = reply
            for w in warned:  # warnings of the call, raised here as if the kernel ran in this process
                if isinstance(w, tuple):  # a class the spec declares, rebuilt on this side like exceptions
                    cls_name, message, code = w
                    w = self._declared[cls_name](message)
                    w.code = code
                warnings.warn(w, stacklevel=4)
            for key, value in small.items():  # pickled (small) arrays the kernel may have written
                name = self._params[key] if isinstance(key, int) and key < len(self._params) else key
                original = args[key] if isinstance(key, int) else kwargs[key]
                if name in self._inout and isinstance(original, np.ndarray):
                    np.copyto(original, value)
            # Only now, after a clean return, do the caller's arrays change: copy back what the kernel
            # may have written (intent inout) from the shared pages.
            for original, seg, stand_in in zip(originals, segments, sorted(stand_ins, key=lambda s: s.index)):
                if original.flags.writeable and self._writes(stand_in, call_args, call_kwargs):
                    np.copyto(original, seg.array)
            if n_returned:
                returned = shared.receive_segments(self._conn, _stand_ins(result))
                by_index = {i: seg for i, seg in enumerate(returned)}
                try:
                    result = shared.replace(result, lambda v: by_index[v.index].array.copy()
                                            if isinstance(v, shared.SharedArray) else v)
                finally:
                    for seg in returned:
                        seg.close()
            return result
        finally:
            # Keep the segments for the next call (pages already faulted in, on both sides).
            for i, seg in enumerate(segments):
                seg.array = None
                if i < len(self._pool):
                    if self._pool[i] is not seg:
                        self._pool[i].close()
                        self._pool[i] = seg
                else:
                    self._pool.append(seg)

    def _writes(self, stand_in: shared.SharedArray, call_args: tuple, call_kwargs: dict) -> bool:
        """Whether the argument behind stand_in is one the kernel may write (intent inout)."""
        for name, value in call_kwargs.items():
            if value is stand_in:
                return name in self._inout
        for position, value in enumerate(call_args):
            if value is stand_in:
                return position < len(self._params) and self._params[position] in self._inout
        return False

    def _receive(self, timeout: float | None, what: str) -> tuple[Any, ...]:
        assert self._conn is not None and self._proc is not None
        try:
            if timeout is not None and not self._conn.poll(timeout):
                self._proc.kill()
                self._proc.wait()
                tail = self._tail()
                self.close()
                raise KernelTimeout(f"{self.__name__}: no result after {timeout:g} s; the worker was killed"
                                    f"{tail}")
            return self._conn.recv()
        except (EOFError, ConnectionResetError, BrokenPipeError):
            raise self._death(what) from None

    def _death(self, what: str) -> BindError:
        assert self._proc is not None
        status = self._proc.wait()
        tail = self._tail()
        self.close()
        return describe_death(self.__name__, status, tail, self.memory, what)

    def _tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - 2000))
        return log_tail(self._log.read().decode("utf-8", "replace"))

    def close(self) -> None:
        """Stop the worker (a later call starts a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            if self._proc.poll() is None:
                try:
                    self._proc.wait(timeout=5)  # it exits when the connection closes
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        for seg in self._pool:
            seg.close()
        self._pool = []


class IsolatedModule(types.ModuleType):
    """The functions of a spec, each calling into its own worker process."""

    def __init__(self, spec: str | os.PathLike[str], cache: str | os.PathLike[str] | None = None,
                 timeout: float | None = None) -> None:
        path = Path(spec).resolve()
        lib = load_spec(path)
        # Built here, so workers never race to build, but not imported: this process must not load the
        # kernel's libraries at all (their constructors and symbol bindings would run here too).
        build(path, cache=cache)
        super().__init__(lib.name, f"{lib.name} {lib.version}: {lib.doc or 'wrapped by wrapgen'} (isolated calls)")
        declared = {name: declared_class(lib.name, name) for name in declared_classes(lib)}
        declared.update({name: declared_class(lib.name, name, warning=True) for name in declared_warnings(lib)})
        for name, cls in declared.items():
            setattr(self, name, cls)
        self._functions: dict[str, IsolatedFunction] = {}
        for name, fn in lib.functions.items():
            r = fn.resources
            required, optional = python_params(fn)
            f = IsolatedFunction(path, name, str(cache) if cache is not None else None,
                                 timeout if timeout is not None else r.timeout, r.memory,
                                 docstring(lib, name, fn), required + optional, declared,
                                 {n for n, a in fn.args.items() if a.intent == "inout" and a.is_array},
                                 {n for n, a in fn.args.items() if a.is_array and a.convert == "error"},
                                 set(fn.callbacks))
            self._functions[name] = f
            setattr(self, name, f)

    def close(self) -> None:
        """Stop every worker."""
        for f in self._functions.values():
            f.close()

    def __enter__(self) -> IsolatedModule:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
