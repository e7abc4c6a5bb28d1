"""Peers the job tests start: a one-node Slurm on 127.0.0.1 (wrapgen.gram.localslurm: Debian's slurm-wlm and
munge) and a Dask LocalCluster."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def slurm():
    """The cluster's client environment (SLURM_CONF, PATH)."""
    from wrapgen.gram.localslurm import LocalSlurm

    with LocalSlurm() as cluster:
        yield cluster.env


@pytest.fixture(scope="session")
def dask_cluster():
    """A Dask LocalCluster (worker processes) on 127.0.0.1; its scheduler address."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
