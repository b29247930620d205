"""Adam late in training: neurodis's step with subnormals flushed against torch's ``Adam.step``.

A weight whose gradient stays zero (into or out of a ReLU unit that has stopped firing)
has Adam moments that decay geometrically into the subnormal range and stick there:
0.9 × 4·2⁻¹⁴⁹ rounds back to 4·2⁻¹⁴⁹. In the checkpoints of the fig3 preset's two
25-member CTRNN ensembles after 1e5 batches, 46–79 % of the first moments of the input,
recurrent and bias weights were subnormal (median exactly 4·2⁻¹⁴⁹), and so were 18–53 %
of the second moments; x86 arithmetic on subnormals is many times slower than on normal
numbers. ``neurodis.training._engine.adam_step``, which the trainer calls, runs the step
with subnormals flushed to zero.

The state here is built with the same shapes (25 members: input 64 × 41, recurrent
64 × 64, bias 64, readout 24 × 64 and 24, float32) and the same fractions of stuck
moments as the leaky ensemble's checkpoint: those entries get a zero gradient, a first
moment of 4·2⁻¹⁴⁹ and (in the second-moment fraction) a second moment of 400·2⁻¹⁴⁹, the
others normal random moments and gradients. Baseline: ``torch.optim.Adam.step`` (the
single-tensor kernel the trainer uses) on one copy; neurodis: ``adam_step`` on another;
both step the same gradients many times, round-robin, one thread. Check: the weights
of the two copies are equal bit for bit after all the timed steps (a flushed moment stood
for an update far below the weights' rounding).

``adam_step``'s update itself is ``neurodis.training._adam.step_adam``: torch's
single-tensor arithmetic bit for bit, in three passes over memory instead of seven. The
pair on fresh moments (none subnormal) measures that alone, for the CTRNN ensemble and
for the fig3 LSTM ensemble's shapes (25 members: input 256 × 41, recurrent 256 × 64,
bias 256, readout 24 × 64 and 24), with the same bitwise check.

Goal: neurodis's step is no slower (≥ 1×) in every row. On the fig3 ensembles
themselves, resumed from their checkpoints for 400 batches (the whole training step, not
only Adam), the flush took a network-batch from 0.64–0.69 ms to 0.53–0.58 ms.

Run: ``python benchmarks/bench_adam.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _table import print_ratios
from threadpoolctl import threadpool_limits

from neurodis.training._engine import adam_step

N_MEMBERS = 25
#: name: (shape, fraction of first moments stuck subnormal, fraction of second moments too),
#: as in the fig3 leaky CTRNN ensemble's checkpoint after 1e5 batches
LATE_STATE = {
    "weight_ih": ((N_MEMBERS, 64, 41), 0.465, 0.199),
    "weight_hh": ((N_MEMBERS, 64, 64), 0.691, 0.444),
    "bias": ((N_MEMBERS, 64), 0.463, 0.176),
    "readout_weight": ((N_MEMBERS, 24, 64), 0.173, 0.085),
    "readout_bias": ((N_MEMBERS, 24), 0.0, 0.0),
}
#: the fig3 LSTM ensemble's parameter shapes (no subnormal moments measured there)
LSTM_STATE = {name: (shape, 0.0, 0.0) for name, shape in (
    ("weight_ih", (N_MEMBERS, 256, 41)), ("weight_hh", (N_MEMBERS, 256, 64)), ("bias", (N_MEMBERS, 256)),
    ("readout_weight", (N_MEMBERS, 24, 64)), ("readout_bias", (N_MEMBERS, 24)))}
UNIT = 2.0**-149  # the smallest positive float32


def optimizer_state(late: bool, state: dict = LATE_STATE, seed: int = 0) -> tuple[list[torch.nn.Parameter],
                                                                                  torch.optim.Adam]:
    """Parameters with fixed gradients and an Adam whose moments are those of ``state`` (or all normal)."""
    rng = np.random.default_rng(seed)
    params = []
    for shape, _, _ in state.values():
        param = torch.nn.Parameter(torch.from_numpy(rng.normal(0.0, 0.3, shape).astype(np.float32)))
        param.grad = torch.from_numpy(rng.normal(0.0, 1e-3, shape).astype(np.float32))
        params.append(param)
    optimizer = torch.optim.Adam(params, lr=1e-3, foreach=False, fused=None)
    optimizer.step()  # creates the moments
    if late:
        for param, (shape, stuck_m, stuck_v) in zip(params, state.values()):
            draw = torch.from_numpy(rng.random(shape))
            silent, silent_v = draw < stuck_m, draw < stuck_v  # the second-moment fraction lies inside the first
            param.grad[silent] = 0.0
            optimizer.state[param]["exp_avg"][silent] = 4 * UNIT
            optimizer.state[param]["exp_avg_sq"][silent_v] = 400 * UNIT
    return params, optimizer


def timed_pairs(late: bool, n_steps: int, repeats: int, state: dict = LATE_STATE) -> tuple[float, float, str]:
    """Median ms per step of torch's step and of ``adam_step``, round-robin; the bitwise check."""
    plain_params, plain = optimizer_state(late, state)
    flushed_params, flushed = optimizer_state(late, state)
    times: dict[str, list[float]] = {"plain": [], "flushed": []}
    for _ in range(repeats):
        for name, step, optimizer in (("plain", torch.optim.Adam.step, plain), ("flushed", adam_step, flushed)):
            start = time.perf_counter()
            for _ in range(n_steps):
                step(optimizer)
            times[name].append((time.perf_counter() - start) / n_steps * 1e3)
    same = all(torch.equal(a, b) for a, b in zip(plain_params, flushed_params))
    stuck = sum(int(((s["exp_avg"] != 0) & (s["exp_avg"].abs() < 1e-38)).sum()) for s in plain.state.values())
    check = (f"weights after {n_steps * repeats + 1} steps {'identical' if same else 'DIFFER'}; "
             f"torch's state keeps {stuck} subnormal first moments")
    return float(np.median(times["plain"])), float(np.median(times["flushed"])), check


def main(quick: bool = False) -> list[dict[str, float | str]]:
    n_steps, repeats = (20, 3) if quick else (100, 9)
    cases = [("25-CTRNN ensemble late in fig3 training", True, LATE_STATE),
             ("25-CTRNN ensemble, fresh moments", False, LATE_STATE),
             ("25-LSTM ensemble (fig3 shapes), fresh moments", False, LSTM_STATE)]
    rows = []
    with threadpool_limits(1):
        torch.set_num_threads(1)
        for case, late, state in cases:
            plain, ours, check = timed_pairs(late, n_steps, repeats, state)
            rows.append({"benchmark": "adam", "case": f"Adam step, {case}", "baseline_ms": plain,
                         "neurodis_ms": ours, "ratio": plain / ours, "goal": 1.0, "check": check})
    print_ratios(rows, baseline="torch ms")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    main(quick=parser.parse_args().quick)
