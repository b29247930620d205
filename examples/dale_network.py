"""An E/I network (Dale's law) next to an unconstrained one on the paper's task.

Trains two 64-unit CTRNNs with the paper's protocol on N classification boundaries of
a 2-D latent: one unconstrained, one with 80 % excitatory and 20 % inhibitory units
(every unit's outgoing recurrent weights share its sign, afferent inputs are
excitatory, only excitatory units reach the readout, no self-connections). Both start
from the same random draw. For each it reports

* the task: decision-step accuracy at the end of training;
* out-of-distribution decoding (the paper's headline metric): held-out-quadrant r²
  (paper convention) of ridge decoders fit on three quadrants, median over the four
  folds, beside the in-distribution r² and the Bayes ceiling;
* the fixed and slow points under zero evidence: how many were found, how many are
  exact fixed points, how many are stable, and the median number of slow modes
  (|μ - 1| < 0.05) per point (2 for the 2-D sheet expected at large N, SCIENCE.md §6).

Usage::

    python examples/dale_network.py [--tasks 6] [--batches 3000] [--seeds 0]
    NEURODIS_EXAMPLE_FAST=1 python examples/dale_network.py     # a tiny version for CI
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

import neurodis
from neurodis.analysis import r2_ceiling, slow_mode_counts
from neurodis.experiments import attractor, generalization, visited_states
from neurodis.training import TrainConfig, make_network, train

FAST = os.environ.get("NEURODIS_EXAMPLE_FAST") == "1"
CONDITIONS = {"unconstrained": {}, "E/I (Dale)": {"dale_ratio": 0.8, "autapses": False}}


def measure(network, n_trials: int, n_inits: int, seed: int) -> dict[str, float]:
    """Final accuracy, OOD r² (ridge, lstsq) and fixed-point counts of one network."""
    history = network.history.isel(batch=-1)
    ood = generalization(network, n_trials=n_trials, decoders=("lstsq", "ridge"), rng=seed)
    trials = network.task.sample(64, rng=seed + 1, encoder=network.encoder)
    points = attractor(network, visited_states(network, trials), n_inits=n_inits, eigenvectors=False, rng=seed + 2)
    return {"accuracy": float(history["accuracy"]),
            "ood_r2_ridge": float(np.median(ood["ridge_r2_paper"])),
            "ood_r2_lstsq": float(np.median(ood["r2_paper"])),
            "id_r2_ridge": float(ood["ridge_id_r2_paper"]),
            "points": points.sizes["fixed_point"],
            "exact": int((points["kind"] == "exact").sum()),
            "stable": int(points["stable_discrete"].sum()),
            "slow_modes": float(np.median(slow_mode_counts(points, tol=0.05)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=3 if FAST else 6, help="number of boundaries N")
    parser.add_argument("--batches", type=int, default=150 if FAST else 3000, help="training batches")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="network seeds")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n_units, n_trials, n_inits = (32, 1000, 16) if FAST else (64, 4000, 128)
    task = neurodis.make_task("classification", n_tasks=args.tasks)
    ceiling = r2_ceiling(task.sigma, task.timing.steps("stimulus"))
    print(f"N = {args.tasks} tasks, {n_units} units, {args.batches} batches; OOD r² ceiling {ceiling:.3f}")
    for name, constraints in CONDITIONS.items():
        for seed in args.seeds:
            start = time.perf_counter()
            encoder = neurodis.Encoder(n_dims=2, seed=seed)
            model = make_network(task, "ctrnn", encoder=encoder, n_units=n_units, seed=seed, **constraints)
            config = TrainConfig(n_batches=args.batches, seed=seed, log_every=50)
            network = train(task, model, config, encoder=encoder, progress=not FAST)
            result = measure(network, n_trials, n_inits, seed)
            print(f"{name:>14} seed {seed}: accuracy {result['accuracy']:.3f}, "
                  f"OOD r² ridge {result['ood_r2_ridge']:.3f} (lstsq {result['ood_r2_lstsq']:.3f}, "
                  f"in-distribution {result['id_r2_ridge']:.3f}); "
                  f"{result['points']} fixed/slow points ({result['exact']} exact, {result['stable']} stable), "
                  f"median slow modes {result['slow_modes']:.1f} [{time.perf_counter() - start:.0f} s]")


if __name__ == "__main__":
    main()
