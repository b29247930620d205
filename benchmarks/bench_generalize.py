"""Out-of-distribution evaluation of one network: neurodis against the authors' procedure.

The baseline, written here, follows the study's published procedure: for each of the 4
held-out quadrants and each of 5 decoder fits, a fresh ``Linear(units, 2)`` decoder is
trained by Adam (lr 3e-3) on 1000 batches of 16 trials; every batch is generated trial
by trial from the 3 training quadrants, encoded, and run through the network again
(a per-step loop); the decoder is then scored on held-out-quadrant trials. neurodis
simulates 8,000 trials over the whole box once (:func:`neurodis.experiments.regression_rates`)
and solves every fold's decoder in closed form (:func:`neurodis.analysis.fit_ood_decoders`):
least squares, and ridge with the penalty chosen by leaving one training quadrant out.

All report r² in the paper's convention (``1 - 12·MSE``) per fold; each row's ``check``
gives the mean r² of neurodis and of the authors' procedure. On held-out quadrants the
unregularised least-squares optimum is *not* a better estimator than early-stopped Adam:
it extrapolates along directions that barely vary in the training quadrants, which
Adam's early stopping (like a ridge penalty) leaves small. Goal: ≥ 100× faster at equal
or better precision.

The network: a 64-unit CTRNN trained here for a few thousand batches on N = 24 (or a run
folder given with ``--run``). Times are wall-clock on one thread.

Run: ``python benchmarks/bench_generalize.py [--quick] [--run RUN_DIR]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import neurodis
from neurodis.analysis import fit_ood_decoders, make_folds
from neurodis.experiments import TrainedNetwork, regression_rates
from neurodis.tasks.latents import orthant_signs
from neurodis.training import TrainConfig, make_network, train

STEPS, SIGMA, DECISION = 22, 0.2, 21


def trained_network(run: str | None, quick: bool):
    """A trained paper network: from ``run`` or trained here."""
    if run is not None:
        result = TrainedNetwork.load(run)
        return result.model, result.task, result.encoder
    task = neurodis.make_task("classification", n_tasks=24)
    encoder = neurodis.Encoder(n_dims=2, seed=0)
    model = make_network(task, "ctrnn", encoder=encoder, n_units=64, seed=0)
    config = TrainConfig(n_batches=300 if quick else 3000, seed=0, log_every=100, checkpoint_every=300)
    return train(task, model, config, encoder=encoder, progress=False).model, task, encoder


def authors_trial(rng: np.random.Generator, orthants: tuple[int, ...], encoder) -> tuple[np.ndarray, np.ndarray]:
    """One regression trial built step by step, as per-trial research code does."""
    signs = orthant_signs([int(rng.choice(orthants))], 2)[0]
    x = signs * rng.uniform(0.0, 0.5, size=2)
    inputs = np.zeros((STEPS, 3))
    for t in range(STEPS):
        inputs[t, 0] = 1.0 if t < DECISION else 0.0
        if 1 <= t <= 20:
            inputs[t, 1:] = x + SIGMA * rng.standard_normal(2)
    encoded, _ = encoder.encode_inputs(inputs[None], ["fixation", "stimulus_0", "stimulus_1"])
    return encoded[0], x


def authors_fold(model, encoder, fold, rng: np.random.Generator, n_batches: int, n_fits: int, n_test: int) -> float:
    """Mean r² over ``n_fits`` Adam-trained decoders, re-simulating every batch."""
    scores = []
    for _ in range(n_fits):
        decoder = torch.nn.Linear(model.n_units, 2)
        optimizer = torch.optim.Adam(decoder.parameters(), lr=3e-3)
        for _ in range(n_batches):
            trials = [authors_trial(rng, fold.train, encoder) for _ in range(16)]
            inputs = torch.tensor(np.stack([t[0] for t in trials]), dtype=torch.float32)
            target = torch.tensor(np.stack([t[1] for t in trials]), dtype=torch.float32)
            with torch.no_grad():
                rates = model(inputs)[0][:, DECISION]
            loss = torch.mean((decoder(rates) - target) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        trials = [authors_trial(rng, fold.test, encoder) for _ in range(n_test)]
        inputs = torch.tensor(np.stack([t[0] for t in trials]), dtype=torch.float32)
        target = np.stack([t[1] for t in trials])
        with torch.no_grad():
            predicted = decoder(model(inputs)[0][:, DECISION]).numpy()
        scores.append(1.0 - 12.0 * float(np.mean((predicted - target) ** 2)))
    return float(np.mean(scores))


def main(quick: bool = False, run: str | None = None) -> list[dict[str, Any]]:
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):  # both sides on one thread, BLAS included
        return _compare(quick, run)


def _compare(quick: bool, run: str | None) -> list[dict[str, Any]]:
    model, task, encoder = trained_network(run, quick)
    model.eval()
    n_batches, n_fits = (100, 2) if quick else (1000, 5)

    fits = {}
    for method in ("lstsq", "ridge_cv"):
        start = time.perf_counter()
        rates, latents = regression_rates(TrainedNetwork(model, task, encoder), n_trials=8000, rng=0)
        result = fit_ood_decoders(rates, latents, method=method, rng=0)
        fits[method] = (time.perf_counter() - start, result["r2_paper"].values)

    rng = np.random.default_rng(1)
    start = time.perf_counter()
    theirs = np.array([authors_fold(model, encoder, fold, rng, n_batches, n_fits, 1000)
                       for fold in make_folds("quadrant", 2)])
    theirs_s = time.perf_counter() - start

    print(f"{'fold':<6}{'lstsq r2':>12}{'ridge_cv r2':>12}{'authors r2':>12}")
    for k, name in enumerate(result["fold"].values):
        print(f"{name:<6}{fits['lstsq'][1][k]:>12.4f}{fits['ridge_cv'][1][k]:>12.4f}{theirs[k]:>12.4f}")
    rows = []
    for method, (ours_s, ours) in fits.items():
        ratio = theirs_s / ours_s
        print(f"neurodis {method} {ours_s:.2f} s, authors' procedure {theirs_s:.1f} s "
              f"({n_fits} fits x 4 folds x {n_batches} batches): {ratio:.0f}x")
        check = f"mean r2 {ours.mean():.4f} vs {theirs.mean():.4f}; worst fold {ours.min():.4f} vs {theirs.min():.4f}"
        rows.append({"benchmark": "generalize", "case": f"4-fold OOD, one network, {method}",
                     "baseline_ms": theirs_s * 1e3, "neurodis_ms": ours_s * 1e3, "ratio": ratio,
                     "goal": ">= 100x", "check": check})
    return rows

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--run", default=None, help="a trained run folder (default: train one here)")
    arguments = parser.parse_args()
    main(quick=arguments.quick, run=arguments.run)
