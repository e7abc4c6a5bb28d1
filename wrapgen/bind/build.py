"""Build a spec into an importable module: generate sources, run CMake, cache by content hash, import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..spec import load_spec
from ..spec.model import Library
from . import f2py_patches, pybind, pyf, wrapper
from .cache import build_key, cache_root, compilers_of, source_paths
from .compiler_errors import first_error
from .errors import BindError

_DONE = "wrapgen-build-ok"

_CMAKE_FORTRAN = """\
cmake_minimum_required(VERSION 3.18)
project({project} LANGUAGES C Fortran)
find_package(Python REQUIRED COMPONENTS Interpreter Development.Module NumPy)
Python_add_library({ext} MODULE WITH_SOABI
    {generated}
    "${{F2PY_INCLUDE_DIR}}/fortranobject.c"
    {sources})
target_include_directories({ext} PRIVATE "${{F2PY_INCLUDE_DIR}}" {include_dirs})
target_link_directories({ext} PRIVATE {library_dirs})
target_link_libraries({ext} PRIVATE Python::NumPy {libraries})
# A kernel calls the routines of its own module first, whatever another module loaded before it
# (a replacement XERBLA must win over the one in a LAPACK already in the process).
target_link_options({ext} PRIVATE "-Wl,-Bsymbolic-functions")
target_compile_options({ext} PRIVATE $<$<COMPILE_LANGUAGE:Fortran>:{flags}>)
"""


_CMAKE_PYBIND = """\
cmake_minimum_required(VERSION 3.18)
project({project} LANGUAGES C CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(Python REQUIRED COMPONENTS Interpreter Development.Module)
find_package(pybind11 CONFIG REQUIRED)
pybind11_add_module({ext} MODULE {generated} {sources})
target_include_directories({ext} PRIVATE "{wrapgen_include}" {include_dirs})
target_link_directories({ext} PRIVATE {library_dirs})
target_link_libraries({ext} PRIVATE {libraries})
# A kernel calls the routines of its own module first, whatever another module loaded before it
# (a replacement XERBLA must win over the one in a LAPACK already in the process).
target_link_options({ext} PRIVATE "-Wl,-Bsymbolic-functions")
target_compile_options({ext} PRIVATE {flags})
"""


@dataclass(frozen=True)
class Built:
    """A built library: `path` is the directory to put on sys.path (it holds the package `name`)."""

    name: str
    path: Path
    key: str
    cached: bool

    @property
    def package(self) -> Path:
        """The package directory (generated __init__.py, the extension, the .pyi stub)."""
        return self.path / self.name


def _library(spec: str | os.PathLike[str] | Library) -> tuple[Library, str]:
    if isinstance(spec, Library):
        return spec, f"<{spec.name} spec>"
    return load_spec(spec), str(spec)


def build(spec: str | os.PathLike[str] | Library, cache: str | os.PathLike[str] | None = None,
          force: bool = False) -> Built:
    """Build (or find in the cache) the module for a spec; raises BindError with the compiler's first error."""
    lib, spec_file = _library(spec)
    key = build_key(lib, compilers_of(lib))
    root = (Path(cache) if cache is not None else cache_root()) / "build"
    final = root / f"{lib.name}-{key[:20]}"
    if (final / _DONE).exists() and not force:
        return Built(lib.name, final, key, cached=True)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{lib.name}-", dir=root))
    try:
        # A name unique to this build: CPython hands back an already-imported extension of the same
        # name even from another file, so an edited library could not be loaded again in-process.
        ext = f"_{lib.name}_{key[:12]}"
        if lib.language == "fortran":
            _build_fortran(lib, spec_file, work, ext)
        else:
            _build_pybind(lib, spec_file, work, ext)
        (work / _DONE).write_text(key + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(work, final)  # atomic: a concurrent reader never sees half a build
    except BaseException:
        if not (work / "build.log").exists():
            shutil.rmtree(work, ignore_errors=True)
        raise
    return Built(lib.name, final, key, cached=False)


def _run(cmd: list[str], cwd: Path, log: Path, what: str) -> None:
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        proc = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        text = log.read_text(errors="replace")
        err = first_error(text)
        head = err.render() if err else f"{what} failed (exit status {proc.returncode})"
        raise BindError(f"{head}\nfull build log: {log}")


def _cmake_list(items: list[str]) -> str:
    return " ".join(f'"{i}"' for i in items)


def _build_fortran(lib: Library, spec_file: str, work: Path, ext: str) -> None:
    import numpy.f2py

    gen = work / "gen"
    gen.mkdir()
    log = work / "build.log"
    (gen / f"{ext}.pyf").write_text(pyf.pyf_source(lib, ext))
    _run([sys.executable, "-m", "numpy.f2py", f"{ext}.pyf"], gen, log, "f2py")
    generated = sorted(p.name for p in gen.iterdir() if p.suffix in (".c", ".f", ".f90"))
    f2py_patches.patch_generated(gen, sum(len(fn.callbacks) for fn in lib.functions.values()))
    base = lib.base_dir or Path.cwd()
    (gen / "CMakeLists.txt").write_text(_CMAKE_FORTRAN.format(
        project=f"wrapgen_{lib.name}", ext=ext, generated=_cmake_list(generated),
        sources=_cmake_list([str(p) for p in source_paths(lib)]),
        include_dirs=_cmake_list([str((base / d).resolve()) for d in lib.include_dirs]),
        library_dirs=_cmake_list([str((base / d).resolve()) for d in lib.library_dirs]),
        libraries=_cmake_list(lib.libraries), flags=";".join(["-O2", *lib.flags]),
    ))
    _cmake_build(lib, spec_file, work, ext, [f"-DF2PY_INCLUDE_DIR={numpy.f2py.get_include()}"])


def _build_pybind(lib: Library, spec_file: str, work: Path, ext: str) -> None:
    import pybind11

    gen = work / "gen"
    gen.mkdir()
    (gen / f"{ext}.cpp").write_text(pybind.cpp_source(lib, ext))
    base = lib.base_dir or Path.cwd()
    (gen / "CMakeLists.txt").write_text(_CMAKE_PYBIND.format(
        project=f"wrapgen_{lib.name}", ext=ext, generated=_cmake_list([f"{ext}.cpp"]),
        sources=_cmake_list([str(p) for p in source_paths(lib)]), wrapgen_include=pybind.INCLUDE_DIR,
        include_dirs=_cmake_list([str((base / d).resolve()) for d in lib.include_dirs]),
        library_dirs=_cmake_list([str((base / d).resolve()) for d in lib.library_dirs]),
        libraries=_cmake_list(lib.libraries), flags=_cmake_list(["-O2", *lib.flags]),
    ))
    _cmake_build(lib, spec_file, work, ext, [f"-Dpybind11_DIR={pybind11.get_cmake_dir()}"])


def _cmake_build(lib: Library, spec_file: str, work: Path, ext: str, defines: list[str]) -> None:
    """Configure and build gen/ with CMake, then assemble the package: extension, wrapper, stub."""
    log = work / "build.log"
    build_dir = work / "cmake"
    cmd = ["cmake", "-S", str(work / "gen"), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
           f"-DPython_EXECUTABLE={sys.executable}", *defines]
    if shutil.which("ninja"):
        cmd += ["-G", "Ninja"]
    _run(cmd, work, log, "cmake configure")
    _run(["cmake", "--build", str(build_dir)], work, log, "compiling")
    package = work / lib.name
    package.mkdir()
    built = [p for p in build_dir.iterdir() if p.name.startswith(ext + ".") and p.suffix == ".so"]
    if len(built) != 1:
        raise BindError(f"the build made {len(built)} extension files for {ext}; full build log: {log}")
    shutil.copy2(built[0], package / built[0].name)
    source = wrapper.module_source(lib, ext, spec_file)
    try:
        compile(source, str(package / "__init__.py"), "exec")  # a generator bug must never be cached as a build
    except SyntaxError as exc:
        raise BindError(f"internal error: the module generated for {spec_file} does not compile: {exc}") from None
    (package / "__init__.py").write_text(source)
    (package / "__init__.pyi").write_text(wrapper.stub_source(lib))
    (package / "py.typed").write_text("")
