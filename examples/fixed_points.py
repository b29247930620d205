"""Fixed points of a trained network: the 3-bit flip-flop's eight stable states.

Trains a small tanh CTRNN on the 3-bit flip-flop task (Sussillo & Barak 2013), finds
its fixed points from visited states, and checks that the stable ones sit at the eight
corners of the output cube. Saves an eigenvalue plot.

Usage::

    python examples/fixed_points.py [--out DIR]
    NEURODIS_EXAMPLE_FAST=1 python examples/fixed_points.py
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch

import neurodis
from neurodis.experiments import find_fixed_points, run
from neurodis.plotting import plot_eigenvalues
from neurodis.training import TrainConfig, train

FAST = os.environ.get("NEURODIS_EXAMPLE_FAST") == "1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="fixed_points_results")
    out = Path(parser.parse_args().out)
    torch.set_num_threads(1)
    task = neurodis.make_task("flipflop", n_bits=3)
    model = neurodis.CTRNN(3, 3, n_units=24, activation="tanh", readout="linear", dt=task.dt, tau=task.dt, seed=0)
    config = TrainConfig(n_batches=600 if FAST else 4000, batch_size=32, lr=3e-3, loss="mse", seed=0, encoder="none",
                         log_every=100, checkpoint_every=600 if FAST else 4000)
    network = train(task, model, config, progress=not FAST)
    print(f"final loss {float(network.history['loss'][-1]):.4f}")

    visited = run(network, task.sample(64, rng=1, encoder=network.encoder), rng=2)["rates"]
    points = find_fixed_points(network.model, np.zeros(3), states=visited, n_inits=128, rng=3)
    stable = points.where(points["stable_discrete"] & (points["kind"] == "exact"), drop=True)
    readout = network.model.readout.linear
    with torch.no_grad():
        corners = readout(torch.as_tensor(stable["states"].values, dtype=readout.weight.dtype)).numpy()
    print(f"{points.sizes['fixed_point']} fixed points, {stable.sizes['fixed_point']} stable and exact; "
          f"their outputs:\n{np.round(corners, 2)}")
    out.mkdir(parents=True, exist_ok=True)
    plot_eigenvalues(points).savefig(out / "eigenvalues.png", dpi=100)
    print(f"figure written to {out / 'eigenvalues.png'}")


if __name__ == "__main__":
    main()
