"""neurogym quick start: train, analyse and compare networks on a neurogym task.

1. Wrap neurogym's ``PerceptualDecisionMaking-v0`` as a neurodis task: seeded trials in
   a labelled Dataset (periods, ground truth and coherence as coords).
2. Train two CTRNNs (seeds 0 and 1, as one batched ensemble) with neurodis's trainer.
3. Run them on held-out trials and score the choice in the decision period.
4. Analyse the first network: its fixed points under the fixation input, and the CCGP
   of the choice across coherences (is the choice coded the same way at every
   coherence?).
5. Compare the two networks: linear CKA of their condition-averaged trajectories, against
   an untrained copy of the first.

Needs neurogym (``pip install neurodis[neurogym]``).

Usage::

    python examples/neurogym_quickstart.py                  # about a minute on a laptop core
    NEURODIS_EXAMPLE_FAST=1 python examples/neurogym_quickstart.py
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import torch

FAST = os.environ.get("NEURODIS_EXAMPLE_FAST") == "1"


def main() -> None:
    from neurodis.analysis import ccgp, linear_cka
    from neurodis.experiments import attractor, run, untrained_copy, visited_states
    from neurodis.tasks import from_neurogym
    from neurodis.training import TrainConfig, TrainedNetwork, train_networks

    torch.set_num_threads(1)
    task = from_neurogym("PerceptualDecisionMaking-v0")
    config = TrainConfig(n_batches=300 if FAST else 2000, batch_size=32, lr=1e-2, encoder="none", seed=0,
                         log_every=100, checkpoint_every=300 if FAST else 2000)
    networks = train_networks(task, config, n_networks=2, n_units=32, options={"tau": 200.0, "activation": "tanh"}, progress=not FAST)

    trials = task.sample(400 if FAST else 2000, rng=1)  # held out: another seed than training's
    results = [run(net, trials, rng=2) for net in networks]
    decision = trials["period"] == "decision"
    correct = trials["targets"].argmax("output")  # the action neurogym's gt asks for
    for seed, result in enumerate(results):
        chosen = result["outputs"].argmax("output")
        print(f"network {seed}: {float((chosen == correct).where(decision).sum() / decision.sum()):.1%} correct")

    first = results[0]
    points = attractor(networks[0], visited_states(networks[0], trials.isel(trial=slice(64))), n_inits=32, rng=3)
    print(f"{points.sizes['fixed_point']} fixed points under the fixation input; the slowest is "
          f"{points['kind'].values[0]}, stable: {bool(points['stable_discrete'].values[0])}")

    last = first.sel(time=first["stimulus_end"].values[0] - task.dt)  # the last stimulus step
    evidence = last.where(last["coh"] > 0, drop=True)
    conditions = np.char.add(evidence["ground_truth"].values.astype(str), evidence["coh"].values.astype(str))
    choice = ccgp(evidence["rates"], {"choice": evidence["ground_truth"].values == 1}, conditions=conditions,
                  n_null=20, rng=4)
    print(f"CCGP of the choice across coherences: {float(choice['ccgp'][0]):.2f} "
          f"(p = {float(choice['p_value'][0]):.2f})")

    def condition_means(net: TrainedNetwork) -> object:  # noise-free trajectories, averaged per condition
        rates = run(net, trials, noise=False)["rates"].drop_vars("period")
        label = rates["ground_truth"].astype(str) + "/" + rates["coh"].astype(str)
        return rates.assign_coords(condition=label).groupby("condition").mean()

    untrained = TrainedNetwork(untrained_copy(networks[0].model, seed=5), task, None)
    cka = linear_cka(condition_means(networks[0]), condition_means(networks[1]),
                     null=[condition_means(untrained)], rng=6)
    print(f"linear CKA between the two networks: {float(cka['score']):.2f} "
          f"(an untrained copy of network 0 against network 1: {float(cka['null'][0]):.2f})")


if __name__ == "__main__":
    if importlib.util.find_spec("neurogym") is None:
        print("skipped: neurogym is not installed (pip install neurodis[neurogym])")
    else:
        main()
