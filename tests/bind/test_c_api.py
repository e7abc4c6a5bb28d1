"""C APIs as they are (legacy/bytes, services/bytecodec.yaml): byte and small-integer buffers, the real header with
its typedef'd pointers, in/out lengths returned, lengths tied to buffers, and no conversion that changes a value."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from wrapgen.bind.loader import load
from wrapgen.bind.pybind import cpp_source
from wrapgen.bind.wrapper import stub_source
from wrapgen.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
BYTES = ROOT / "services" / "bytecodec.yaml"
NEWTON = ROOT / "services" / "newton.yaml"
DATA = b"aaaabbbcccccccccccd" * 7 + bytes(range(256))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def codec(cache):
    return load(BYTES, cache=cache)


@pytest.fixture(scope="module")
def newton(cache):
    return load(NEWTON, cache=cache)


def test_generated_code_includes_the_real_header_and_its_pointer_types() -> None:
    src = cpp_source(load_spec(BYTES))
    assert f'#include "{(ROOT / "legacy" / "bytes" / "bytes.h").resolve()}"' in src
    assert "wg::as<bytebuf>(dst_a.mutable_data())" in src
    assert "wg::as<const Byte *>(src_a.data())" in src
    assert "wg::pointee<ulen *> dstlen_p" in src  # the length goes through the kernel's own type


@pytest.mark.parametrize("make", [bytes, bytearray, memoryview, lambda b: np.frombuffer(b, np.uint8).copy()])
def test_bytes_round_trip_from_any_buffer(codec, make) -> None:
    dst = bytearray(2 * len(DATA))
    n = codec.rle_encode(dst, make(DATA))
    assert isinstance(n, int) and n == 2 * (4 * 7 + 256)  # runs of a, b, c, d (7 times), then 256 single bytes
    out = np.zeros(len(DATA), np.uint8)
    assert codec.rle_decode(out, make(bytes(dst[:n]))) == len(DATA)
    assert out.tobytes() == DATA
    assert codec.adler32_of(make(DATA)) == zlib.adler32(DATA)


def test_inout_scalars_are_returned(codec) -> None:
    assert codec.call_count(5) == 5
    assert codec.call_count(0) == 6  # the kernel's new value comes back; nothing is silently dropped
    assert codec.call_count(0) == 7
    assert codec.call_count.__doc__.startswith("call_count(count) -> count")


def test_a_too_small_output_buffer_is_the_kernels_error_not_an_overrun(codec) -> None:
    with pytest.raises(codec.BufferTooSmall, match="rle_encode: dst is too small for the encoded data") as info:
        codec.rle_encode(bytearray(3), DATA)
    assert info.value.code == -5


def test_read_only_output_is_refused(codec) -> None:
    with pytest.raises(ValueError, match="argument 'dst' is intent inout but the array is read-only: bytes are "
                                         "read-only, pass a bytearray"):
        codec.rle_encode(bytes(64), DATA)


def test_a_length_tied_to_its_buffer_is_checked_before_the_call(codec) -> None:
    buf = bytearray(16)
    with pytest.raises(ValueError, match=r"fill_bytes\(\): argument 'cap' = 200000 is larger than size\(out\) = 16: "
                                         "the kernel would read or write past the end"):
        codec.fill_bytes(buf, 200000, 7)
    assert buf == bytearray(16)
    codec.fill_bytes(buf, 16, 7)
    assert buf == bytearray([7] * 16)


def test_a_length_tied_to_its_buffer_is_checked_in_an_isolated_call_too(cache) -> None:
    mod = load(BYTES, cache=cache, isolate=True)
    try:
        buf = bytearray(16)
        with pytest.raises(ValueError, match=r"'cap' = 200000 is larger than size\(out\) = 16"):
            mod.fill_bytes(buf, 200000, 7)
        dst = bytearray(64)
        n = mod.rle_encode(dst, b"aaab")
        assert (n, bytes(dst[:n])) == (4, b"\x03a\x01b")  # written into the caller's bytearray
    finally:
        mod.close()


OVERFLOW_SPEC = """\
    name: {name}
    language: c
    sources: [{source}]
    headers: [{header}]
    functions:
      fill_bytes:
        args:
          out: {{dtype: uint8, shape: [":"], intent: inout}}
          cap: {{dtype: uint64, ctype: size_t{limit}}}
          value: {{dtype: uint8}}
"""


def _overflow_spec(tmp_path: Path, limit: str) -> Path:
    spec = tmp_path / "fill.yaml"
    spec.write_text(textwrap.dedent(OVERFLOW_SPEC).format(
        name="fill" + str(abs(hash(limit)) % 1000), source=ROOT / "legacy" / "bytes" / "bytes.c",
        header=ROOT / "legacy" / "bytes" / "bytes.h", limit=limit))
    return spec


def test_check_warns_about_an_extent_nothing_checks(tmp_path, run_cli) -> None:
    unsafe = _overflow_spec(tmp_path, "")
    r = run_cli("check", str(unsafe))
    assert r.returncode == 0, r.stderr
    assert f"{unsafe}:8:34: functions.fill_bytes.args.out.shape: warning: the extent ':' of 'out' is not " \
           "determined by the spec: the kernel learns its size some other way and nothing checks it" in r.stderr
    assert "tie that argument to it (limit: 'size(out)')" in r.stderr
    safe = _overflow_spec(tmp_path, ", limit: 'size(out)'")
    r = run_cli("check", str(safe))
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr


def test_the_overflow_the_warning_is_about_is_real(tmp_path, cache) -> None:
    """The unsafe spec builds (with its warning) and really overruns the heap: the reason the check exists."""
    unsafe = _overflow_spec(tmp_path, "")
    code = (f"import wrapgen.bind.loader as l; m = l.load({str(unsafe)!r}, cache={str(cache)!r}); "
            f"b = bytearray(16)\nfor _ in range(50): m.fill_bytes(b, 1 << 26, 7)")
    r = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode < 0, (r.returncode, r.stderr[-2000:])  # killed by a signal (SIGSEGV/SIGBUS)


@pytest.mark.parametrize("call, error, message", [
    (lambda m: m.count_set(np.array([0, 1, 2], np.uint8)), TypeError,
     "count_set(): argument 'flags' is bool: pass True/False values (a bool array), got uint8"),
    (lambda m: m.sum16(np.array([1, 70000])), TypeError,
     "sum16(): argument 'samples' would change in the conversion from int64 to int16: element 1 is 70000, which "
     "int16 does not hold (it would become 4464)"),
    (lambda m: m.sum16([1.0, 2.5]), TypeError,
     "sum16(): argument 'samples' would change in the conversion from float64 to int16: element 1 is 2.5"),
    (lambda m: m.fill_bytes(bytearray(4), 2, 300), OverflowError,
     "fill_bytes(): argument 'value' = 300 does not fit uint8 ([0, 255])"),
    (lambda m: m.fill_bytes(bytearray(4), 2.5, 1), TypeError,
     "fill_bytes(): argument 'cap' must be an integer, got 2.5 (it would reach the kernel as 2)"),
    (lambda m: m.fill_bytes(bytearray(4), -1, 1), OverflowError,
     "fill_bytes(): argument 'cap' = -1 does not fit uint64"),
    (lambda m: m.adler32_of("text"), TypeError,
     "adler32_of(): argument 'data' must be numbers that fit uint8, got text"),
])
def test_conversions_that_would_change_a_value_are_refused(codec, call, error, message) -> None:
    with pytest.raises(error) as info:
        call(codec)
    assert message in str(info.value)


def test_value_preserving_conversions_happen(codec) -> None:
    assert codec.sum16([1, 2, -3]) == 0  # Python ints that fit int16
    assert codec.sum16(np.array([1.0, 2.0], np.float32)) == 3  # integral floats
    assert codec.count_set([True, False, True]) == 2
    assert codec.count_set(np.array([True, True])) == 2
    buf = bytearray(4)
    codec.fill_bytes(buf, 4.0, np.uint8(9))
    assert buf == bytearray([9] * 4)


def test_the_stub_documents_the_returns() -> None:
    stub = stub_source(load_spec(BYTES))
    assert "def rle_encode(dst: npt.NDArray[np.uint8], src: npt.NDArray[np.uint8]) -> int: ..." in stub
    assert "def call_count(count: int) -> int: ..." in stub
    stub = stub_source(load_spec(NEWTON))
    assert "def newton(a: float, x: float, tol: float = ..., maxit: int = ...) -> tuple[float, int, Status | int]" \
        in stub
    assert "class NotConverged(KernelWarning): ..." in stub


# ---------------------------------------------------------------- Fortran: status tables, inout scalars, int8/int16


def test_named_successes_are_returned(newton) -> None:
    x, nit, info = newton.newton(2.0, 1.0)
    assert x == pytest.approx(2 ** 0.5) and nit > 0
    assert info == 1 and info.name == "converged" and repr(info) == "Status(1, 'converged')"
    assert newton.newton(0.0, 1.0)[2].name == "exact"


def test_a_warning_code_warns_and_still_returns(newton) -> None:
    with pytest.warns(newton.NotConverged, match="newton: 1 iterations were not enough; x is the last iterate") as w:
        x, nit, info = newton.newton(2.0, 1.0, maxit=1)
    assert (x, nit, info) == (1.5, 1, 4)  # the last iterate comes back
    assert w[0].message.code == 4 and issubclass(newton.NotConverged, UserWarning)


def test_zero_can_be_an_error_and_others_raise(newton) -> None:
    with pytest.raises(ValueError, match="newton: improper input: a = -1.0, tol = 1e-12, maxit = 50"):
        newton.newton(-1.0, 1.0)
    with pytest.raises(newton.ZeroIterate, match="the iterate reached 0"):
        newton.newton(2.0, 0.0)


def test_status_tables_work_in_isolated_calls(cache) -> None:
    mod = load(NEWTON, cache=cache, isolate=True)
    try:
        assert mod.newton(2.0, 1.0)[2].name == "converged"
        with pytest.warns(mod.NotConverged, match="1 iterations were not enough"):
            assert mod.newton(2.0, 1.0, maxit=1) == (1.5, 1, 4)
    finally:
        mod.close()


def test_a_float_or_out_of_range_integer_scalar_is_refused(newton) -> None:
    with pytest.raises(TypeError, match=r"newton\(\): argument 'maxit' must be an integer, got 40.9 \(it would "
                                        r"reach the kernel as 40\)"):
        newton.newton(2.0, 1.0, maxit=40.9)
    with pytest.raises(OverflowError, match=r"argument 'maxit' = 1099511627776 does not fit int32"):
        newton.newton(2.0, 1.0, maxit=2 ** 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert newton.newton(2.0, 1.0, maxit=40.0)[2] == 1  # 40.0 is 40: no value changes


def test_small_fortran_integers_in_place(newton) -> None:
    b = np.array([1, 2, -3], np.int8)
    h = np.array([100, 200, 300], np.int16)
    assert newton.scale12(b, h, 3) is None
    assert b.tolist() == [3, 6, -9] and h.tolist() == [300, 600, 900]


@pytest.mark.parametrize("rows, message", [
    ("- {code: 1, ok: fine, exception: ValueError}", "codes[0].ok: a code is an exception, a warning or ok: "
                                                     "give one of exception and ok"),
    ("- {code: 1, warning: ValueError}", "codes[0].warning: 'ValueError' is a builtin exception, not a warning"),
    ("- {code: 1, ok: 'not a name'}", "codes[0].ok: 'not a name' is not a name"),
])
def test_bad_status_rows_are_refused(tmp_path, rows, message) -> None:
    from wrapgen.spec.errors import SpecError

    spec = tmp_path / "s.yaml"
    spec.write_text(textwrap.dedent(f"""\
        name: s
        language: fortran
        libraries: [m]
        functions:
          f:
            args:
              info: {{dtype: int32, intent: out}}
            errors:
              from: info
              codes:
                {rows}
        """))
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert message in str(info.value)


@pytest.mark.parametrize("arg, message", [
    ("{dtype: uint8, shape: [2]}", "args.a.dtype: Fortran has no unsigned integers: uint8 would reach the kernel as "
                                   "a signed value; use int8"),
    ("{dtype: float64, limit: 3}", "args.a.limit: 'limit' is for integer scalars with intent in or inout"),
    ("{dtype: int32, intent: out, value: '3'}", "args.a.value: 'value' is only for intent hide (or an inout length), "
                                                "not out"),
    ("{dtype: int32, limit: 'size(b)'}", "args.a.limit: 'b' is not an array argument"),
])
def test_bad_lengths_and_dtypes_are_refused(tmp_path, arg, message) -> None:
    from wrapgen.spec.errors import SpecError

    spec = tmp_path / "s.yaml"
    spec.write_text(f"name: s\nlanguage: fortran\nlibraries: [m]\nfunctions:\n  f:\n    args:\n      a: {arg}\n")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert message in str(info.value)
