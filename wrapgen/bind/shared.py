"""Arrays between processes through anonymous shared memory (memfd), not pickles.

The sender copies a contiguous array into a memfd once; the receiver maps the same pages. A memfd has
no name in /dev/shm, so nothing can leak: the memory is freed when the last descriptor closes.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SharedArray:
    """Stands in a pickled message for the array behind the index-th descriptor sent after it."""

    index: int
    shape: tuple[int, ...]
    dtype: str
    fortran: bool


@dataclass(frozen=True)
class CallbackRef:
    """Stands in a pickled message for the caller's callable number index: the callable stays in the caller's
    process (a lambda, a closure, a function of __main__ need not pickle), and the worker calls it back over the
    same channel."""

    index: int


#: Smaller arrays are pickled: setting up shared pages costs more than copying them through the socket.
MIN_SHARED_BYTES = 64 * 1024


class Segment:
    """One memfd mapped in this process, with an ndarray view on it."""

    def __init__(self, fd: int, nbytes: int) -> None:
        self.fd = fd
        self.size = nbytes
        self.map = mmap.mmap(fd, nbytes)
        self.array: np.ndarray | None = None
        stat = os.fstat(fd)
        self.identity = (stat.st_dev, stat.st_ino)

    @classmethod
    def create(cls, nbytes: int) -> Segment:
        """A new segment of nbytes (> 0)."""
        fd = os.memfd_create("wrapgen-array", os.MFD_CLOEXEC)
        os.ftruncate(fd, nbytes)
        return cls(fd, nbytes)

    def view(self, shape: tuple[int, ...], dtype: str, fortran: bool) -> np.ndarray:
        """The ndarray on this segment's memory."""
        self.array = np.ndarray(shape, dtype=np.dtype(dtype), buffer=self.map, order="F" if fortran else "C")
        return self.array

    def close(self) -> None:
        """Unmap and close (views must no longer be in use)."""
        self.array = None
        try:
            self.map.close()
        except BufferError:  # a view is still referenced somewhere; the GC will unmap it
            pass
        os.close(self.fd)


def shareable(value: Any) -> bool:
    """True for arrays worth sending through shared memory: contiguous, plain dtype, not small."""
    return (isinstance(value, np.ndarray) and value.nbytes >= MIN_SHARED_BYTES and not value.dtype.hasobject
            and (value.flags.c_contiguous or value.flags.f_contiguous))


def export(value: np.ndarray, index: int, reuse: Segment | None = None) -> tuple[SharedArray, Segment]:
    """Copy an array into a segment (reuse, if big enough, else a new one); returns the stand-in and it."""
    fortran = bool(value.flags.f_contiguous and not value.flags.c_contiguous)
    seg = reuse if reuse is not None and reuse.size >= value.nbytes else Segment.create(value.nbytes)
    seg.view(value.shape, value.dtype.str, fortran)[...] = value
    return SharedArray(index, value.shape, value.dtype.str, fortran), seg


class MappingCache:
    """The receiving side's mappings, kept across calls: the same memfd sent again maps to the same pages,
    already faulted in, instead of a fresh mapping."""

    def __init__(self, keep: int = 16) -> None:
        self.keep = keep
        self.maps: dict[tuple[int, int], Segment] = {}

    def receive(self, conn: Connection, stand_ins: list[SharedArray]) -> list[Segment]:
        """Receive one descriptor per stand-in; map it, or reuse the mapping of the same memfd."""
        out = []
        for s in stand_ins:
            fd = reduction.recv_handle(conn)
            need = int(np.prod(s.shape)) * np.dtype(s.dtype).itemsize
            ident = (os.fstat(fd).st_dev, os.fstat(fd).st_ino)
            seg = self.maps.get(ident)
            if seg is not None and seg.size >= need:
                os.close(fd)
            else:
                if seg is not None:
                    seg.close()
                seg = Segment(fd, os.fstat(fd).st_size)
                self.maps[ident] = seg
                while len(self.maps) > self.keep:
                    self.maps.pop(next(iter(self.maps))).close()
            seg.view(s.shape, s.dtype, s.fortran)
            out.append(seg)
        return out


def send_segments(conn: Connection, segments: list[Segment], pid: int) -> None:
    """Send the segments' descriptors, in order, after the message that refers to them."""
    for seg in segments:
        reduction.send_handle(conn, seg.fd, pid)


def receive_segments(conn: Connection, stand_ins: list[SharedArray]) -> list[Segment]:
    """Receive one descriptor per stand-in and map it."""
    segments = []
    for s in stand_ins:
        fd = reduction.recv_handle(conn)
        seg = Segment(fd, int(np.prod(s.shape)) * np.dtype(s.dtype).itemsize)
        seg.view(s.shape, s.dtype, s.fortran)
        segments.append(seg)
    return segments


def replace(value: Any, fn: Any) -> Any:
    """value with fn applied to every array/stand-in at the top level or inside a tuple/list/dict."""
    if isinstance(value, tuple):
        return tuple(replace(v, fn) for v in value)
    if isinstance(value, list):
        return [replace(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: replace(v, fn) for k, v in value.items()}
    return fn(value)
