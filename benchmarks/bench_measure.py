"""The sweep's measurement of one seed's networks in a sweep worker: trials shared, the allocator.

``reproduce``'s job measures every trained network (:func:`neurodis.sweeps.jobs.measure_network`:
4 OOD evaluations of 8,000 trials, the accuracy against the ideal observer on 8,192 trials)
and, once per seed, its two controls (:func:`neurodis.sweeps.jobs.measure_controls`: the
untrained network, on the networks' trials, and the encoder output, on four sets of its own
drawn the same way). The five networks of one seed in ``fig3`` (N = 2, 3, 6, 12, 24 tasks)
and their untrained control all evaluate on the same four trial sets. Three cases measure
those five networks of seed 0, each inside a fresh one-worker LocalCluster, where the sweep
measures them:

(a) baseline: the worker started without glibc settings (as sweeps started their workers
    before: Dask's ``MALLOC_TRIM_THRESHOLD_`` removed, nothing else), and every evaluation
    draws and encodes its own trials;
(b) heap: the worker started with the sweep workers' allocator settings
    (:data:`neurodis.sweeps.runner.WORKER_MALLOC`: arrays up to 256 MiB from the heap, where
    by default glibc maps each array above 32 MiB afresh and page-faults it in), trials as (a);
(c) neurodis: the worker of :func:`neurodis.sweeps.runner.start_local_cluster` (its allocator
    settings and :data:`~neurodis.sweeps.runner.QUIET_MONITORS`; (a) and (b) run Dask's
    monitors), the networks measured inside :func:`neurodis.experiments.sharing_trials`, as
    :func:`neurodis.sweeps.jobs.train_and_generalize` measures them.

The networks are the paper's CTRNNs (or another ``--arch``) with the weights they start
training from (a fig3 run's store gives trained ones: ``--store``). Each worker warms up on
one network of another seed first (Numba compilation), then times the five networks on one
thread; cases alternate, and the table shows the best of the repeats. Check: every case's
results are identical to the baseline's.

Run: ``python benchmarks/bench_measure.py [--quick] [--arch ARCH] [--store STORE]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import cloudpickle

# the workers cannot import this script: ship its functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])

GOAL = 1.1
CASES = ("baseline", "heap", "neurodis")


def networks(arch: str, store: str | None, seed: int) -> list[tuple[Any, Any]]:
    """The fig3 networks of ``arch`` and ``seed`` with their run configs: trained from ``store``, else fresh."""
    from neurodis.sweeps.presets import CONFIG_SCHEMA, get_preset
    from neurodis.sweeps.store import RunStore, load_network
    from neurodis.training import TrainedNetwork, default_encoder

    configs = get_preset("fig3").runs(select={"network": [arch], "seed": [seed]})
    if store is not None:
        runs = RunStore(store, schema=CONFIG_SCHEMA)
        return [(load_network(runs.run_dir(c.to_dict())), c) for c in configs]
    result = []
    for config in configs:
        task = config.build_task()
        encoder = default_encoder(task, config.train_config())
        result.append((TrainedNetwork(config.build_network(task, encoder), task, encoder), config))
    return result


def measure(pairs: list[tuple[Any, Any]], *, shared: bool, n_trials: int, n_repeats: int) -> list[Any]:
    """What the sweep job measures of each network, in order, with the controls once per seed."""
    import contextlib

    from neurodis.experiments import sharing_trials
    from neurodis.sweeps.jobs import measure_controls, measure_network

    controls: dict[str, Any] = {}
    results = []
    with sharing_trials(max_sets=2 * n_repeats) if shared else contextlib.nullcontext():
        for network, config in pairs:
            result = measure_network(network, n_trials=n_trials, seed=config.seed, n_repeats=n_repeats)
            untrained = config.build_network(network.task, network.encoder)
            result.update(measure_controls(network, untrained, n_trials=n_trials, seed=config.seed,
                                           n_repeats=n_repeats, cache=controls))
            results.append(result)
    return results


def in_worker(shared: bool, arch: str, store: str | None, n_trials: int, n_repeats: int) -> tuple[float, Any]:
    """Warm up, then time the five networks of seed 0 (run inside the worker); seconds and results."""
    import torch
    import xarray as xr
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        pairs = networks(arch, store, seed=0)
        measure(networks(arch, store, seed=1)[:1], shared=shared, n_trials=n_trials, n_repeats=n_repeats)
        start = time.perf_counter()
        results = measure(pairs, shared=shared, n_trials=n_trials, n_repeats=n_repeats)
        seconds = time.perf_counter() - start
    return seconds, xr.concat(results, "network")


def worker(case: str) -> Any:
    """A one-worker LocalCluster for ``case``: started bare, with the allocator settings, or as sweeps start it."""
    import dask
    from distributed import LocalCluster

    from neurodis.sweeps.runner import WORKER_MALLOC, start_local_cluster

    if case == "neurodis":
        return start_local_cluster(1)
    for name in WORKER_MALLOC:  # a cluster started before leaves its settings in this process
        os.environ.pop(name, None)
    environ = {**dict.fromkeys(WORKER_MALLOC), **(WORKER_MALLOC if case == "heap" else {})}
    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in environ.items()}):
        return LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                            dashboard_address=None)


def main(quick: bool = False, arch: str = "ctrnn", store: str | None = None) -> list[dict[str, Any]]:
    """Time the three cases round-robin; print a table; return the rows."""
    from _table import print_ratios
    from distributed import Client

    n_trials, n_repeats, rounds = (1000, 2, 1) if quick else (8000, 4, 2)
    best = {case: float("inf") for case in CASES}
    results = {}
    for _ in range(rounds):
        for case in CASES:
            with worker(case) as cluster, Client(cluster) as client:
                future = client.submit(in_worker, case == "neurodis", arch, store, n_trials, n_repeats, pure=False)
                seconds, results[case] = future.result()
            best[case] = min(best[case], seconds)
    rows = []
    for case in CASES[1:]:
        rows.append({"benchmark": "measure",
                     "case": f"{arch} seed 0, 5 networks + controls, {n_repeats}×{n_trials} trials: {case}",
                     "baseline_ms": best["baseline"] * 1e3, "neurodis_ms": best[case] * 1e3,
                     "ratio": best["baseline"] / best[case], "goal": GOAL,
                     "check": f"results identical to the baseline's: {results[case].identical(results['baseline'])}"})
    print_ratios(rows)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 trials, 2 repeats, one round")
    parser.add_argument("--arch", default="ctrnn", help="fig3 network: ctrnn, ctrnn_nonleaky, lstm, transformer")
    parser.add_argument("--store", help="a fig3 run's store (trained networks); default: untrained networks")
    parsed = parser.parse_args()
    main(quick=parsed.quick, arch=parsed.arch, store=parsed.store)
