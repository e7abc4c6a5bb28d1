"""Isolated calls: a kernel that crashes, STOPs, hangs or eats memory fails that call only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import wrapgen
from wrapgen.bind import KernelCrashed, KernelExited, KernelOutOfMemory, KernelTimeout
from wrapgen.bind.loader import load

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    with load(HERE / "kernels" / "misbehave.yaml", cache=tmp_path_factory.mktemp("cache"), isolate=True) as mod:
        yield mod


def alive(mod) -> None:
    """The module still works after whatever happened before."""
    x = np.zeros(3)
    mod.add_one(x)
    assert x.tolist() == [1.0, 1.0, 1.0]


def test_results_and_inout_arrays_come_back(bad) -> None:
    x = np.arange(4.0)
    assert bad.add_one(x) is None
    assert x.tolist() == [1.0, 2.0, 3.0, 4.0]
    bad.add_one(x=x)
    assert x.tolist() == [2.0, 3.0, 4.0, 5.0]


def test_stop_is_an_exception_not_the_end_of_python(bad) -> None:
    with pytest.raises(KernelExited, match=r"^do_stop: the kernel ended its process with exit status 0 while running"):
        bad.do_stop(0)
    with pytest.raises(KernelExited, match=r"exit status 3 .*its output ended with:\nSTOP 3") as info:
        bad.do_stop(3)
    assert "(a Fortran STOP, exit() or a runtime error)" in str(info.value)
    alive(bad)


def test_a_segfault_is_reported_and_the_callers_array_is_unchanged(bad) -> None:
    x = np.arange(3.0)
    with pytest.raises(KernelCrashed, match=r"^do_segv: the kernel crashed with SIGSEGV \(Segmentation fault\) while running"):
        bad.do_segv(x)
    assert x.tolist() == [0.0, 1.0, 2.0]  # the worker's copy was written, then lost with the worker
    alive(bad)


def test_an_endless_loop_is_killed_after_the_spec_timeout(bad) -> None:
    with pytest.raises(KernelTimeout, match=r"^spin: no result after 1.5 s; the worker was killed"):
        bad.spin(np.zeros(1))
    alive(bad)


def test_runaway_memory_hits_the_spec_limit(bad) -> None:
    assert bad.hog(8) == 8 * 131072.0  # within the 64 MiB allowance
    with pytest.raises(KernelOutOfMemory, match=r"^hog: the kernel needed more than its memory limit of 67108864 bytes"):
        bad.hog(1024)
    alive(bad)


def test_declared_errors_and_argument_checks_still_arrive_as_themselves(tmp_path) -> None:
    with load(ROOT / "services" / "tridiag.yaml", cache=tmp_path, isolate=True) as mod:
        d = np.array([0.0, 4.0, 4.0])
        with pytest.raises(mod.ZeroPivotError, match="zero pivot in row 1"):
            mod.tridiag(np.ones(2), d, np.ones(2), np.ones(3))
        with pytest.raises(TypeError, match="argument 'b' must be float64, got float32"):
            mod.tridiag(np.ones(2), np.full(3, 4.0), np.ones(2), np.ones(3, dtype=np.float32))
        b = np.ones(3)
        mod.tridiag(np.ones(2), np.full(3, 4.0), np.ones(2), b)
        np.testing.assert_allclose(b, np.linalg.solve(np.diag([4.0] * 3) + np.diag([1.0] * 2, 1)
                                                      + np.diag([1.0] * 2, -1), np.ones(3)))
        assert mod.tridiag.__doc__.startswith("tridiag(dl, d, du, b)")


def test_lapack_xerbla_stop_is_caught_when_isolated(tmp_path) -> None:
    spec = tmp_path / "bare.yaml"
    spec.write_text((ROOT / "services" / "lapack.yaml").read_text()
                    .replace("sources: [../legacy/lapack/xerbla.f]\n", "").replace("name: lapack", "name: lapack_bare"))
    with load(spec, cache=tmp_path / "cache", isolate=True) as mod:
        with pytest.raises(KernelExited, match="parameter number  7 had an illegal value"):
            mod.dgesv(np.asfortranarray(np.eye(3)), np.asfortranarray(np.ones((2, 1))))
        b = np.asfortranarray(np.ones((3, 1)))
        mod.dgesv(np.asfortranarray(np.eye(3) * 2), b)
        assert b.ravel().tolist() == [0.5, 0.5, 0.5]


def test_the_one_call_api_can_isolate(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WRAPGEN_CACHE", str(tmp_path))
    with wrapgen.load(ROOT / "services" / "blas1.yaml", isolate=True) as mod:
        assert mod.dadd(1.0, 2.0) == 3.0
        y = np.ones(3)
        mod.daxpy1(2.0, np.arange(3.0), y)
        assert y.tolist() == [1.0, 3.0, 5.0]


def test_arrays_travel_through_shared_memory_and_refusals_match_in_process(tmp_path) -> None:
    with load(ROOT / "services" / "tridiag.yaml", cache=tmp_path, isolate=True) as mod:
        n = 200_000
        b = np.ones(n)
        mod.tridiag(np.ones(n - 1), np.full(n, 4.0), np.ones(n - 1), b)
        assert b[0] == pytest.approx(0.2113248654, rel=1e-9)  # solved, and copied back into the caller's b
        strided = np.ones(2 * n)[::2]
        with pytest.raises(TypeError, match=r"tridiag\(\): argument 'b' must be contiguous, got a strided view"):
            mod.tridiag(np.ones(n - 1), np.full(n, 4.0), np.ones(n - 1), strided)
        with pytest.raises(TypeError, match="argument 'b' must be Fortran-ordered|must be float64, got float32"):
            mod.tridiag(np.ones(n - 1), np.full(n, 4.0), np.ones(n - 1), np.ones(n, dtype=np.float32))


def test_returned_arrays_come_back_through_shared_memory(tmp_path) -> None:
    with load(ROOT / "services" / "md.yaml", cache=tmp_path, isolate=True) as mod:
        pos = np.random.default_rng(0).random((300, 3)) * 10
        forces, energy = mod.lj_forces(pos, 1.0, 1.0)
        direct = load(ROOT / "services" / "md.yaml", cache=tmp_path)
        f2, e2 = direct.lj_forces(pos, 1.0, 1.0)
        np.testing.assert_array_equal(forces, f2)
        assert energy == e2
        assert forces.flags.writeable  # the caller's own copy, not a view on unmapped pages
        forces[0, 0] = 1.0


def test_abort_is_a_crash_and_exits_are_crashes_too(bad) -> None:
    with pytest.raises(KernelCrashed, match=r"crashed with SIGABRT \(Aborted\)"):
        bad.do_abort()
    with pytest.raises(KernelCrashed):  # KernelExited is a KernelCrashed: one except clause catches all
        bad.do_stop(0)
    alive(bad)


def test_calls_from_several_threads_do_not_mix(tmp_path) -> None:
    import threading

    with load(ROOT / "services" / "blas1.yaml", cache=tmp_path, isolate=True) as mod:
        results: dict[int, np.ndarray] = {}

        def work(i: int) -> None:
            y = np.full(20_000, float(i))
            for _ in range(5):
                mod.daxpy1(1.0, np.ones(20_000), y)
            results[i] = y

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i, y in results.items():
            assert (y == i + 5.0).all()


def _memfd_maps(pid: int) -> int:
    """How many of the worker's mappings are memfd pages of ours."""
    return sum("wrapgen-array" in line for line in Path(f"/proc/{pid}/maps").read_text().splitlines())


def test_arrays_in_shared_memory_are_worked_on_in_place(tmp_path) -> None:
    with load(ROOT / "services" / "blas1.yaml", cache=tmp_path, isolate=True) as mod:
        for n in (5, 300_000):  # below and above the size that is copied through the pool otherwise
            x, y = wrapgen.shared_array(np.arange(float(n))), wrapgen.shared_zeros(n)
            assert y.dtype == np.float64 and not y.any()
            mod.daxpy1(2.0, x, y)
            assert y[-1] == 2.0 * (n - 1) and (y == 2.0 * x).all()
            assert x[-1] == n - 1  # an input stays as it was
        # a view of a shared array travels as a view: same offset and strides, refused like in-process
        y = wrapgen.shared_zeros(8)
        mod.daxpy1(1.0, np.ones(4), y[2:6])
        assert y.tolist() == [0, 0, 1, 1, 1, 1, 0, 0]
        direct = load(ROOT / "services" / "blas1.yaml", cache=tmp_path)
        for module in (direct, mod):
            with pytest.raises(TypeError) as info:
                module.daxpy1(1.0, np.ones(4), y[::2])
            frozen = wrapgen.shared_zeros(4)
            frozen.flags.writeable = False
            with pytest.raises((TypeError, ValueError)) as frozen_info:
                module.daxpy1(1.0, np.ones(4), frozen)
            if module is direct:
                expected, expected_frozen = str(info.value), str(frozen_info.value)
        assert str(info.value) == expected and "contiguous" in expected
        assert str(frozen_info.value) == expected_frozen and not frozen.any()


def test_a_crash_on_shared_memory_says_what_may_be_written(bad) -> None:
    x = wrapgen.shared_array(np.arange(3.0))
    with pytest.raises(KernelCrashed, match=r"the arrays in shared memory \(x\) may have been partly written"):
        bad.do_segv(x)
    assert x.tolist() != [0.0, 1.0, 2.0]  # the kernel wrote the caller's pages before it crashed: no copy
    copy = np.arange(3.0)
    with pytest.raises(KernelCrashed, match=r"the caller's arrays were not changed"):
        bad.do_segv(copy)
    assert copy.tolist() == [0.0, 1.0, 2.0]


def test_a_timeout_on_shared_memory_says_so_too(bad) -> None:
    x = wrapgen.shared_zeros(1)
    with pytest.raises(KernelTimeout, match=r"the worker was killed; the arrays in shared memory \(x\) may have been "
                                            r"partly written"):
        bad.spin(x)
    alive(bad)


def test_the_worker_unmaps_the_shared_arrays_the_caller_let_go(tmp_path) -> None:
    with load(ROOT / "services" / "blas1.yaml", cache=tmp_path, isolate=True) as mod:
        y = wrapgen.shared_zeros(100_000)
        for _ in range(20):
            mod.daxpy1(1.0, wrapgen.shared_array(np.ones(100_000)), y)  # a new shared x each call, dropped after
        assert (y == 20.0).all()
        pid = mod.daxpy1._proc.pid
        assert _memfd_maps(pid) <= 3  # y, the last x and perhaps the one before: not twenty
        del y
        mod.daxpy1(1.0, np.ones(2), np.ones(2))  # the function's next call carries the news
        assert _memfd_maps(pid) == 0


def test_returned_large_arrays_are_the_callers_and_go_back_without_a_copy(tmp_path) -> None:
    with load(ROOT / "services" / "md.yaml", cache=tmp_path, isolate=True) as mod:
        pos = np.random.default_rng(1).random((3000, 3)) * 30
        forces, _ = mod.lj_forces(pos, 1.0, 1.0)
        assert forces.nbytes >= 64 * 1024 and forces.flags.writeable
        from wrapgen.bind.shared import pages_of

        assert pages_of(forces) is not None  # returned in shared pages this process now owns
        again, _ = mod.lj_forces(pos, 1.0, 1.0)
        np.testing.assert_array_equal(forces, again)
        assert pages_of(again) is not pages_of(forces)  # each result its own pages, never a reused buffer
