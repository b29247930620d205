"""Training in a sweep worker, with and without Dask's malloc trim threshold.

Dask's nanny starts every worker process with ``MALLOC_TRIM_THRESHOLD_=65536``. Setting
that variable also freezes glibc's mmap threshold at 128 kB, so every tensor above that
size is mapped afresh, page-faulted in and unmapped again: a training worker then spends
a large share of its time in the kernel. ``run_sweep`` starts its LocalCluster with its
own allocator settings instead (arrays up to 256 MiB on the heap, freed heap kept:
:data:`neurodis.sweeps.runner.WORKER_MALLOC`, set by
:func:`neurodis.sweeps.runner.start_local_cluster`). Both cases train the same
13-network ensemble (paper config: N = 24 classification tasks, batch 16, 64 units, the
frozen ``2 → 100 → 100 → 40`` encoder) inside a one-worker LocalCluster:

(a) baseline: the worker started with Dask's default environment;
(b) neurodis: the worker of ``start_local_cluster``, as ``run_sweep`` starts it.

Time is taken inside the worker around ``train_ensemble`` alone; cases alternate
round-robin and the table shows the best repeat per network-batch, with the share of
the worker's CPU time spent in the kernel. Check: the final weights are identical (the
allocator must not change the arithmetic).

Goal: (b) ≥ 1.3× faster.

Run: ``python benchmarks/bench_sweep_workers.py [--quick]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import replace
from typing import Any

import cloudpickle
import numpy as np
from _table import print_ratios
from distributed import Client, LocalCluster

import neurodis
from neurodis.sweeps.runner import start_local_cluster
from neurodis.training import default_encoder, make_network

# the workers cannot import this script: ship its functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])

N_TASKS, N_MEMBERS, N_UNITS = 24, 13, 64
ARCHS = ("ctrnn", "lstm")
GOAL = 1.3


def train_in_worker(arch: str, n_batches: int) -> tuple[float, float, np.ndarray]:
    """Seconds of ``train_ensemble``, kernel share of its CPU time, and the final weights."""
    import torch

    torch.set_num_threads(1)
    task = neurodis.make_task("classification", n_tasks=N_TASKS)
    config = neurodis.TrainConfig(n_batches=n_batches, batch_size=16, log_every=100, seed=0)
    encoders = [default_encoder(task, replace(config, seed=k)) for k in range(N_MEMBERS)]
    models = [make_network(task, arch, encoder=e, n_units=N_UNITS, seed=k) for k, e in enumerate(encoders)]
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    result = neurodis.train_ensemble(task, models, config, seeds=list(range(N_MEMBERS)), encoders=encoders,
                                     progress=False)
    elapsed, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    system, user = after.ru_stime - before.ru_stime, after.ru_utime - before.ru_utime
    weights = np.concatenate([p.detach().numpy().ravel() for m in result for p in m.model.parameters()])
    return elapsed, system / (system + user), weights


def main(quick: bool = False) -> list[dict[str, Any]]:
    """Time both worker environments for every architecture; print a table; return the rows."""
    n_batches, repeats = (20, 1) if quick else (60, 3)
    # neurodis's first: Dask's nanny leaves its environment in this process for later workers
    clusters = {"neurodis": start_local_cluster(1),
                "dask": LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0")}
    clients = {name: Client(cluster) for name, cluster in clusters.items()}
    rows = []
    try:
        for arch in ARCHS:
            best = {name: (float("inf"), 0.0) for name in clients}
            weights = {}
            for repeat in range(repeats + 1):  # the first round warms up
                for name, client in clients.items():
                    future = client.submit(train_in_worker, arch, n_batches, pure=False)
                    elapsed, kernel, weights[name] = future.result()
                    per_network_ms = elapsed / (n_batches * N_MEMBERS) * 1e3
                    if repeat and per_network_ms < best[name][0]:
                        best[name] = (per_network_ms, kernel)
            gap = np.abs(weights["dask"] - weights["neurodis"]).max()
            rows.append({"benchmark": "sweep_workers",
                         "case": f"{arch}: ensemble of {N_MEMBERS} in a worker, per network",
                         "baseline_ms": best["dask"][0], "neurodis_ms": best["neurodis"][0],
                         "ratio": best["dask"][0] / best["neurodis"][0], "goal": GOAL,
                         "check": f"kernel share of CPU {best['dask'][1]:.0%} -> {best['neurodis'][1]:.0%}; "
                                  f"max |Δw| {gap:.1e}"})
    finally:
        for name, client in clients.items():
            client.close()
            clusters[name].close()
    print_ratios(rows, baseline="dask ms")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches and repeats")
    main(quick=parser.parse_args().quick)
