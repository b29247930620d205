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
(d) Second baseline, the same work as (c) written as a careful researcher would stack
    it: K = 13 (and 25) CTRNNs with their weights stacked on a member axis, each member's
    batch drawn with ``Task.sample_arrays`` from its own stream, the frozen encoders
    and the input projection and readout as batched matmuls over all steps, an
    unbound time loop of batched matmuls, autograd, ``torch.optim.Adam``; against it
    ``neurodis.train_ensemble`` on the same networks, on one thread (per core).

Goals: (b) ≥ 3× faster than (a); (c) ≥ 12× faster than (a) per network-batch; (d)
≥ 1.65× faster than the stacked prototype. A network-batch is ≈ 27 MFLOP (encoder ≈ 10,
forward ≈ 6, backward ≈ 11), so the physical limit per core is 27 MFLOP over the GEMM
peak one core sustains. That peak is measured in the same run (torch on 1 thread: sgemm
1024 and a 13 × (16×64)·(64×64) bmm, the faster of the two; it differs between
machines by 3×: 54 GFLOP/s where the goals were set, 160–175 on an AVX-512 core), and
the table reports how close (c) and (d) get to the limit it gives.

Checks before timing: (a) and (b) are fed the same first batch from the same initial
weights: the baseline's BCE loss equals the loss neurodis records for that batch, and
one Adam step gives the same weights. (c)'s member 0 ends its timed run within float
tolerance of (b)'s network trained alone with the same seed. (d): the prototype and
``train_ensemble`` start from the same weights, encoders and data streams; every
member's loss of each of the first batches agrees to float rounding and so do the
weights after them (Adam's later steps depend on the gradients' sizes, so this checks
the gradients too).

(e) With a CUDA GPU: ``train_ensemble`` of 25 networks with ``device="cuda"`` against the
    same ensemble on one CPU thread, per network-batch (the GPU's throughput; no goal).
    Without one the row is skipped with a line saying so.

Threads: (a)-(c) run with torch (and BLAS) on 1 and on 2 threads, (d) on 1. Timings
are wall time, the median of a few repeats; the cases run round-robin so that load
from other processes on a shared machine hits all of them alike. Ratios are taken
against the baseline's *best* thread setting (on a shared machine two threads can
make its many tiny ops much slower, which would flatter neurodis). Trust ratios, not
absolute times.

Run: ``python benchmarks/bench_train.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from _table import print_ratios
from threadpoolctl import threadpool_limits

import neurodis

N_TASKS, BATCH, N_UNITS, N_STEPS, N_MEMBERS, N_STACKED = 24, 16, 64, 22, 25, 13
GOALS = {"single": 3.0, "ensemble": 12.0, "stacked": 1.65}
#: floating-point work of one network-batch in the paper config (see the module docstring)
MFLOP_PER_NETWORK_BATCH = 27.0


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
        rates_t = []
        for t in range(x_txbxi.shape[0]):
            h = self.cell(x_txbxi[t], h)
            rates_t.append(h)
        return torch.sigmoid(self.readout(torch.stack(rates_t)))


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


# -- (d) the stacked-torch prototype --------------------------------------------------------


class StackedPrototype:
    """K CTRNNs (α = 1, ReLU, no noise) trained as one stacked model with plain torch."""

    def __init__(self, task: Any, nets: list, encoders: list, seeds: list[int], lr: float) -> None:
        def stack(name: str) -> torch.Tensor:
            return torch.stack([net.get_parameter(name).detach().clone() for net in nets]).requires_grad_()

        self.task, self.k = task, len(nets)
        self.w_ih, self.w_hh, self.bias = stack("weight_ih"), stack("weight_hh"), stack("bias")
        self.w_out, self.b_out = stack("readout.linear.weight"), stack("readout.linear.bias")
        self.optimizer = torch.optim.Adam([self.w_ih, self.w_hh, self.bias, self.w_out, self.b_out], lr=lr)
        self.encoder = [(torch.stack([torch.tensor(e.weights[layer], dtype=torch.float32) for e in encoders]),
                         torch.stack([torch.tensor(e.biases[layer], dtype=torch.float32) for e in encoders]))
                        for layer in range(len(encoders[0].weights))]
        names = task.input_names
        self.stimulus = [i for i, name in enumerate(names) if name.startswith("stimulus")]
        self.direct = [i for i, name in enumerate(names) if not name.startswith("stimulus")]
        # each member's data stream is its run seed's first child (TrainConfig docs)
        self.rngs = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(s).spawn(3)[0])) for s in seeds]

    def step(self) -> np.ndarray:
        """One Adam step of every member on its next batch; returns their losses."""
        raw = [self.task.sample_arrays(BATCH, rng) for rng in self.rngs]
        x = torch.from_numpy(np.stack([b.inputs for b in raw]).astype(np.float32))  # (K, batch, time, input)
        k, n_batch, n_steps, _ = x.shape
        h = x[..., self.stimulus].reshape(k, n_batch * n_steps, -1)
        for layer, (w, b) in enumerate(self.encoder):
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            h = h.relu() if layer < len(self.encoder) - 1 else h
        u = torch.cat([x[..., self.direct].reshape(k, n_batch * n_steps, -1), h], dim=-1)
        drive = torch.baddbmm(self.bias.unsqueeze(1), u, self.w_ih.transpose(1, 2)).view(k, n_batch, n_steps, -1)
        r, rates_t, w_hh_t = torch.zeros(k, n_batch, self.w_hh.shape[1]), [], self.w_hh.transpose(1, 2)
        for drive_t in drive.unbind(2):
            r = torch.relu(torch.baddbmm(drive_t, r, w_hh_t))
            rates_t.append(r)
        rates = torch.stack(rates_t, dim=2).view(k, n_batch * n_steps, -1)
        logits = torch.baddbmm(self.b_out.unsqueeze(1), rates, self.w_out.transpose(1, 2))
        targets = torch.from_numpy(np.stack([b.targets for b in raw]).astype(np.float32)).view(logits.shape)
        mask = torch.from_numpy(np.stack([b.loss_mask for b in raw]).astype(np.float32)).view(logits.shape)
        losses = (F.binary_cross_entropy_with_logits(logits, targets, weight=mask, reduction="none").sum(dim=(1, 2))
                  / mask.sum(dim=(1, 2)))
        self.optimizer.zero_grad()
        losses.sum().backward()
        self.optimizer.step()
        return losses.detach().numpy()


def stacked_nets(n_members: int) -> list:
    return [neurodis.CTRNN(41, N_TASKS, n_units=N_UNITS, seed=k) for k in range(n_members)]


def check_stacked(task: Any, config: Any, n_members: int, n_batches: int = 4) -> str:
    """The prototype and ``train_ensemble`` of ``n_members`` on the same nets, encoders and streams."""
    short = config.__class__(**{**config.to_dict(), "n_batches": n_batches, "log_every": 1,
                                "checkpoint_every": n_batches})
    members = neurodis.train_ensemble(task, stacked_nets(n_members), short, progress=False)
    prototype = StackedPrototype(task, stacked_nets(n_members), [m.encoder for m in members],
                                 [m.config.seed for m in members], config.lr)
    losses = np.stack([prototype.step() for _ in range(n_batches)], axis=1)  # (member, batch)
    recorded = np.stack([m.history["loss"].values for m in members])
    loss_gap = float(np.max(np.abs(losses - recorded) / recorded))
    weight_gap = max((prototype.w_hh[k] - m.model.weight_hh).abs().max().item() for k, m in enumerate(members))
    if loss_gap > 1e-5 or weight_gap > 1e-5:
        raise AssertionError(f"prototype and neurodis disagree: loss rel Δ {loss_gap}, weights Δ {weight_gap}")
    return f"{n_batches} batches × {n_members} members: loss rel Δ {loss_gap:.1e}, weights Δ {weight_gap:.1e}"


def prototype_runner(task: Any, config: Any, n_batches: int, n_members: int) -> Callable[[], None]:
    """``n_batches`` steps of a prototype of ``n_members`` (one stack trained on across calls)."""
    encoders = [neurodis.Encoder(n_dims=2, seed=k) for k in range(n_members)]
    prototype = StackedPrototype(task, stacked_nets(n_members), encoders, list(range(n_members)), config.lr)

    def run() -> None:
        for _ in range(n_batches):
            prototype.step()

    return run


# -- checks and timing ---------------------------------------------------------------------


def gemm_peak_gflops(repeats: int = 5) -> float:
    """GFLOP/s of float32 GEMMs with torch on one thread: the best of sgemm 1024 and a
    13 × (16×64)·(64×64) bmm (the recurrence's shape), each the best of ``repeats``."""
    cases = [(torch.randn(1024, 1024), torch.randn(1024, 1024), 4),
             (torch.randn(13, 16, 64), torch.randn(13, 64, 64), 2000)]
    best = 0.0
    with threadpool_limits(1):
        torch.set_num_threads(1)
        for a, b, calls in cases:
            flops = 2 * a.shape[-2] * a.shape[-1] * b.shape[-1] * (a.shape[0] if a.ndim == 3 else 1) * calls
            for _ in range(repeats + 1):
                start = time.perf_counter()
                for _ in range(calls):
                    torch.matmul(a, b)
                best = max(best, flops / (time.perf_counter() - start) / 1e9)
    return best


def limit_check(ms: float, threads: int, peak: float) -> str:
    """How close ``ms`` per network-batch comes to the physical limit on ``threads`` cores."""
    limit = MFLOP_PER_NETWORK_BATCH / (peak * threads)
    return (f"{limit / ms:.0%} of the {limit:.2f} ms limit ({MFLOP_PER_NETWORK_BATCH / ms:.0f} GFLOP/s; "
            f"GEMM peak {peak:.0f} GFLOP/s per core, measured)")


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
            trained[:] = [member.model for member in neurodis.train_ensemble(task, nets, config, progress=False)]

    return run


def interleaved_median_ms(cases: dict[Any, tuple[int, Callable[[], None], int]], repeats: int) -> dict[Any, float]:
    """Median wall ms per network-batch of each case ``(threads, run, network-batches)``.

    Cases run round-robin, each once per repeat, so a load spike on the shared
    machine hits all of them alike rather than one case's whole measurement.
    """
    times: dict[Any, list[float]] = {key: [] for key in cases}
    for repeat in range(repeats + 1):  # the first round warms up
        for key, (threads, run, n) in cases.items():
            with threadpool_limits(threads):
                torch.set_num_threads(threads)
                start = time.perf_counter()
                run()
                elapsed = (time.perf_counter() - start) / n * 1e3
            if repeat:
                times[key].append(elapsed)
    return {key: float(np.median(values)) for key, values in times.items()}


def stacked_rows(task: Any, config: Any, quick: bool, peak: float) -> list[dict[str, Any]]:
    """(d): ``train_ensemble`` of 13 (a worker's share of fig3's CTRNN arm run alone) and of
    25 (the arm in one ensemble, as the whole preset trains it) against stacked prototypes
    of the same size, one thread, all four cases round-robin."""
    n_batches, repeats = (30, 3) if quick else (100, 7)
    with threadpool_limits(1):
        torch.set_num_threads(1)
        agreement = {k: check_stacked(task, config, k) for k in (N_STACKED, N_MEMBERS)}
    ens_config = config.__class__(**{**config.to_dict(), "n_batches": n_batches})
    cases = {}
    for k in (N_STACKED, N_MEMBERS):
        cases[("prototype", k)] = (1, prototype_runner(task, config, n_batches, k), n_batches * k)
        cases[("neurodis", k)] = (1, neurodis_runner(task, ens_config, k, []), n_batches * k)
    ms = interleaved_median_ms(cases, repeats)
    rows = []
    for k in (N_STACKED, N_MEMBERS):
        proto, ours = ms[("prototype", k)], ms[("neurodis", k)]
        rows.append({"benchmark": "train", "case": f"(d) ensemble of {k} vs stacked prototype, 1 thread",
                     "baseline_ms": proto, "neurodis_ms": ours, "ratio": proto / ours, "goal": GOALS["stacked"],
                     "check": f"{agreement[k]}; {limit_check(ours, 1, peak)}"})
    return rows


def gpu_rows(task: Any, config: Any, quick: bool) -> list[dict[str, Any]]:
    """(e): the ensemble of 25 on CUDA against the same ensemble on one CPU thread."""
    if not torch.cuda.is_available():
        print("(e) skipped: no CUDA GPU here (torch.cuda.is_available() is False)")
        return []
    n_batches, repeats = (30, 1) if quick else (200, 3)
    members: dict[str, list] = {"cpu": [], "cuda": []}
    cases = {device: (1, neurodis_runner(task, config.__class__(**{**config.to_dict(), "n_batches": n_batches,
                                                                    "device": device}), N_MEMBERS, members[device]),
                      n_batches * N_MEMBERS) for device in ("cpu", "cuda")}
    ms = interleaved_median_ms(cases, repeats)
    gap = (members["cuda"][0].weight_hh.cpu() - members["cpu"][0].weight_hh).abs().max().item()
    return [{"benchmark": "train", "case": f"(e) ensemble of {N_MEMBERS} on {torch.cuda.get_device_name()}, per network",
             "baseline_ms": ms["cpu"], "neurodis_ms": ms["cuda"], "ratio": ms["cpu"] / ms["cuda"], "goal": 0.0,
             "check": f"against 1 CPU thread; member 0 CPU vs GPU after {n_batches} batches: max |Δw| {gap:.1e}"}]


def main(quick: bool = False, stacked_only: bool = False) -> list[dict[str, Any]]:
    """Time (a), (b), (c) on 1 and 2 threads and (d) on 1; print a table; return the rows."""
    task = neurodis.make_task("classification", n_tasks=N_TASKS)
    # history rows (with the ideal observer) every 100 batches, as in a real run
    config = neurodis.TrainConfig(n_batches=1, batch_size=BATCH, log_every=100, checkpoint_every=100, seed=0)
    peak = gemm_peak_gflops()
    if stacked_only:
        rows = stacked_rows(task, config, quick, peak)
        print_ratios(rows)
        return rows
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
    ms = interleaved_median_ms(cases, repeats)
    with threadpool_limits(1):
        torch.set_num_threads(1)
        solo = neurodis.train(task, neurodis.CTRNN(41, N_TASKS, n_units=N_UNITS, seed=0), ens_config, progress=False)
    reference = min(ms[("baseline", 1)], ms[("baseline", 2)])
    note = f"baseline median of {ms[('baseline', 1)]:.1f} ms (1 thread), {ms[('baseline', 2)]:.1f} ms (2 threads)"
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
                      f"{limit_check(ensemble, threads, peak)}"},
        ]
    rows += stacked_rows(task, config, quick, peak)
    rows += gpu_rows(task, config, quick)
    print_ratios(rows)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches")
    parser.add_argument("--stacked", action="store_true", help="only (d), the ensemble against the stacked prototype")
    args = parser.parse_args()
    main(quick=args.quick, stacked_only=args.stacked)
