"""Labelled overhead: the Datasets of ``Task.sample`` and ``simulate`` against their array paths.

(a) ``task.sample(16, rng)`` (a labelled trials Dataset) against
    ``task.sample_arrays(16, rng)`` (the same draws as raw arrays), each given a fresh
    generator seeded alike, so that what differs is the Dataset and its provenance.
(b) ``neurodis.simulate(model, trials)`` on that 16-trial Dataset against
    ``neurodis.simulator.simulate_arrays(model, inputs)`` on its ``inputs`` array.

Goal: each labelled path spends at most 0.3 ms more than its array path (building and
checking the Dataset, provenance attrs), so the ratio array / labelled must reach
``array / (array + 0.3 ms)``; the table prints that as the goal.

Checks before timing: the Dataset holds exactly the arrays of the array path (the same
rng gives the same draws; the simulation is deterministic without noise).

Timings are process CPU time per call, the median of interleaved rounds on one thread
(the cases alternate, so load from other processes hits both alike).

Run: ``python benchmarks/bench_labelled.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from _table import print_ratios
from threadpoolctl import threadpool_limits

import neurodis
from neurodis.simulator import simulate_arrays

N_TRIALS, N_TASKS, N_UNITS = 16, 24, 64
OVERHEAD_MS = 0.3


def interleaved_median_ms(cases: dict[str, Callable[[], Any]], calls: int, rounds: int) -> dict[str, float]:
    """Median CPU ms per call of each case over ``rounds`` alternating rounds of ``calls`` calls."""
    times: dict[str, list[float]] = {key: [] for key in cases}
    for round_ in range(rounds + 1):  # the first round warms up
        for key, fn in cases.items():
            start = time.process_time()
            for _ in range(calls):
                fn()
            if round_:
                times[key].append((time.process_time() - start) / calls * 1e3)
    return {key: float(np.median(values)) for key, values in times.items()}


def check(task: Any, model: Any, trials: Any) -> str:
    """The labelled paths hold exactly the array paths' numbers."""
    batch = task.sample_arrays(N_TRIALS, np.random.default_rng(0))
    for name in ("inputs", "targets", "loss_mask", "latents"):
        if not np.array_equal(trials[name].values, getattr(batch, name)):
            raise AssertionError(f"sample and sample_arrays disagree on {name}")
    labelled, arrays = neurodis.simulate(model, trials), simulate_arrays(model, trials["inputs"].values)
    for name in ("rates", "logits", "outputs"):
        if not np.array_equal(labelled[name].values, getattr(arrays, name)):
            raise AssertionError(f"simulate and simulate_arrays disagree on {name}")
    return "Dataset values equal the arrays"


def main(quick: bool = False) -> list[dict[str, Any]]:
    """Time (a) and (b); print a table; return the rows."""
    task = neurodis.make_task("classification", n_tasks=N_TASKS)
    model = neurodis.CTRNN(3, N_TASKS, n_units=N_UNITS, seed=0)
    calls, rounds = (20, 5) if quick else (100, 15)
    with threadpool_limits(1):
        torch.set_num_threads(1)
        trials = task.sample(N_TRIALS, np.random.default_rng(0))
        agreement = check(task, model, trials)
        inputs = trials["inputs"].values
        ms = interleaved_median_ms({
            "sample": lambda: task.sample(N_TRIALS, np.random.default_rng(1)),
            "sample_arrays": lambda: task.sample_arrays(N_TRIALS, np.random.default_rng(1)),
            "simulate": lambda: neurodis.simulate(model, trials),
            "simulate_arrays": lambda: simulate_arrays(model, inputs),
        }, calls, rounds)
    rows = []
    for case, fast, labelled in (("(a) task.sample(16)", "sample_arrays", "sample"),
                                 ("(b) simulate, 16-trial Dataset", "simulate_arrays", "simulate")):
        overhead = ms[labelled] - ms[fast]
        rows.append({"benchmark": "labelled", "case": f"{case} vs {fast}", "baseline_ms": ms[fast],
                     "neurodis_ms": ms[labelled], "ratio": ms[fast] / ms[labelled],
                     "goal": ms[fast] / (ms[fast] + OVERHEAD_MS),
                     "check": f"labelled overhead {overhead:.3f} ms (goal ≤ {OVERHEAD_MS} ms); {agreement}"})
    print_ratios(rows, baseline="arrays ms", neurodis="labelled ms")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    main(quick=parser.parse_args().quick)
