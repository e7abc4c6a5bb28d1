#!/usr/bin/env bash
# Install wrapgen editable into a virtual environment, one named step at a time.
#
# usage: scripts/install-python.sh VENV_PYTHON [EXTRAS]
#
# Why three steps instead of one `pip install --no-build-isolation -e .[test,bench]`:
# --no-build-isolation is only right for the project itself (CMake keeps its build directory between
# installs, so the build tools must stay at one path: the venv's). Applied to every dependency, it builds
# sdist-only dependencies (spyne) with whatever setuptools the venv happens to have, which on a machine with
# an empty pip cache failed ("invalid command 'bdist_wheel'"). So: the build tools the project declares go
# into the venv, the dependencies are installed with pip's ordinary isolated builds, and only then the
# project, with no isolation and no dependency resolution left to do.
set -uo pipefail

VPY=${1:?usage: install-python.sh VENV_PYTHON [EXTRAS]}
EXTRAS=${2:-test,bench}
cd "$(dirname "$0")/.."

fail() {
    echo "install: step '$1' failed: $2" >&2
    exit 1
}

# What pyproject.toml declares, so the list lives in one place.
build_requires=$("$VPY" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))') \
    || fail "read pyproject.toml" "is pyproject.toml valid TOML and is $VPY Python 3.11+?"
deps=$("$VPY" - "$EXTRAS" <<'EOF'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
wanted = list(project["dependencies"])
for extra in filter(None, sys.argv[1].split(",")):
    wanted += project["optional-dependencies"][extra]
print("\n".join(wanted))
EOF
) || fail "read pyproject.toml" "EXTRAS must name optional-dependencies groups of pyproject.toml (got '$EXTRAS')"

mapfile -t build_requires <<<"$build_requires"
mapfile -t deps <<<"$deps"

# setuptools >= 70.1 carries bdist_wheel itself; wheel is for older sdists that import it.
"$VPY" -m pip install -q "${build_requires[@]}" "setuptools>=70.1" wheel \
    || fail "build tools" "pip could not install ${build_requires[*]}; check access to PyPI (pip config list) and retry"
"$VPY" -m pip install -q "${deps[@]}" \
    || fail "dependencies" "a dependency did not install (see pip's message above); retry with 'make clean' first, or check access to PyPI"
"$VPY" -m pip install -q --no-build-isolation --no-deps -e . \
    || fail "native build" "wrapgen's C++ core did not build (see the CMake error above); 'make system' installs g++, cmake, ninja and libssl-dev"
"$VPY" -m pip check >/dev/null \
    || fail "dependency check" "'$VPY -m pip check' reports conflicting versions; run 'make clean' and retry"
