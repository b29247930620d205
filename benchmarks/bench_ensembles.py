"""Stacked ensembles of LSTMs, GRUs and transformers against the same networks trained one by one.

A ``fig3`` sweep trains 25 networks of each kind; on two cores each worker gets an
ensemble of 13. This benchmark trains 13 networks of one kind (paper config: N = 24
classification tasks, batch 16, 22 steps, 64 units, the frozen ``2 → 100 → 100 → 40``
encoder) both ways, with everything ``train`` does included (data, encoder, history):

(a) baseline: ``neurodis.train`` once per network, one after the other. Its per-network
    forward is torch's own module (``nn.LSTM``/``nn.GRU``, fused on the CPU) or the
    transformer module.
(b) ``neurodis.train_ensemble`` on the 13 at once (the stacked forwards of
    :mod:`neurodis.training._stacked`).

Both run on one thread (a sweep runs one worker per core). Cases alternate round-robin
so a load spike hits both; the table shows the best repeat per network-batch. Check:
member 0 of (b) ends within float tolerance of its solo run in (a).

Goal: (b) ≥ 1.5× faster per network. These networks are small, so much of a solo
batch is per-kernel overhead that stacking shares; the heavier the per-network work
(the transformer's attention and dropout masks, drawn per member so each member
reproduces its solo run), the less stacking can save.

A second table sets the architectures' ensembles against each other: (b) for the
CTRNN, the LSTM, the GRU and the transformer, 13 members each, timed round-robin in
the same run, and each one's cost per network-batch as a multiple of the CTRNN's
(a sweep balances its workers with these costs). Goals: LSTM and GRU ≤ 2× the CTRNN,
the transformer ≤ 3×. Check: the members' mean loss over the last logged window
(training ran and produced a number). Beside each cost the table prints the
architecture's arithmetic per network-batch as a multiple of the CTRNN's
(:func:`flops_per_batch`), and so the rate at which it does that arithmetic relative
to the CTRNN: a cost goal below the FLOP multiple asks the architecture to run its
matmuls faster than the CTRNN runs its own.

Run: ``python benchmarks/bench_ensembles.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from _table import print_ratios
from threadpoolctl import threadpool_limits

import neurodis
from neurodis.training import default_encoder, make_network

N_TASKS, N_MEMBERS, N_UNITS = 24, 13, 64
ARCHS = ("lstm", "gru", "transformer")
GOAL = 1.5
#: the most each architecture's ensemble may cost per network-batch, as a multiple of the CTRNN's
COST_GOALS = {"lstm": 2.0, "gru": 2.0, "transformer": 3.0}


def flops_per_batch(model: torch.nn.Module, encoder: Any, batch_size: int, n_steps: int) -> float:
    """Floating-point operations of one training batch of one network, counted from its shapes.

    Each weight matrix costs one multiply-add per element and token in the forward pass
    and two in the backward (the gradients of its input and of itself), except that no
    gradient flows to the inputs, so the matrices that read the inputs cost one fewer,
    nor to a recurrent network's initial state (one step's fewer for the recurrent
    matrix); a transformer's attention adds ``2 · batch · time² · d_model`` multiply-adds per block
    (scores and weighted values over the whole causal square, as it is computed); the
    frozen encoder runs forward only. Elementwise work (nonlinearities, LayerNorm,
    dropout, Adam) is not counted. ``tests/test_benchmarks.py`` checks the count against
    torch's own ``FlopCounterMode`` where that sees the model's matmuls.

    Parameters
    ----------
    model : torch.nn.Module
        A ``neurodis`` model (any architecture).
    encoder : Encoder or None
        The network's frozen encoder.
    batch_size, n_steps : int
        Trials per batch and time steps per trial.

    Returns
    -------
    float
        FLOPs (2 per multiply-add).
    """
    tokens = batch_size * n_steps
    matrices = {name: p for name, p in model.named_parameters() if p.ndim == 2 and name != "positional"}
    macs = 3 * tokens * sum(p.numel() for p in matrices.values())
    macs -= tokens * sum(p.numel() for p in matrices.values() if p.shape[1] == model.n_inputs)
    macs -= batch_size * sum(p.numel() for name, p in matrices.items() if "weight_hh" in name)
    if model.arch == "transformer":
        macs += 3 * len(model.blocks) * 2 * batch_size * n_steps**2 * model.d_model
    if encoder is not None:
        macs += tokens * sum(w.size for w in encoder.weights)
    return 2.0 * macs


def _members(arch: str, config: Any) -> tuple[Any, list, list]:
    task = neurodis.make_task("classification", n_tasks=N_TASKS)
    encoders = [default_encoder(task, replace(config, seed=k)) for k in range(N_MEMBERS)]
    models = [make_network(task, arch, encoder=e, n_units=N_UNITS, seed=k) for k, e in enumerate(encoders)]
    return task, encoders, models


def time_arch(arch: str, n_batches: int, repeats: int) -> dict[str, Any]:
    """Best ms per network-batch of (a) and (b) for one architecture, with the check."""
    config = neurodis.TrainConfig(n_batches=n_batches, batch_size=16, log_every=100, checkpoint_every=100, seed=0)
    task, encoders, models = _members(arch, config)
    result: dict[str, Any] = {}

    def solo() -> None:
        result["solo"] = [neurodis.train(task, m, replace(config, seed=k), encoder=e, progress=False).model
                          for k, (m, e) in enumerate(zip(models, encoders))]

    def stacked() -> None:
        result["stacked"] = neurodis.train_ensemble(task, models, config, seeds=list(range(N_MEMBERS)),
                                                    encoders=encoders, progress=False)
        result["stacked"] = [member.model for member in result["stacked"]]

    best = {"solo": float("inf"), "stacked": float("inf")}
    for repeat in range(repeats + 1):  # the first round warms up
        for name, run in (("solo", solo), ("stacked", stacked)):
            start = time.perf_counter()
            run()
            elapsed = (time.perf_counter() - start) / (n_batches * N_MEMBERS) * 1e3
            if repeat:
                best[name] = min(best[name], elapsed)
    gap = max((a - b).abs().max().item()
              for a, b in zip(result["solo"][0].parameters(), result["stacked"][0].parameters()))
    return {"benchmark": "ensembles", "case": f"{arch}: ensemble of {N_MEMBERS}, per network, 1 thread",
            "baseline_ms": best["solo"], "neurodis_ms": best["stacked"], "ratio": best["solo"] / best["stacked"],
            "goal": GOAL, "check": f"member 0 vs its solo run after {n_batches} batches: max |Δw| {gap:.1e}"}


def time_costs(n_batches: int, repeats: int) -> list[dict[str, Any]]:
    """Best ms per network-batch of each ensemble of 13 against the CTRNN's, timed round-robin.

    Rows in the shared format: ``baseline_ms`` is the CTRNN's, ``ratio`` its time over
    the architecture's, so a cost goal of ``c×`` the CTRNN's is a ``ratio`` goal of ``1/c``.
    """
    config = neurodis.TrainConfig(n_batches=n_batches, batch_size=16, log_every=n_batches,
                                  checkpoint_every=n_batches, seed=0)
    archs = ("ctrnn", *ARCHS)
    members = {arch: _members(arch, config) for arch in archs}
    best, loss = dict.fromkeys(archs, float("inf")), {}
    for repeat in range(repeats + 1):  # the first round warms up
        for arch in archs:
            task, encoders, models = members[arch]
            start = time.perf_counter()
            trained = neurodis.train_ensemble(task, models, config, seeds=list(range(N_MEMBERS)),
                                              encoders=encoders, progress=False)
            elapsed = (time.perf_counter() - start) / (n_batches * N_MEMBERS) * 1e3
            if repeat:
                best[arch] = min(best[arch], elapsed)
            loss[arch] = float(np.mean([member.history["loss"].values[-1] for member in trained]))
    flops = {arch: flops_per_batch(models[0], encoders[0], config.batch_size, task.timing.n_steps)
             for arch, (task, encoders, models) in members.items()}
    return [{"benchmark": "ensembles", "case": f"{arch} against ctrnn: ensembles of {N_MEMBERS}, per network-batch",
             "baseline_ms": best["ctrnn"], "neurodis_ms": best[arch], "ratio": best["ctrnn"] / best[arch],
             "goal": 1.0 / COST_GOALS[arch], "cost": best[arch] / best["ctrnn"],
             "flop_ratio": flops[arch] / flops["ctrnn"], "mflop": flops[arch] / 1e6,
             "check": f"members' mean loss over the last window {loss[arch]:.4f} (ctrnn {loss['ctrnn']:.4f})"}
            for arch in ARCHS]


def print_costs(rows: list[dict[str, Any]]) -> None:
    """One line per architecture: ms per network-batch, cost and FLOP multiples of the CTRNN's, the goal.

    ``rate`` is the architecture's FLOP rate relative to the CTRNN's (FLOP multiple over
    cost multiple); ``rate needed`` is the rate the goal asks for.
    """
    width = max(len(row["case"]) for row in rows)
    print(f"{'case':<{width}} {'ctrnn ms':>9} {'arch ms':>8} {'MFLOP':>6} {'cost':>7} {'FLOPs':>7} {'rate':>5} "
          f"{'goal':>6} {'rate needed':>11}  check")
    for row in rows:
        goal = 1.0 / row["goal"]
        print(f"{row['case']:<{width}} {row['baseline_ms']:>9.3f} {row['neurodis_ms']:>8.3f} {row['mflop']:>6.1f} "
              f"{row['cost']:>6.2f}x {row['flop_ratio']:>6.2f}x {row['flop_ratio'] / row['cost']:>5.2f} "
              f"≤{goal:.1f}x {row['flop_ratio'] / goal:>11.2f}  {'ok' if row['cost'] <= goal else 'MISS'}; "
              f"{row['check']}")


def main(quick: bool = False) -> list[dict[str, Any]]:
    """Time every architecture both ways, then the ensembles against the CTRNN's; print two tables."""
    n_batches, repeats = (10, 1) if quick else (40, 3)
    with threadpool_limits(1):
        torch.set_num_threads(1)
        rows = [time_arch(arch, n_batches, repeats) for arch in ARCHS]
        costs = time_costs(n_batches, repeats)
    print_ratios(rows, baseline="solo ms", neurodis="stacked ms")
    print()
    print_costs(costs)
    return rows + costs


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches and repeats")
    main(quick=parser.parse_args().quick)
