"""Run kernel calls in a worker process each, so a crash, STOP, hang or memory blow-up fails one call.

    mod = wrapgen.load("services/tridiag.yaml", isolate=True)
    mod.tridiag(dl, d, du, b)      # same signature; b is updated in place as usual

Each function gets its own long-lived worker (`python -m wrapgen.run`), limited by the spec's
`resources` (memory, timeout). A worker that dies is replaced on the next call. Arrays travel as
wrapgen.bind.shared describes: arrays the caller keeps in shared memory (wrapgen.shared_zeros/shared_array) are
worked on in place, with no copy; other inout arrays are copied back into the caller's only after a clean return,
so a crash leaves them as they were. Both sides poll for a moment before they sleep (a round trip of ~30 µs
instead of ~70 µs on a VM, where waking a process is slow). A callback stays in the
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
import weakref
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

def describe_death(name: str, status: int, tail: str, memory: int | None, what: str,
                   kept: str = "the caller's arrays were not changed") -> BindError:
    """The exception for a kernel process that ended (Popen-style status: negative for a signal); kept says what
    became of the caller's arrays."""
    death = proc.describe_death(status, tail, memory)
    if death.kind == "memory":
        return KernelOutOfMemory(f"{name}: the kernel needed more than its memory limit of {memory} bytes "
                                 f"while {what}{tail}")
    if death.kind == "signal":
        return KernelCrashed(f"{name}: the kernel crashed with {death.signal} ({death.description}) while "
                             f"{what}; {kept}{tail}")
    return KernelExited(f"{name}: the kernel ended its process with exit status {status} while {what} "
                        f"(a Fortran STOP, exit() or a runtime error); {kept}{tail}")


log_tail = proc.log_tail


def _portable(exc: BaseException) -> BaseException:
    """An exception that pickles: the callback's own if it does, else a RuntimeError saying what it was (the
    caller keeps the original either way)."""
    try:
        pickle.dumps(exc)
        return exc
    except Exception:  # noqa: BLE001 - any failure to pickle
        return RuntimeError(f"{type(exc).__name__}: {exc}")


class IsolatedFunction:
    """A kernel function whose calls run in a worker process."""

    #: Seconds each side polls without sleeping before it sleeps, while waits are that short (shared.Waiter).
    spin = 200e-6

    def __init__(self, spec: Path, name: str, cache: str | None, timeout: float | None, memory: int | None,
                 doc: str | None, params: list[str], declared: dict[str, type[KernelError] | type[KernelWarning]],
                 inout: set[str], strict: set[str], callbacks: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self._spec, self.__name__, self._cache = spec, name, cache
        self._inout = inout  # arrays the kernel may write
        self._strict = strict  # arrays that must match exactly (no silent copy)
        self._callbacks = callbacks  # callables: they run here, the worker calls them back
        self._lock = threading.Lock()
        self._pool: list[shared.Pages] = []  # pages large arguments are copied into, reused across calls
        self._mapped: dict[shared.Identity, weakref.ref[shared.Pages]] = {}  # pages the worker has mapped
        self._in_place: list[str] = []  # arguments of the running call the kernel writes in shared pages
        self._declared = declared
        self._params = params  # Python parameter order, to find a positional inout argument
        self.timeout, self.memory = timeout, memory
        self.__doc__ = doc
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._waiter: shared.Waiter | None = None
        self._log: Any = None

    def _start(self) -> None:
        parent, child = socket.socketpair()
        self._log = tempfile.TemporaryFile()
        self._pool, self._mapped = [], {}
        env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
        cmd = [sys.executable, "-P", "-m", "wrapgen.bind.run", "--fd", str(child.fileno()), "--spec", str(self._spec),
               "--function", self.__name__, "--memory", str(self.memory or 0), "--spin", repr(self.spin)]
        if self._cache:
            cmd += ["--cache", self._cache]
        self._proc = subprocess.Popen(cmd, pass_fds=[child.fileno()], stdin=subprocess.DEVNULL,
                                      stdout=self._log, stderr=subprocess.STDOUT, env=env)
        child.close()
        self._conn = Connection(parent.detach())
        self._waiter = shared.Waiter(self._conn.fileno(), self.spin)
        kind, value = self._receive(timeout=None, what="starting its worker")
        if kind == "error":
            self.close()
            raise value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:  # one conversation at a time on the worker's socket
            return self._call(args, kwargs)

    def _name(self, key: int | str) -> int | str:
        """The parameter name of a positional or keyword argument."""
        return self._params[key] if isinstance(key, int) and key < len(self._params) else key

    def _call(self, args: tuple, kwargs: dict) -> Any:
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        assert self._conn is not None and self._proc is not None
        call_args, call_kwargs = list(args), dict(kwargs)
        arrays: dict[int | str, tuple[Any, ...]] = {}  # descriptors of the array arguments, by position or name
        new: list[shared.Pages] = []  # pages the worker has not mapped yet: their descriptors follow the message
        copies: list[tuple[np.ndarray, np.ndarray]] = []  # (caller's inout array, its copy in the pool)
        back: dict[int | str, np.ndarray] = {}  # small inout arrays the worker sends back, and where they go
        callables: list[Any] = []
        self._in_place = []
        pool = 0
        for key, value in [*enumerate(args), *kwargs.items()]:
            name = self._name(key)
            if name in self._callbacks and callable(value):
                callables.append(value)
                value = shared.CallbackRef(len(callables) - 1)
            elif name in self._inout and isinstance(value, (bytearray, memoryview)):
                # the kernel writes it: an ndarray over the same memory, so the result lands in the caller's buffer
                value = as_buffer(value)
            if not isinstance(value, np.ndarray) or value.dtype.hasobject:
                if isinstance(key, int):
                    call_args[key] = value
                else:
                    call_kwargs[key] = value
                continue
            writes = name in self._inout and value.flags.writeable
            pages = shared.pages_of(value)
            if pages is not None:  # the caller's shared pages: the kernel works on them in place
                desc = shared.on_pages(value, pages)
                if writes:
                    self._in_place.append(str(name))
            elif shared.shareable(value):
                if pool == len(self._pool) or len(self._pool[pool]) < value.nbytes:
                    fresh = shared.Pages.create(value.nbytes)
                    self._pool[pool:pool + 1] = [fresh]  # a replaced one is let go: the worker hears of it
                pages = self._pool[pool]
                pool += 1
                copy, desc = shared.copy_into(pages, value)
                if writes:
                    copies.append((value, copy))
            elif name in self._strict and value.nbytes and not (value.flags.c_contiguous or value.flags.f_contiguous):
                # A strided view cannot travel as it is; refuse it where the module itself would (no silent copy).
                raise TypeError(f"{self.__name__}(): argument '{name}' must be contiguous, got a strided view "
                                f"(no silent copy)")
            else:
                desc = shared.inline(value)
                if writes:
                    back[key] = value
            if pages is not None:
                ref = self._mapped.get(pages.identity)
                if (ref() if ref is not None else None) is not pages and pages not in new:
                    new.append(pages)
            arrays[key] = desc
            if isinstance(key, int):
                call_args[key] = None
            else:
                call_kwargs[key] = None
        # Pages this side let go since the last call: the worker unmaps them (first, as a new memfd may reuse the
        # identity of a closed one).
        forget = [ident for ident, ref in self._mapped.items() if ref() is None]
        message = ("call", tuple(call_args), call_kwargs, arrays, [p.identity for p in new], forget, list(back))
        try:
            data = pickle.dumps(message, protocol=5)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise TypeError(f"{self.__name__}(): an argument cannot be sent to the isolated worker: {exc}; "
                            f"pass numbers, strings and arrays (callables only where the spec declares a "
                            f"callback)") from None
        try:
            self._conn.send_bytes(data)
            shared.send_pages(self._conn, new)
        except (BrokenPipeError, ConnectionResetError):
            self._receive(timeout=0, what="receiving the call")  # raises with the cause
        for ident in forget:
            del self._mapped[ident]
        for pages in new:
            self._mapped[pages.identity] = weakref.ref(pages)
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
                self._conn.send_bytes(pickle.dumps(answer, protocol=5))
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                raised.append(TypeError(f"{self.__name__}(): a callback returned a value that cannot be sent "
                                        f"to the isolated kernel: {exc}"))
                self._conn.send_bytes(pickle.dumps(("raise", _portable(raised[-1])), protocol=5))
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
            _, cls_name, message_text, code = reply
            exc = self._declared[cls_name](message_text)
            exc.code = code
            raise exc
        _, result, descs, n_pages, written, warned = reply
        owned = shared.receive_pages(self._conn, n_pages)  # the large returned arrays': this side's from now on
        for w in warned:  # warnings of the call, raised here as if the kernel ran in this process
            if isinstance(w, tuple):  # a class the spec declares, rebuilt on this side like exceptions
                cls_name, message_text, code = w
                w = self._declared[cls_name](message_text)
                w.code = code
            warnings.warn(w, stacklevel=4)
        # Only now, after a clean return, do the caller's arrays change: copy back what the kernel may have
        # written (intent inout), from the message (small arrays) or the pool's pages.
        for key, data in written.items():
            original = back[key]
            np.copyto(original, np.ndarray(original.shape, original.dtype, buffer=data,
                                           order=shared.order_of(original)))
        for original, copy in copies:
            np.copyto(original, copy)
        return shared.rebuilt(result, descs, owned)

    def _receive(self, timeout: float | None, what: str) -> tuple[Any, ...]:
        assert self._conn is not None and self._proc is not None
        assert self._waiter is not None
        try:
            if not self._waiter.wait(timeout):
                self._proc.kill()
                self._proc.wait()
                tail = self._tail()
                self.close()
                raise KernelTimeout(f"{self.__name__}: no result after {timeout:g} s; the worker was killed; "
                                    f"{self._kept()}{tail}")
            return pickle.loads(self._conn.recv_bytes())
        except (EOFError, ConnectionResetError, BrokenPipeError):
            raise self._death(what) from None

    def _death(self, what: str) -> BindError:
        assert self._proc is not None
        status = self._proc.wait()
        tail = self._tail()
        self.close()
        return describe_death(self.__name__, status, tail, self.memory, what, self._kept())

    def _kept(self) -> str:
        """What became of the caller's arrays when the running call did not end cleanly."""
        if not self._in_place:
            return "the caller's arrays were not changed"
        return (f"the arrays in shared memory ({', '.join(self._in_place)}) may have been partly written; the "
                f"caller's other arrays were not changed")

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
        self._pool, self._mapped, self._waiter = [], {}, None  # the pages are unmapped when no view is left


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
