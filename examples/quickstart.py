"""Quick start: task → train → trials → rates → out-of-distribution r², in under a minute.

The data take one path: the trials a task samples are run through the trained network,
which adds its rates to the same labelled Dataset, and the analyses read that Dataset.

1. Make the paper's task (N = 24 classification boundaries of a 2-D latent, seen through
   noisy samples and a frozen random encoder).
2. Train a 64-unit CTRNN with the paper's protocol for a few thousand batches; training
   returns a ``TrainedNetwork`` (model, task, encoder, config, history).
3. Sample fresh trials and ``run`` the network on them (the Numba simulator for a CTRNN):
   the trials come back with ``rates (trial, time, unit)`` and ``outputs`` added.
4. Fit linear decoders of the latent from the decision-step rates on three quadrants and
   test them on the fourth, against the Bayes ceiling (``neurodis.experiments.generalization``
   runs this whole protocol in one call, as ``neurodis generalize`` does).

Usage::

    python examples/quickstart.py                     # ~1 minute on a laptop core
    NEURODIS_EXAMPLE_FAST=1 python examples/quickstart.py
"""

from __future__ import annotations

import os

import torch

import neurodis
from neurodis.analysis import fit_ood_decoders, r2_ceiling
from neurodis.experiments import run
from neurodis.training import TrainConfig, make_network, train

FAST = os.environ.get("NEURODIS_EXAMPLE_FAST") == "1"


def main() -> None:
    torch.set_num_threads(1)
    task = neurodis.make_task("classification", n_tasks=24)
    encoder = neurodis.Encoder(n_dims=2, seed=0)
    model = make_network(task, "ctrnn", encoder=encoder, n_units=64, seed=0)
    config = TrainConfig(n_batches=200 if FAST else 5000, seed=0, log_every=100, checkpoint_every=1000)
    network = train(task, model, config, encoder=encoder, progress=not FAST)
    history = network.history.isel(batch=-1)
    print(f"trained {config.n_batches} batches: loss {float(history['loss']):.3f}, "
          f"decision accuracy {float(history['accuracy']):.3f} "
          f"({float(history['relative_accuracy']):.1%} of the ideal observer's)")

    trials = task.sample(500 if FAST else 2000, rng=1, encoder=network.encoder)
    trials = run(network, trials, rng=2)  # the same trials, now with the network's rates and outputs
    print(f"rates {dict(trials['rates'].sizes)}; "
          f"mean rate at the decision step {float(trials['rates'].isel(time=-1).mean()):.3f}")

    decision = trials.isel(time=task.timing.decision_index)
    ood = fit_ood_decoders(decision["rates"], decision["latents"], rng=3)
    ceiling = r2_ceiling(task.sigma, task.timing.steps("stimulus"))
    for fold, r2 in zip(ood["heldout"].values, ood["r2_paper"].values):
        print(f"held-out {fold}: r² = {r2:.3f}")
    print(f"in-distribution r² = {float(ood['id_r2_paper']):.3f}; ceiling = {ceiling:.3f}")


if __name__ == "__main__":
    main()
