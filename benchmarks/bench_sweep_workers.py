"""Training in a sweep worker, against workers started Dask's way.

Dask's nanny starts every worker process with ``MALLOC_TRIM_THRESHOLD_=65536``. Setting
that variable also freezes glibc's mmap threshold at 128 kB, so every tensor above that
size is mapped afresh, page-faulted in and unmapped again: a training worker then spends
a large share of its time in the kernel. ``run_sweep`` starts its LocalCluster with its
own allocator settings instead (arrays up to 256 MiB on the heap, freed heap kept:
:data:`neurodis.sweeps.runner.WORKER_MALLOC`, set by
:func:`neurodis.sweeps.runner.start_local_cluster`). Every case trains the same
13-network ensemble (paper config: N = 24 classification tasks, batch 16, 64 units, the
frozen ``2 → 100 → 100 → 40`` encoder) inside a one-worker LocalCluster:

(a) baseline: the worker started with Dask's default environment and settings;
(b) neurodis: the worker of ``start_local_cluster``, as ``run_sweep`` starts it;
(c) monitors: (b)'s allocator settings, but Dask's default monitors (the worker's profiler
    sampling the training thread's stack every 10 ms, a tick every 20 ms, ...; (b) runs
    with :data:`neurodis.sweeps.runner.QUIET_MONITORS`).

Time is taken inside the worker around ``train_ensemble`` alone; cases alternate
round-robin and the table shows the best repeat per network-batch, with the share of
the worker's CPU time spent in the kernel, for (b) against (a) and against (c). Check:
the final weights are identical (neither the allocator nor the monitors may change the
arithmetic). ``--busy`` keeps each of the machine's other cores training a 13-CTRNN ensemble
in a process of its own meanwhile, as in a sweep that uses every core.

Goal: (b) ≥ 1.3× faster than (a).

Run: ``python benchmarks/bench_sweep_workers.py [--quick] [--busy]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
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
from neurodis.sweeps.runner import WORKER_MALLOC, start_local_cluster
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


def keep_busy(stop: Any) -> None:
    """Train the CTRNN ensemble over and over until ``stop`` is set (a busy core, as in a sweep)."""
    while not stop.is_set():
        train_in_worker("ctrnn", 20)


def main(quick: bool = False, busy: bool = False) -> list[dict[str, Any]]:
    """Time the three workers for every architecture; print a table; return the rows."""
    n_batches, repeats = (20, 1) if quick else (60, 3)
    def dask_cluster() -> LocalCluster:  # Dask's settings, in this process's environment
        return LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                            dashboard_address=None)

    # (a) in Dask's environment: without the allocator settings that an earlier
    # start_local_cluster of this process (run_all.py runs other benchmarks first) leaves
    # here for every later worker; then (b), which sets them again, and (c) in them
    for name in WORKER_MALLOC:
        os.environ.pop(name, None)
    clusters = {"dask": dask_cluster()}
    clusters["neurodis"] = start_local_cluster(1)
    clusters["monitors"] = dask_cluster()
    clients = {name: Client(cluster) for name, cluster in clusters.items()}
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    n_busy = (os.cpu_count() or 1) - 1 if busy else 0
    others = [context.Process(target=keep_busy, args=(stop,), daemon=True) for _ in range(n_busy)]
    for process in others:
        process.start()
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
            gap = max(np.abs(weights[name] - weights["neurodis"]).max() for name in ("dask", "monitors"))
            case = f"{arch}: ensemble of {N_MEMBERS} in a worker, per network{', other cores busy' if busy else ''}"
            for baseline, goal in (("dask", GOAL), ("monitors", None)):
                rows.append({"benchmark": "sweep_workers", "case": f"{case}, against {baseline}",
                             "baseline_ms": best[baseline][0], "neurodis_ms": best["neurodis"][0],
                             "ratio": best[baseline][0] / best["neurodis"][0], "goal": goal,
                             "check": f"kernel share of CPU {best[baseline][1]:.0%} -> {best['neurodis'][1]:.0%}; "
                                      f"max |Δw| {gap:.1e}"})
    finally:
        stop.set()
        for process in others:
            process.join()
        for name, client in clients.items():
            client.close()
            clusters[name].close()
    print_ratios(rows, baseline="baseline ms")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches and repeats")
    parser.add_argument("--busy", action="store_true", help="the other cores train meanwhile")
    parsed = parser.parse_args()
    main(quick=parsed.quick, busy=parsed.busy)
