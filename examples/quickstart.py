"""Quick start: task → train → simulate → out-of-distribution r², in under a minute.

1. Make the paper's task (N = 24 classification boundaries of a 2-D latent, seen through
   noisy samples and a frozen random encoder).
2. Train a 64-unit CTRNN with the paper's protocol for a few thousand batches.
3. Simulate it on fresh trials with the Numba simulator (labelled xarray output).
4. Measure how well a linear decoder trained on three quadrants predicts the latent in
   the fourth, against the Bayes ceiling.

Usage::

    python examples/quickstart.py                     # ~1 minute on a laptop core
    NEURODIS_EXAMPLE_FAST=1 python examples/quickstart.py
"""

from __future__ import annotations

import os

import torch

import neurodis
from neurodis.analysis import ood_generalization, r2_ceiling
from neurodis.training import TrainConfig, make_network, train

FAST = os.environ.get("NEURODIS_EXAMPLE_FAST") == "1"


def main() -> None:
    torch.set_num_threads(1)
    task = neurodis.make_task("classification", n_tasks=24)
    encoder = neurodis.Encoder(n_dims=2, seed=0)
    model = make_network(task, "ctrnn", encoder=encoder, n_units=64, seed=0)
    config = TrainConfig(n_batches=200 if FAST else 5000, seed=0, log_every=100, checkpoint_every=1000)
    result = train(task, model, config, encoder=encoder, progress=not FAST)
    history = result.history.isel(batch=-1)
    print(f"trained {config.n_batches} batches: loss {float(history['loss']):.3f}, "
          f"decision accuracy {float(history['accuracy']):.3f} "
          f"({float(history['relative_accuracy']):.1%} of the ideal observer's)")

    trials = task.sample(256, rng=1, encoder=encoder)
    simulated = neurodis.simulate(result.model, trials, rng=2)
    print(f"simulated rates {dict(simulated['rates'].sizes)}; "
          f"mean rate at the decision step {float(simulated['rates'].isel(time=-1).mean()):.3f}")

    ood = ood_generalization(result.model, task, encoder, n_trials=500 if FAST else 2000, rng=3)
    ceiling = r2_ceiling(task.sigma, task.timing.steps("stimulus"))
    for fold, r2 in zip(ood["heldout"].values, ood["r2_paper"].values):
        print(f"held-out {fold}: r² = {r2:.3f}")
    print(f"in-distribution r² = {float(ood['id_r2_paper']):.3f}; ceiling = {ceiling:.3f}")


if __name__ == "__main__":
    main()
