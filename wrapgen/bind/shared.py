"""Arrays between a caller and its isolated worker without pickling them: the message format of isolated calls.

Three ways an array travels, chosen per argument:
- **in shared pages the caller allocated** (`wrapgen.shared_zeros()`, `wrapgen.shared_array()`, or an array an
  isolated call returned): the worker maps the same memfd and the kernel works on it in place, no copy either way;
- **large (≥ MIN_SHARED_BYTES)**: copied into a per-function pool of memfd pages the worker keeps mapped (inout
  results are copied back only after a clean return, so a crash leaves the caller's array as it was);
- **small**: as `(dtype, shape, order, bytearray)` in the message (numpy's own pickles cost ~8 µs an array).

Both sides keep their mappings across calls (pages faulted in once); a memfd's descriptor crosses the socket only
the first time, and the caller lists the pages it has since let go so that the worker unmaps them too. A memfd has
no name in /dev/shm, so nothing can leak: its memory is freed when the last mapping and descriptor close.
"""

from __future__ import annotations

import mmap
import os
import select
import time
import weakref
from dataclasses import dataclass
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

#: Smaller arrays travel in the message: setting up shared pages costs more than copying them through the socket.
MIN_SHARED_BYTES = 64 * 1024

Identity = tuple[int, int]  # (st_dev, st_ino) of a memfd: unique among the memfds open at one time


@dataclass(frozen=True)
class CallbackRef:
    """Stands in a pickled message for the caller's callable number index: the callable stays in the caller's
    process (a lambda, a closure, a function of __main__ need not pickle), and the worker calls it back over the
    same channel."""

    index: int


class Pages(mmap.mmap):
    """A memfd mapped in this process: the buffer (the `.base`) of every shared array on it."""

    fd: int
    identity: Identity
    address: int

    @classmethod
    def adopt(cls, fd: int) -> Pages:
        """Map a whole memfd; the descriptor is closed when the mapping is collected."""
        stat = os.fstat(fd)
        pages = cls(fd, stat.st_size)
        pages.fd, pages.identity = fd, (stat.st_dev, stat.st_ino)
        pages.address = np.frombuffer(pages, np.uint8).ctypes.data
        weakref.finalize(pages, os.close, fd)
        return pages

    @classmethod
    def create(cls, nbytes: int) -> Pages:
        """New zero-filled pages of at least nbytes (a mapping cannot be empty)."""
        fd = os.memfd_create("wrapgen-array", os.MFD_CLOEXEC)
        try:
            os.ftruncate(fd, max(nbytes, 1))
            return cls.adopt(fd)
        except BaseException:
            os.close(fd)
            raise

    def view(self, shape: tuple[int, ...], dtype: str, strides: tuple[int, ...] | None = None, offset: int = 0,
             order: str = "C") -> np.ndarray:
        """An ndarray on these pages."""
        return np.ndarray(shape, dtype=np.dtype(dtype), buffer=self, offset=offset, strides=strides, order=order)


def zeros(shape: int | tuple[int, ...], dtype: Any = float, order: str = "C") -> np.ndarray:
    """A zero-filled array in shared memory: isolated calls hand it to their kernel without copying."""
    dt = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    pages = Pages.create(int(np.prod(shape, dtype=np.int64)) * dt.itemsize)
    return pages.view(shape, dt.str, order=order)


def array(value: Any, dtype: Any = None, order: str = "K") -> np.ndarray:
    """A copy of value (anything numpy takes) in shared memory; order 'K' keeps a Fortran-ordered array so."""
    a = np.asarray(value, dtype=dtype)
    fortran = order == "F" or (order in "KA" and a.flags.f_contiguous and not a.flags.c_contiguous)
    out = zeros(a.shape, a.dtype, "F" if fortran else "C")
    out[...] = a
    return out


def pages_of(value: np.ndarray) -> Pages | None:
    """The shared pages an array lives on, if it does."""
    base = value.base
    while isinstance(base, np.ndarray):
        base = base.base
    return base if isinstance(base, Pages) else None


def shareable(value: Any) -> bool:
    """True for arrays worth copying into shared pages: contiguous, plain dtype, not small."""
    return (isinstance(value, np.ndarray) and value.nbytes >= MIN_SHARED_BYTES and not value.dtype.hasobject
            and (value.flags.c_contiguous or value.flags.f_contiguous))


def order_of(value: np.ndarray) -> str:
    """'F' for a Fortran-ordered array that is not also C-ordered, else 'C'."""
    return "F" if value.flags.f_contiguous and not value.flags.c_contiguous else "C"


def on_pages(value: np.ndarray, pages: Pages) -> tuple[Any, ...]:
    """The descriptor of an array that lives on pages: ("pages", identity, shape, dtype, strides, offset, writeable)."""
    offset = value.__array_interface__["data"][0] - pages.address
    return ("pages", pages.identity, value.shape, value.dtype.str, value.strides, offset, value.flags.writeable)


def copy_into(pages: Pages, value: np.ndarray) -> tuple[np.ndarray, tuple[Any, ...]]:
    """value copied to the start of pages (in its own order): the copy and its descriptor."""
    copy = pages.view(value.shape, value.dtype.str, order=order_of(value))
    copy[...] = value
    return copy, on_pages(copy, pages)


def send_pages(conn: Connection, pages: list[Pages]) -> None:
    """Send the pages' memfd descriptors, in order, after the message that names them."""
    for p in pages:
        reduction.send_handle(conn, p.fd, 0)  # the pid is for Windows only


def receive_pages(conn: Connection, n: int) -> dict[Identity, Pages]:
    """Receive n memfd descriptors (what send_pages sent) and map them, by identity."""
    received = {}
    for _ in range(n):
        pages = Pages.adopt(reduction.recv_handle(conn))
        received[pages.identity] = pages
    return received


def inline(value: np.ndarray) -> tuple[Any, ...]:
    """The descriptor of a small array sent in the message: ("bytes", dtype, shape, order, data)."""
    order = order_of(value)
    return ("bytes", value.dtype.str, value.shape, order, bytearray(value.tobytes(order="F" if order == "F" else "C")))


def unpack(desc: tuple[Any, ...], mapped: dict[Identity, Pages]) -> np.ndarray:
    """The array a descriptor stands for: a view on pages already mapped, or a writable array over the bytes."""
    if desc[0] == "pages":
        _, identity, shape, dtype, strides, offset, writeable = desc
        value = mapped[identity].view(shape, dtype, strides, offset)
        if not writeable:
            value.flags.writeable = False
        return value
    _, dtype, shape, order, data = desc
    return np.ndarray(shape, dtype=np.dtype(dtype), buffer=data, order=order)


def returned(result: Any) -> tuple[Any, dict[int, tuple[Any, ...]], list[Pages]]:
    """A result (an array, or a tuple with arrays in it) as its message: the arrays replaced by None, their
    descriptors by position (-1: the result itself), and the new pages whose descriptors must follow it. Large
    arrays go into new pages the caller then owns: returned arrays are its own, never views on reused memory."""
    if isinstance(result, np.ndarray):
        items = {-1: result}
    elif type(result) is tuple:
        items = {i: v for i, v in enumerate(result) if isinstance(v, np.ndarray)}
    else:
        return result, {}, []
    descs: dict[int, tuple[Any, ...]] = {}
    new: list[Pages] = []
    for key, value in items.items():
        if shareable(value):
            pages = Pages.create(value.nbytes)
            new.append(pages)
            descs[key] = copy_into(pages, value)[1]
        elif not value.dtype.hasobject:
            descs[key] = inline(value)
    if -1 in descs:
        return None, descs, new
    return tuple(None if i in descs else v for i, v in enumerate(result)), descs, new


def rebuilt(result: Any, descs: dict[int, tuple[Any, ...]], mapped: dict[Identity, Pages]) -> Any:
    """The result a message from returned() stands for."""
    if not descs:
        return result
    if -1 in descs:
        return unpack(descs[-1], mapped)
    return tuple(unpack(descs[i], mapped) if i in descs else v for i, v in enumerate(result))


class Waiter:
    """Waits until a channel has something to read (or the peer hung up), polling without sleeping for up to
    `spin` seconds first, but only while the waits it sees are that short.

    Why poll: on a VM, waking a sleeping process costs ~30-50 µs each way; a round trip between two processes
    that both poll costs ~15 µs. Why only while waits are short: a worker whose next call comes a millisecond
    later (a server) would burn its spin on every call, CPU the server and its clients need; and a caller
    polling through a long kernel call slowed the kernel down on this 2-CPU VM (measured: +100-300 µs on a
    400 µs daxpy)."""

    def __init__(self, fd: int, spin: float) -> None:
        self.poller = select.poll()
        self.poller.register(fd, select.POLLIN)
        self.spin = spin
        self.last = 0.0  # how long the last wait took

    def wait(self, timeout: float | None) -> bool:
        """True when there is something to read, False when timeout (None: for ever) passed first."""
        poll = self.poller.poll
        if poll(0):
            self.last = 0.0
            return True
        start = now = time.perf_counter()
        if self.last <= self.spin:
            end = start + self.spin
            while now < end:
                if poll(0):
                    self.last = time.perf_counter() - start
                    return True
                now = time.perf_counter()
        if timeout is None:
            ready = bool(poll())
        else:
            ready = bool(poll(max(timeout - (now - start), 0.0) * 1000.0))
        self.last = time.perf_counter() - start
        return ready
