"""Training speed: neurodis's trainer against research-style training code, paper config.

Paper config: N = 24 classification tasks, batch 16, 22 steps, 64 ReLU units (α = 1),
the frozen ``2 → 100 → 100 → 40`` encoder (41 network inputs), Adam, BCE on all steps.

(a) Baseline, written here the way research code trains these networks: trials drawn
    one by one in Python loops, the frozen encoder as an ``nn.Sequential``, an
    ``nn.Module`` whose forward loops over time calling a cell of ``nn.Linear`` layers,
    sigmoid outputs and ``nn.BCELoss``, ``torch.optim.Adam``.
(b) ``neurodis.train`` on one network (everything included: data, encoder, history
    with the ideal observer, progress bookkeeping).
(c) ``neurodis.train_ensemble`` on 25 networks at once, time per network.

Goals: (b) ≥ 3× faster than (a); (c) ≥ 12× faster than (a) per network-batch. A
network-batch is ≈ 27 MFLOP (encoder ≈ 10, forward ≈ 6, backward ≈ 11), so at the
≈ 110 GFLOP/s two cores can sustain the physical limit is ≈ 0.25 ms per network-batch;
the table reports how close (c) gets.

Checks before timing: (a) and (b) are fed the same first batch from the same initial
weights: the baseline's BCE loss equals the loss neurodis records for that batch, and
one Adam step gives the same weights. (c)'s member 0 ends its timed run within float
tolerance of (b)'s network trained alone with the same seed.

Threads: each case runs with torch (and BLAS) on 1 and on 2 threads. Timings are wall
time, the best of a few repeats. Ratios are taken against the baseline's *best*
thread setting (on a shared machine two threads can make its many tiny ops much
slower, which would flatter neurodis). Trust ratios, not absolute times.

Run: ``python benchmarks/bench_train.py [--quick]``.
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

N_TASKS, BATCH, N_UNITS, N_STEPS, N_MEMBERS = 24, 16, 64, 22, 25
GOALS = {"single": 3.0, "ensemble": 12.0}
MFLOP_PER_NETWORK_BATCH, LIMIT_MS = 27.0, 0.25


# -- (a) the baseline -----------------------------------------------------------------------


class PerStepRNN(torch.nn.Module):
    """A rate RNN as research code writes it: a cell of nn.Linear layers called per step."""

    def __init__(self, n_inputs: int, n_units: int, n_outputs: int) -> None:
        super().__init__()
        self.input2h = torch.nn.Linear(n_inputs, n_units)
        self.h2h = torch.nn.Linear(n_units, n_units)
        self.readout = torch.nn.Linear(n_units, n_outputs)

    def cell(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.input2h(x_t) + self.h2h(h))

    def forward(self, x_txbxi: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(x_txbxi.shape[1], self.h2h.in_features)
        states = []
        for t in range(x_txbxi.shape[0]):
            h = self.cell(x_txbxi[t], h)
            states.append(h)
        return torch.sigmoid(self.readout(torch.stack(states)))


def baseline_batch(rng: np.random.Generator, normals: np.ndarray, sigma: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Raw inputs (time, trial, 3) and targets (time, trial, N), one trial at a time."""
    inputs = np.zeros((N_STEPS, BATCH, 3))
    targets = np.full((N_STEPS, BATCH, N_TASKS), 0.5)
    for i in range(BATCH):
        x = rng.uniform(-0.5, 0.5, size=2)
        for t in range(N_STEPS):
            if t < N_STEPS - 1:
                inputs[t, i, 0] = 1.0
            if 1 <= t <= N_STEPS - 2:
                inputs[t, i, 1:] = x + sigma * rng.standard_normal(2)
        for k in range(N_TASKS):
            targets[-1, i, k] = float(normals[k] @ x > 0)
    return inputs, targets


def frozen_encoder(encoder: Any) -> torch.nn.Sequential:
    """The neurodis encoder's weights in an nn.Sequential, as research code holds it."""
    layers: list[torch.nn.Module] = []
    for i, (w, b) in enumerate(zip(encoder.weights, encoder.biases)):
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(w))
            linear.bias.copy_(torch.tensor(b))
        layers += [linear] + ([torch.nn.ReLU()] if i < len(encoder.weights) - 1 else [])
    return torch.nn.Sequential(*layers).requires_grad_(False)


def baseline_step(model, optimizer, encoder_net, inputs: np.ndarray, targets: np.ndarray) -> float:
    x = torch.tensor(inputs, dtype=torch.float32)
    x = torch.cat([x[..., :1], encoder_net(x[..., 1:])], dim=-1)
    loss = torch.nn.BCELoss()(model(x), torch.tensor(targets, dtype=torch.float32))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def copy_from_ctrnn(net: torch.nn.Module, model: PerStepRNN) -> None:
    """Same parameters: the CTRNN's bias is the input layer's; the recurrent bias is 0."""
    with torch.no_grad():
        model.input2h.weight.copy_(net.weight_ih)
        model.input2h.bias.copy_(net.bias)
        model.h2h.weight.copy_(net.weight_hh)
        model.h2h.bias.zero_()
        model.readout.weight.copy_(net.readout.linear.weight)
        model.readout.bias.copy_(net.readout.linear.bias)


# -- checks and timing ---------------------------------------------------------------------


def check_agreement(task: Any, config: Any) -> str:
    """(a) and (b) on the same first batch from the same weights: loss and one Adam step."""
    net = neurodis.CTRNN(41, N_TASKS, n_units=N_UNITS, seed=0)
    first = neurodis.train(task, net, config.__class__(**{**config.to_dict(), "n_batches": 1, "log_every": 1,
                                                           "checkpoint_every": 1}), progress=False)
    # the data stream of run seed s is SeedSequence(s).spawn(3)[0] (TrainConfig docs)
    data = np.random.SeedSequence(config.seed).spawn(3)[0]
    batch = task.sample_arrays(BATCH, np.random.Generator(np.random.PCG64(data)))
    model = PerStepRNN(41, N_UNITS, N_TASKS)
    copy_from_ctrnn(net, model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss = baseline_step(model, optimizer, frozen_encoder(first.encoder), batch.inputs.transpose(1, 0, 2),
                         batch.targets.transpose(1, 0, 2))
    recorded = float(first.history["loss"][0])
    weight_gap = (model.h2h.weight - first.model.weight_hh).abs().max().item()
    if abs(loss - recorded) > 1e-5 * recorded or weight_gap > 1e-6:
        raise AssertionError(f"baseline and neurodis disagree: loss {loss} vs {recorded}, weights Δ {weight_gap}")
    return f"same batch: loss Δ {abs(loss - recorded):.1e}, 1-step weight Δ {weight_gap:.1e}"


def baseline_runner(task: Any, encoder: Any, n_batches: int) -> Callable[[], None]:
    """``n_batches`` steps of the baseline (one model trained on across calls)."""
    model = PerStepRNN(41, N_UNITS, N_TASKS)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    encoder_net, normals, rng = frozen_encoder(encoder), task.normals, np.random.default_rng(0)

    def run() -> None:
        for _ in range(n_batches):
            baseline_step(model, optimizer, encoder_net, *baseline_batch(rng, normals))

    return run


def neurodis_runner(task: Any, config: Any, n_networks: int, trained: list) -> Callable[[], None]:
    """One ``neurodis.train`` (n_networks = 1) or ``train_ensemble`` call; keeps the nets."""
    nets = [neurodis.CTRNN(41, N_TASKS, n_units=N_UNITS, seed=k) for k in range(n_networks)]

    def run() -> None:
        if n_networks == 1:
            trained[:] = [neurodis.train(task, nets[0], config, progress=False).model]
        else:
            trained[:] = neurodis.train_ensemble(task, nets, config, progress=False).models

    return run


def interleaved_best_ms(cases: dict[Any, tuple[int, Callable[[], None], int]], repeats: int) -> dict[Any, float]:
    """Best wall ms per network-batch of each case ``(threads, run, network-batches)``.

    Cases run round-robin, each once per repeat, so a load spike on the shared
    machine hits all of them alike rather than one case's whole measurement.
    """
    best = {key: float("inf") for key in cases}
    for repeat in range(repeats + 1):  # the first round warms up
        for key, (threads, run, n) in cases.items():
            with threadpool_limits(threads):
                torch.set_num_threads(threads)
                start = time.perf_counter()
                run()
                elapsed = (time.perf_counter() - start) / n * 1e3
            if repeat:
                best[key] = min(best[key], elapsed)
    return best


def main(quick: bool = False) -> list[dict[str, Any]]:
    """Time (a), (b), (c) on 1 and 2 threads; print a table; return the rows."""
    task = neurodis.make_task("classification", n_tasks=N_TASKS)
    # history rows (with the ideal observer) every 100 batches, as in a real run
    config = neurodis.TrainConfig(n_batches=1, batch_size=BATCH, log_every=100, checkpoint_every=100, seed=0)
    n_base, n_single, n_ens, repeats = (5, 100, 100, 1) if quick else (30, 300, 200, 4)
    with threadpool_limits(1):
        torch.set_num_threads(1)
        agreement = check_agreement(task, config)
    single_config = config.__class__(**{**config.to_dict(), "n_batches": n_single})
    ens_config = config.__class__(**{**config.to_dict(), "n_batches": n_ens})
    members: dict[int, list] = {1: [], 2: []}
    cases = {}
    for threads in (1, 2):
        cases[("baseline", threads)] = (threads, baseline_runner(task, neurodis.Encoder(n_dims=2, seed=0), n_base),
                                        n_base)
        cases[("single", threads)] = (threads, neurodis_runner(task, single_config, 1, []), n_single)
        cases[("ensemble", threads)] = (threads, neurodis_runner(task, ens_config, N_MEMBERS, members[threads]),
                                        n_ens * N_MEMBERS)
    ms = interleaved_best_ms(cases, repeats)
    with threadpool_limits(1):
        torch.set_num_threads(1)
        solo = neurodis.train(task, neurodis.CTRNN(41, N_TASKS, n_units=N_UNITS, seed=0), ens_config, progress=False)
    reference = min(ms[("baseline", 1)], ms[("baseline", 2)])
    note = f"baseline best of {ms[('baseline', 1)]:.1f} ms (1 thread), {ms[('baseline', 2)]:.1f} ms (2 threads)"
    rows: list[dict[str, Any]] = []
    for threads in (1, 2):
        gap = (members[threads][0].weight_hh - solo.model.weight_hh).abs().max().item()
        single, ensemble = ms[("single", threads)], ms[("ensemble", threads)]
        rows += [
            {"benchmark": "train", "case": f"(b) single CTRNN, {threads} thread(s)", "baseline_ms": reference,
             "neurodis_ms": single, "ratio": reference / single, "goal": GOALS["single"],
             "check": f"{agreement}; {note}"},
            {"benchmark": "train", "case": f"(c) ensemble of {N_MEMBERS}, per network, {threads} thread(s)",
             "baseline_ms": reference, "neurodis_ms": ensemble, "ratio": reference / ensemble,
             "goal": GOALS["ensemble"],
             "check": f"member 0 vs solo after {n_ens} batches: max |Δw| {gap:.1e}; "
                      f"{LIMIT_MS / ensemble:.0%} of the {LIMIT_MS} ms limit "
                      f"({MFLOP_PER_NETWORK_BATCH / ensemble:.0f} GFLOP/s)"},
        ]
    print_ratios(rows)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches")
    main(quick=parser.parse_args().quick)
