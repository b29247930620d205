"""Simulation speed: neurodis's Numba simulator against eager torch loops.

The baseline, written here, runs the paper's network (64 ReLU units, 41 inputs, 24
sigmoid outputs, α = dt/τ = 1) the way research code does: ``nn.Linear`` layers for the
input, the recurrence and the readout, and a Python loop over time steps with one matmul
per layer per step, under ``torch.no_grad``. A second baseline is ``torch.nn.RNN``
(ReLU), whose fused C++ loop computes the same thing when α = 1. neurodis runs
``neurodis.simulator.simulate_arrays`` (the unlabelled path) and, for reference, the
labelled ``neurodis.simulate`` on a raw array (which also builds the Dataset).

Before timing, all three are checked to produce the same rates and outputs (float32,
max |Δ| ≤ 1e-5) from the same weights and inputs.

Cases: 22 steps (the paper's trial) at batch 1, 16, 256 and 4096, and one trial of
10,000 steps. Goals: ≥ 20× the torch loop at batch 1, ≥ 5× at batch 16, ≥ 1× at batch
4096 reaching ≥ 50 % of the matmul roofline, ≥ 20× on the long trial. Throughput counts
``2·batch·steps·units·(inputs + units + outputs)`` flops (input projection, recurrence,
readout; the nonlinearities are not counted), against a roofline measured in the same
run: numpy's float32 matmul of (4096, 64) @ (64, 64) (the recurrence's shape) and of two
1024² matrices.

Threads: by default every library runs on one thread (torch, numba, BLAS through
threadpoolctl): on a small shared machine, multi-threaded timings mostly measure other
people's load, and one thread gives the per-core comparison. ``--threads N`` lets all of
them use N threads. Timings are the best of several repeats, in process CPU time on one
thread (time spent waiting for a busy core is not counted) and in wall time otherwise.

Run: ``python benchmarks/bench_simulate.py [--quick] [--threads N]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import torch
from threadpoolctl import threadpool_limits

import neurodis
from neurodis.simulator import CTRNNWeights, simulate_arrays

N_INPUTS, N_UNITS, N_OUTPUTS, N_STEPS = 41, 64, 24, 22
GOALS = {1: 20.0, 16: 5.0, 4096: 1.0, "long": 20.0}
ROOFLINE_FRACTION_GOAL = 0.5


# -- the baselines ---------------------------------------------------------------------------


class TorchLoopRNN(torch.nn.Module):
    """A CTRNN as research code writes it: nn.Linear layers and a loop over time."""

    def __init__(self, alpha: float) -> None:
        super().__init__()
        self.alpha = alpha
        self.input2h = torch.nn.Linear(N_INPUTS, N_UNITS)
        self.h2h = torch.nn.Linear(N_UNITS, N_UNITS, bias=False)
        self.fc = torch.nn.Linear(N_UNITS, N_OUTPUTS)

    def forward(self, x_txbxi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = torch.zeros(x_txbxi.shape[1], N_UNITS)
        steps = []
        for t in range(x_txbxi.shape[0]):
            pre = self.input2h(x_txbxi[t]) + self.h2h(hidden)
            hidden = (1 - self.alpha) * hidden + self.alpha * torch.relu(pre)
            steps.append(hidden)
        rates = torch.stack(steps)
        return rates, torch.sigmoid(self.fc(rates))


def baselines(seed: int = 0) -> tuple[TorchLoopRNN, torch.nn.RNN, CTRNNWeights]:
    """The torch loop, an nn.RNN and neurodis weights, all holding the same parameters."""
    generator = torch.Generator().manual_seed(seed)
    loop = TorchLoopRNN(alpha=1.0)
    with torch.no_grad():
        for parameter in loop.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) / np.sqrt(parameter.shape[-1]))
    rnn = torch.nn.RNN(N_INPUTS, N_UNITS, nonlinearity="relu", batch_first=True)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(loop.input2h.weight)
        rnn.bias_ih_l0.copy_(loop.input2h.bias)
        rnn.weight_hh_l0.copy_(loop.h2h.weight)
        rnn.bias_hh_l0.zero_()
    weights = CTRNNWeights(
        weight_ih=loop.input2h.weight.detach().numpy(), weight_hh=loop.h2h.weight.detach().numpy(),
        bias=loop.input2h.bias.detach().numpy(), readout_weight=loop.fc.weight.detach().numpy(),
        readout_bias=loop.fc.bias.detach().numpy(), tau=100.0, dt=100.0, activation="relu",
    )
    return loop, rnn, weights


def run_rnn(rnn: torch.nn.RNN, fc: torch.nn.Linear, x_bxtxi: torch.Tensor) -> tuple[torch.Tensor, ...]:
    rates, _ = rnn(x_bxtxi)
    return rates, torch.sigmoid(fc(rates))


# -- checks and timing -----------------------------------------------------------------------


# process CPU time when everything runs on one thread (robust to other people's load on a
# shared machine: waiting for a core is not counted), wall time otherwise; and the time
# spent repeating each fast call
TIMING: dict[str, Any] = {"clock": time.process_time, "budget_s": 0.5}


def best_ms(fn: Callable[[], Any], repeats: int) -> float:
    """Best time of at least ``repeats`` calls (more within ``TIMING["budget_s"]``), in ms.

    One warm-up call comes first; fast calls are repeated up to 500 times, since the
    minimum of many short runs is what survives a noisy machine.
    """
    clock, budget_s = TIMING["clock"], TIMING["budget_s"]
    fn()
    best, spent, count = float("inf"), 0.0, 0
    while count < repeats or (spent < budget_s and count < 500):
        start = clock()
        fn()
        elapsed = clock() - start
        best, spent, count = min(best, elapsed), spent + elapsed, count + 1
    return best * 1e3


def check_parity(loop: TorchLoopRNN, rnn: torch.nn.RNN, weights: CTRNNWeights,
                 x_bxtxi: np.ndarray) -> float:
    """Max |Δ| of rates and outputs between the three implementations (must be ≤ 1e-5)."""
    with torch.no_grad():
        x = torch.from_numpy(x_bxtxi)
        loop_rates, loop_outputs = (a.transpose(0, 1).numpy() for a in loop(x.transpose(0, 1)))
        rnn_rates, rnn_outputs = (a.numpy() for a in run_rnn(rnn, loop.fc, x))
    ours = simulate_arrays(weights, x_bxtxi)
    labelled = neurodis.simulate(weights, x_bxtxi)
    err = max(
        np.abs(ours.rates - loop_rates).max(), np.abs(ours.outputs - loop_outputs).max(),
        np.abs(ours.rates - rnn_rates).max(), np.abs(ours.outputs - rnn_outputs).max(),
        np.abs(labelled["rates"].values - ours.rates).max(),
    )
    if not err <= 1e-5:
        raise AssertionError(f"simulators disagree: max |Δ| = {err:.2e} > 1e-5")
    return float(err)


def roofline(repeats: int) -> dict[str, float]:
    """GFLOP/s of numpy float32 matmuls: the recurrence's shape at batch 4096, and 1024²."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4096, N_UNITS), dtype=np.float32)
    b = rng.standard_normal((N_UNITS, N_UNITS), dtype=np.float32)
    out = np.empty_like(a)
    small = 2 * 4096 * N_UNITS * N_UNITS / best_ms(lambda: np.matmul(a, b, out=out), repeats) / 1e6
    square = rng.standard_normal((1024, 1024), dtype=np.float32)
    big = 2 * 1024**3 / best_ms(lambda: square @ square, repeats) / 1e6
    return {"matmul_4096x64x64": small, "matmul_1024": big}


def time_case(loop: TorchLoopRNN, rnn: torch.nn.RNN, weights: CTRNNWeights, n_trials: int,
              n_steps: int, repeats: int, peak: float) -> dict[str, Any]:
    x_bxtxi = np.random.default_rng(n_trials).standard_normal((n_trials, n_steps, N_INPUTS), dtype=np.float32)
    err = check_parity(loop, rnn, weights, x_bxtxi[:, : min(n_steps, 200)])
    x = torch.from_numpy(x_bxtxi)
    x_time_major = x.transpose(0, 1).contiguous()
    with torch.no_grad():
        loop_ms = best_ms(lambda: loop(x_time_major), repeats)
        rnn_ms = best_ms(lambda: run_rnn(rnn, loop.fc, x), repeats)
    ours_ms = best_ms(lambda: simulate_arrays(weights, x_bxtxi), repeats)
    labelled_ms = best_ms(lambda: neurodis.simulate(weights, x_bxtxi), repeats)
    flops = 2 * n_trials * n_steps * N_UNITS * (N_INPUTS + N_UNITS + N_OUTPUTS)
    gflops = flops / ours_ms / 1e6
    return {"n_trials": n_trials, "n_steps": n_steps, "loop_ms": loop_ms, "rnn_ms": rnn_ms,
            "ours_ms": ours_ms, "labelled_ms": labelled_ms, "gflops": gflops,
            "roofline_fraction": gflops / peak, "err": err}


def main(quick: bool = False, threads: int = 1) -> list[dict[str, Any]]:
    """Run the benchmark, print a table and return one row per case and baseline."""
    torch.set_num_threads(threads)
    TIMING["clock"] = time.process_time if threads == 1 else time.perf_counter
    TIMING["budget_s"] = 0.1 if quick else 0.5
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    loop, rnn, weights = baselines()
    cases = [(1, N_STEPS), (16, N_STEPS), (256, N_STEPS), (4096, N_STEPS), (1, 10_000)]
    if quick:
        cases = [(1, N_STEPS), (16, N_STEPS), (256, N_STEPS), (1, 2_000)]
    rows: list[dict[str, Any]] = []
    with threadpool_limits(threads):
        peaks = roofline(3)
        results = [time_case(loop, rnn, weights, b, t, 3,
                             peaks["matmul_4096x64x64"]) for b, t in cases]
    print(f"threads={threads}; roofline (numpy float32 matmul): (4096,64)@(64,64) "
          f"{peaks['matmul_4096x64x64']:.1f} GFLOP/s, 1024² {peaks['matmul_1024']:.1f} GFLOP/s")
    header = (f"{'case':>16} {'torch loop':>11} {'nn.RNN':>9} {'neurodis':>9} {'labelled':>9} "
              f"{'×loop':>7} {'×RNN':>6} {'GFLOP/s':>8} {'roofline':>8} {'goal':>10}")
    print(header + "\n" + "-" * len(header))
    for res in results:
        key = "long" if res["n_steps"] > N_STEPS else res["n_trials"]
        goal = f"≥ {GOALS[key]:g}×" if key in GOALS else ""
        if res["n_trials"] == 4096:
            goal += f", ≥ {ROOFLINE_FRACTION_GOAL:.0%}"
        case = f"{res['n_trials']} × {res['n_steps']}"
        print(f"{case:>16} {res['loop_ms']:9.3f}ms {res['rnn_ms']:7.3f}ms {res['ours_ms']:7.3f}ms "
              f"{res['labelled_ms']:7.3f}ms {res['loop_ms'] / res['ours_ms']:6.1f}× "
              f"{res['rnn_ms'] / res['ours_ms']:5.1f}× {res['gflops']:8.2f} "
              f"{res['roofline_fraction']:8.0%} {goal:>10}")
        check = (f"max|Δ|={res['err']:.0e}; {res['gflops']:.1f} GFLOP/s = "
                 f"{res['roofline_fraction']:.0%} of roofline")
        for baseline, key_ms, row_goal in (("torch loop", "loop_ms", goal), ("nn.RNN", "rnn_ms", "")):
            rows.append({"benchmark": "simulate", "case": f"{case} vs {baseline}",
                         "baseline_ms": res[key_ms], "neurodis_ms": res["ours_ms"],
                         "ratio": res[key_ms] / res["ours_ms"], "goal": row_goal, "check": check})
        rows.append({"benchmark": "simulate", "case": f"{case} labelled vs torch loop",
                     "baseline_ms": res["loop_ms"], "neurodis_ms": res["labelled_ms"],
                     "ratio": res["loop_ms"] / res["labelled_ms"], "goal": "", "check": check})
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller cases, fewer repeats")
    parser.add_argument("--threads", type=int, default=1, help="threads for torch, numba and BLAS")
    arguments = parser.parse_args()
    main(quick=arguments.quick, threads=arguments.threads)
