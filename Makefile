# `make demo` and `make test` work from a fresh Debian 12 machine: they install what is missing first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
VPY := $(VENV)/bin/python

# System packages wrapgen builds with and tests against (Debian 12 names).
APT_PACKAGES := python3 python3-venv python3-dev g++ make cmake ninja-build pkg-config libssl-dev \
	gfortran liblapack-dev libblas-dev \
	globus-gridftp-server-progs globus-gass-copy-progs \
	libsoap-lite-perl gsoap openssl globus-proxy-utils globus-gsi-cert-utils-progs \
	libaxis-java default-jdk-headless \
	globus-gram-job-manager globus-gatekeeper globus-gram-client-tools globus-gram-job-manager-fork-setup-poll \
	slurm-wlm munge \
	chromium

NATIVE := pyproject.toml CMakeLists.txt $(wildcard native/*.cpp native/*.hpp)

.PHONY: all demo test bench system clean check-fresh FORCE

all: test

system:
	@scripts/ensure-system.sh $(APT_PACKAGES)

$(VPY): | system
	@$(PYTHON) -m venv $(VENV) || { echo "make: step 'venv' failed: '$(PYTHON) -m venv' did not work; install python3-venv or set PYTHON=/path/to/python3.11" >&2; rm -rf $(VENV); exit 1; }
	@$(VPY) -m pip install -q --upgrade pip || { echo "make: step 'pip upgrade' failed: check access to PyPI (pip config list); 'make clean' and retry" >&2; rm -rf $(VENV); exit 1; }

# The editable install maps module names to files when it is made: a module added, moved or removed needs a
# reinstall. This list changes (and so triggers one) only when the set of package files (modules and data) does.
MODULES := build/python-modules.txt
$(MODULES): FORCE
	@mkdir -p build && find wrapgen -type f -not -path '*/__pycache__/*' -not -name '*.so' | sort > $@.new && { cmp -s $@.new $@ || mv $@.new $@; } && rm -f $@.new

# Reinstall (an incremental CMake build) only when the native core, the metadata or the module list changed.
$(VENV)/.installed: $(NATIVE) $(MODULES) | $(VPY)
	@scripts/install-python.sh $(VPY) test,bench
	@touch $@

demo: system $(VENV)/.installed
	@$(VPY) -P tutorials/00_smoke.py
	@$(VPY) -P tutorials/01_wrap_fortran.py
	@$(VPY) -P tutorials/02_publish_service.py
	@$(VPY) -P tutorials/03_move_data.py
	@$(VPY) -P tutorials/04_jobs.py
	@$(VPY) -P tutorials/05_pipeline.py

FINISHED := build/pytest-finished

# pytest writes $(FINISHED) when its session really ends: a kernel that calls STOP/exit() inside the
# test process would otherwise end the run with status 0 and no summary, which looks green.
test: system $(VENV)/.installed
	@mkdir -p build && rm -f $(FINISHED)
	WRAPGEN_PYTEST_FINISHED=$(FINISHED) WRAPGEN_NO_SKIPS=1 $(VPY) -P -m pytest
	@test -f $(FINISHED) || { echo "make test: pytest ended without finishing its session (a kernel ended the process?)" >&2; exit 1; }

bench: system $(VENV)/.installed
	$(VPY) -P bench/checksum.py
	$(VPY) -P bench/wrap_overhead.py
	$(VPY) -P bench/soap.py
	$(VPY) -P bench/pipeline.py
	$(VPY) -P bench/editor.py

clean:
	rm -rf build $(VENV) .pytest_cache

# Prove a cold start: clone HEAD into a temporary folder and run `make demo` (or TARGET=test) there with
# an empty pip cache and an empty wrapgen build cache, as a new user's machine would.
TARGET ?= demo
check-fresh:
	@scripts/check-fresh.sh $(TARGET)
