"""Trial sampling speed: neurodis's vectorised tasks against a per-trial Python loop.

The baseline, written here, builds the paper's classification task the way a
neurogym-style environment does: one trial at a time, the period arrays per trial, the
noise drawn step by step, the labels boundary by boundary and the frozen encoder applied
to each trial's (time, D) stimulus. neurodis draws the whole batch with array
operations (``make_task("classification", n_tasks=24).sample_arrays``) and encodes the
``(trial·time, D)`` stimulus with one matrix product per layer.

Before timing, the two are checked to compute the same thing: fed the same latents and
noise, the baseline's encoded inputs agree with neurodis's to 1e-12 and the targets and
loss masks are identical; the noise each draws on its own has sd σ within 5 standard
errors.

Rows (batch 16 and 256): ``arrays`` (no encoder), ``arrays+encoder`` (float64, the
exact path), ``arrays+encoder32`` (the float32 path a float32 training loop uses, vs the
same float64 baseline), ``sample+encoder`` (the labelled Dataset). Goals: ≥ 50× at batch
256, and a 16-trial batch with encoding well under 0.2 ms.

BLAS is limited to one thread on both sides (threadpoolctl, installed with
scikit-learn), so everything runs on one thread, and times are this process's CPU time
(``time.process_time``): on a small shared machine, wall time would also count the time
other processes hold the core, and threads of a multi-threaded BLAS spinning on busy
cores make timings meaningless. The numbers are per-core throughput.

The float64 encoder is arithmetic-bound: ``2·100 + 100·100 + 100·40 = 14,200``
multiply-adds per sample, 5.0 million for a 16-trial batch of 22 steps, the same count
in the baseline and in neurodis; so its ratio is bounded by how much better one large
matrix product uses the core than 16 small ones.

Run: ``python benchmarks/bench_tasks.py [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import neurodis

N_TASKS, SIGMA, DT = 24, 0.2, 100.0
PERIODS = {"fixation": 100.0, "stimulus": 2000.0, "delay": 0.0, "decision": 100.0}
NAMES = ["fixation", "stimulus_0", "stimulus_1"]


# -- the baseline: one trial at a time ---------------------------------------------------


class LoopClassification:
    """Per-trial implementation of the multi-task classification task (D = 2)."""

    def __init__(self, encoder: Any | None) -> None:
        self.layers = None if encoder is None else list(zip(encoder.weights, encoder.biases))

    def trial(self, rng: np.random.Generator, x: np.ndarray | None = None,
              noise: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        """One trial; ``x`` (2,) and ``noise`` (stimulus steps, 2) may be given."""
        bounds, start = {}, 0
        for name, duration in PERIODS.items():
            bounds[name] = (start, start + int(round(duration / DT)))
            start = bounds[name][1]
        n_steps = start
        if x is None:
            x = rng.uniform(-0.5, 0.5, size=2)
        ob = np.zeros((n_steps, 3))
        ob[: bounds["decision"][0], 0] = 1.0
        s0, s1 = bounds["stimulus"]
        for i, step in enumerate(range(s0, s1)):
            eps = SIGMA * rng.normal(size=2) if noise is None else noise[i]
            ob[step, 1:] = x + eps
        labels = np.zeros(N_TASKS)
        for k in range(N_TASKS):
            phi = (k + 0.5) * math.pi / N_TASKS
            normal = math.copysign(1.0, math.cos(phi)) * np.array([-math.sin(phi), math.cos(phi)])
            labels[k] = float(normal @ x > 0)
        gt = np.full((n_steps, N_TASKS), 0.5)
        d0, d1 = bounds["decision"]
        gt[d0:d1] = labels
        mask = np.ones((n_steps, N_TASKS))
        if self.layers is not None:
            h = ob[:, 1:]
            for i, (w, b) in enumerate(self.layers):
                h = h @ w.T + b
                if i < len(self.layers) - 1:
                    h = np.maximum(h, 0.0)
            ob = np.concatenate([ob[:, :1], h], axis=1)
        return ob, gt, mask, x

    def batch(self, n_trials: int, rng: np.random.Generator, latents: np.ndarray | None = None,
              noise: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        trials = [self.trial(rng, None if latents is None else latents[i],
                             None if noise is None else noise[i]) for i in range(n_trials)]
        return tuple(np.stack(parts) for parts in zip(*trials))


# -- checks and timing ---------------------------------------------------------------------


def check_agreement(task: neurodis.Task, encoder: Any, rng: np.random.Generator) -> str:
    """Same latents and noise → same encoded inputs (1e-12), targets and masks."""
    batch = task.sample_arrays(64, rng)
    stim = slice(1, 21)
    noise = batch.inputs[:, stim, 1:] - batch.latents[:, None, :]
    ob, gt, mask, _ = LoopClassification(encoder).batch(64, rng, batch.latents, noise)
    encoded, _ = encoder.encode_inputs(batch.inputs, NAMES)
    err = float(np.abs(ob - encoded).max())
    if err > 1e-12 or not np.array_equal(gt, batch.targets) or not np.array_equal(mask, batch.loss_mask):
        raise AssertionError(f"baseline and neurodis disagree: max |Δ inputs| = {err:.2e}")
    # independently drawn noise has sd σ in both (5 standard errors of a sample sd)
    raw_loop = LoopClassification(None).batch(256, rng)
    raw_ours = task.sample_arrays(256, rng)
    for inputs, latents in ((raw_loop[0], raw_loop[3]), (raw_ours.inputs, raw_ours.latents)):
        residual = inputs[:, stim, 1:] - latents[:, None, :]
        if abs(residual.std() - SIGMA) > 5 * SIGMA / math.sqrt(2 * residual.size):
            raise AssertionError(f"noise sd {residual.std():.4f} differs from sigma={SIGMA}")
    return f"max|Δ|={err:.0e}"


def best_ms(fn: Callable[[], Any], budget_s: float) -> float:
    """Best mean CPU time per call (ms) over 5 repeats filling about ``budget_s`` seconds."""
    fn()
    start = time.process_time()
    fn()
    once = max(time.process_time() - start, 1e-6)
    number = max(1, int(budget_s / 5 / once))
    best = math.inf
    for _ in range(5):
        start = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, (time.process_time() - start) / number)
    return best * 1e3


def main(quick: bool = False) -> list[dict[str, Any]]:
    """Measure, print and return the ratio table (see the module docstring)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        rows = _measure(quick)
    print(f"{'case':<24}{'baseline ms':>12}{'neurodis ms':>12}{'ratio':>8}{'trials/s':>12}  goal")
    for row in rows:
        print(f"{row['case']:<24}{row['baseline_ms']:>12.3f}{row['neurodis_ms']:>12.3f}"
              f"{row['ratio']:>8.1f}{row['trials_per_s']:>12.0f}  {row['goal']}")
    print(f"check: {rows[0]['check']} (same latents and noise), targets and masks identical")
    return rows


def _measure(quick: bool) -> list[dict[str, Any]]:
    task = neurodis.make_task("classification", n_tasks=N_TASKS)
    encoder = neurodis.Encoder(n_dims=2, seed=0)
    rng = np.random.default_rng(0)
    check = check_agreement(task, encoder, rng)
    loop_raw, loop_enc = LoopClassification(None), LoopClassification(encoder)
    budget = 0.2 if quick else 1.0

    def arrays(n: int) -> Any:
        return task.sample_arrays(n, rng)

    def arrays_encoded(n: int, dtype: type = np.float64) -> Any:
        batch = task.sample_arrays(n, rng)
        return encoder.encode_inputs(batch.inputs.astype(dtype, copy=False), NAMES)

    cases = {
        "arrays": (arrays, loop_raw),
        "arrays+encoder": (arrays_encoded, loop_enc),
        "arrays+encoder32": (lambda n: arrays_encoded(n, np.float32), loop_enc),
        "sample+encoder": (lambda n: task.sample(n, rng, encoder=encoder), loop_enc),
    }
    rows = []
    for batch_size in (16, 256):
        baseline = {id(loop): best_ms(lambda: loop.batch(batch_size, rng), budget)
                    for loop in (loop_raw, loop_enc)}
        for case, (ours, loop) in cases.items():
            base_ms = baseline[id(loop)]
            our_ms = best_ms(lambda: ours(batch_size), budget)
            goal = "<0.2 ms" if (batch_size == 16 and case.startswith("arrays+")) else (
                ">=50x" if batch_size == 256 else "")
            rows.append({
                "benchmark": "tasks", "case": f"{case} b={batch_size}",
                "baseline_ms": base_ms, "neurodis_ms": our_ms, "ratio": base_ms / our_ms,
                "goal": goal, "check": check,
                "trials_per_s": batch_size / our_ms * 1e3,
            })
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing budget")
    main(quick=parser.parse_args().quick)
