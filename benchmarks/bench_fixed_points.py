"""Fixed-point finding: neurodis against the authors' procedure on the same trained networks.

The baseline, written here, is the authors' procedure: the trained network as it is
(float32), the 128 starting states as one batch of free parameters, ``torch.optim.Adam``
(lr 0.01) on ``Σ q`` with ``q = ½‖F(h) − h‖²`` for 10,000 iterations, then the
Jacobian of every point row by row with autograd (one backward pass per unit and point)
and its eigenvalues. neurodis runs ``neurodis.experiments.find_fixed_points`` from the same
starting states: batched Levenberg–Marquardt in float64 with the analytic Jacobian
(kink-aware for ReLU networks), Newton refinement, ``--hops`` rounds of basin hopping
(default 2; a row without hops is printed too), then Jacobians, eigenvalues,
eigenvectors and the labelled Dataset — everything the call returns is in its time.

Both start from the same states: noise-free visited states of the network on its own
task (200 trials) drawn at random, plus Gaussian jitter (sd 0.1 × the sd of the visited
states). The residual of every final point is evaluated the same way for both, in
float64, and a point is "exact" for both by neurodis's rule ‖F(h) − h‖ ≤ 1e-10 ·
max(1, ‖h‖). Reported per network: CPU time, the quartiles of q over the starting
points, the number of exact points, whether every neurodis point is labelled "exact" or
"slow", and the largest residual of neurodis's exact points in units of float64
round-off, ‖F(h) − h‖∞ / (eps · max(1, ‖h‖∞)).

Checks before timing is trusted: the baseline's row-by-row autograd Jacobians agree with
the analytic Jacobian of neurodis's one-step map at the baseline's points (float32
tolerance), and neurodis's exact points satisfy F(h) = h to a few ulps, recomputed from
the model.

Goal (per network): neurodis takes at most the authors' time, reaches a median q at
least 10× smaller, labels every point exact or slow, and its exact points sit at
round-off.

Networks: run folders of CTRNNs trained on the classification task with N = 2 and
N = 24 (``python benchmarks/bench_fixed_points.py RUN_N2 RUN_N24``; any number of run
folders is accepted). Without folders, two 64-unit CTRNNs (paper configuration) are
trained here as one ensemble for ``--batches`` batches (default 3000; ``--quick``: 300
batches, 32 starting states and 2000 Adam iterations — a smoke run, not the comparison).
Timings are the least process CPU time of 2 runs on one thread (on a shared machine
wall time mostly measures other people's load).

Run: ``python benchmarks/bench_fixed_points.py [RUN_DIR ...] [--quick] [--hops H] [--batches B]``.
"""

from __future__ import annotations

import argparse
import copy
import time
from typing import Any

import numpy as np
import torch

import neurodis
from neurodis.experiments import find_fixed_points, zero_evidence_input

N_STARTS, ADAM_ITERATIONS, ADAM_LR = 128, 10_000, 0.01
EXACT_RTOL = 1e-10
GOAL_Q_RATIO = 10.0


# -- the baseline ----------------------------------------------------------------------------


def authors_procedure(model: torch.nn.Module, u_i: np.ndarray, h0_pxn: np.ndarray, n_iterations: int,
                      lr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adam on Σq from every start, then row-by-row autograd Jacobians and their eigenvalues."""
    net = copy.deepcopy(model)
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    u = torch.tensor(u_i, dtype=torch.float32)
    h = torch.tensor(h0_pxn, dtype=torch.float32, requires_grad=True)
    optimizer = torch.optim.Adam([h], lr=lr)
    for _ in range(n_iterations):
        optimizer.zero_grad()
        q = 0.5 * ((net.step(h, u) - h) ** 2).sum(-1)
        q.sum().backward()
        optimizer.step()
    points = h.detach()
    n = points.shape[1]
    jacobians = np.empty((len(points), n, n))
    for p, point in enumerate(points):
        x = point.clone().requires_grad_(True)
        f = net.step(x, u)
        for i in range(n):
            jacobians[p, i] = torch.autograd.grad(f[i], x, retain_graph=True)[0].numpy()
    return points.double().numpy(), jacobians, np.linalg.eigvals(jacobians)


# -- shared measurements ---------------------------------------------------------------------


def residuals(model64: torch.nn.Module, u_i: np.ndarray, h_pxn: np.ndarray) -> np.ndarray:
    """F(h) − h in float64."""
    with torch.no_grad():
        h = torch.from_numpy(np.ascontiguousarray(h_pxn, dtype=np.float64))
        return (model64.step(h, torch.from_numpy(u_i)) - h).numpy()


def per_start(ds: Any, name: str) -> np.ndarray:
    """A per-point variable repeated by cluster size: one value per starting point."""
    return np.repeat(ds[name].values, ds["cluster_size"].values)


def starting_states(model: torch.nn.Module, task: Any, encoder: Any, n_starts: int, seed: int) -> np.ndarray:
    trials = task.sample(200, rng=seed, encoder=encoder)
    rates = neurodis.simulate(model, trials, noise=False, dtype=np.float64)["rates"].values
    visited = rates.reshape(-1, rates.shape[-1])
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(visited), size=n_starts, replace=False)
    return visited[picks] + 0.1 * visited.std() * rng.standard_normal((n_starts, visited.shape[1]))


def networks(runs: list[str], batches: int) -> list[tuple[str, Any, Any, Any]]:
    """(label, model, task, encoder) for every run folder, or two freshly trained CTRNNs."""
    if runs:
        loaded = [neurodis.TrainedNetwork.load(path) for path in runs]
        return [(f"N={r.task.config().get('n_tasks', '?')} ({path})", r.model, r.task, r.encoder)
                for r, path in zip(loaded, runs)]
    tasks = [neurodis.make_task("classification", n_tasks=n) for n in (2, 24)]
    models = [neurodis.CTRNN(41, n, n_units=64, seed=k) for k, n in enumerate((2, 24))]
    config = neurodis.TrainConfig(n_batches=batches, batch_size=16, lr=1e-3, log_every=100,
                                  checkpoint_every=100 * max(1, batches // 100), seed=0)
    print(f"training N=2 and N=24 CTRNNs for {batches} batches ...", flush=True)
    result = neurodis.train_ensemble(tasks, models, config, progress=False)
    return [(f"N={n} (trained here, {batches} batches)", m, t, e)
            for n, m, t, e in [(n, r.model, r.task, r.encoder) for n, r in zip((2, 24), result)]]


def best_of(repeats: int, fn: Any) -> tuple[float, Any]:
    """Least process CPU time of ``repeats`` calls, and the last result."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def compare(label: str, model: Any, task: Any, encoder: Any, *, n_starts: int, n_iterations: int,
            hops: int, repeats: int) -> list[dict[str, Any]]:
    """Time both procedures from the same starts and measure what they reached."""
    u_i = zero_evidence_input(task, encoder).values
    h0 = starting_states(model, task, encoder, n_starts, seed=0)
    model64 = copy.deepcopy(model).double()
    # warm-up: imports and first-call costs are not part of either procedure
    authors_procedure(model, u_i, h0[:2], 2, ADAM_LR)
    find_fixed_points(model, u_i, initial_states=h0[:2], max_iter=2)

    base_s, (base_h, base_j, _) = best_of(
        repeats, lambda: authors_procedure(model, u_i, h0, n_iterations, ADAM_LR))
    timed = {n_hops: best_of(repeats, lambda n_hops=n_hops: find_fixed_points(
        model, u_i, initial_states=h0, dedup_tol=0.0, hops=n_hops, rng=0)) for n_hops in sorted({0, hops})}

    # checks: Jacobians agree; exact points are fixed to round-off
    analytic = model64.jacobian(torch.from_numpy(base_h), torch.from_numpy(u_i)).detach().numpy()
    jac_err = float(np.max(np.abs(analytic - base_j)))
    base_r = residuals(model64, u_i, base_h)
    base_q = 0.5 * np.sum(base_r**2, axis=1)
    base_exact = np.linalg.norm(base_r, axis=1) <= EXACT_RTOL * np.maximum(1.0, np.linalg.norm(base_h, axis=1))
    rows = []
    for n_hops, (seconds, ds) in timed.items():
        exact = ds["kind"].values == "exact"
        points = ds["states"].values[exact]
        r = residuals(model64, u_i, points)
        ulps = (np.abs(r).max(axis=1) / (np.finfo(float).eps * np.maximum(1.0, np.abs(points).max(axis=1)))
                if exact.any() else np.zeros(1))
        q = per_start(ds, "q")
        rows.append({
            "label": label, "hops": n_hops, "base_s": base_s, "ours_s": seconds,
            "base_q": np.quantile(base_q, [0.25, 0.5, 0.75]), "ours_q": np.quantile(q, [0.25, 0.5, 0.75]),
            "base_exact": int(base_exact.sum()), "ours_exact": int(per_start(ds, "kind").tolist().count("exact")),
            "labelled": bool(np.isin(ds["kind"].values, ["exact", "slow"]).all()),
            "ulps": float(ulps.max()), "jac_err": jac_err, "n": len(h0),
        })
    return rows


def main(quick: bool = False, runs: list[str] | None = None, hops: int = 2,
         batches: int | None = None) -> list[dict[str, Any]]:
    """Run the benchmark, print a table and return one row per network and neurodis variant."""
    torch.set_num_threads(1)
    n_starts, n_iterations, repeats = (32, 2000, 1) if quick else (N_STARTS, ADAM_ITERATIONS, 2)
    batches = batches or (300 if quick else 3000)
    results = []
    for label, model, task, encoder in networks(list(runs or []), batches):
        results += compare(label, model, task, encoder, n_starts=n_starts, n_iterations=n_iterations, hops=hops,
                           repeats=repeats)
    print(f"\n{n_starts} starts; authors: Adam lr {ADAM_LR} × {n_iterations} (float32) + row-by-row Jacobians; "
          f"CPU s on one thread, best of {repeats}; q quartiles over the starts (float64)")
    header = (f"{'network':<44} {'hops':>4} {'authors s':>9} {'neurodis s':>10} {'×time':>6} "
              f"{'authors q 25/50/75%':>29} {'neurodis q 25/50/75%':>29} {'×median q':>10} "
              f"{'exact a/n':>9} {'ulps':>6} {'goal':>5}")
    print(header + "\n" + "-" * len(header))
    rows = []
    for res in results:
        time_ratio = res["base_s"] / res["ours_s"]
        q_ratio = res["base_q"][1] / max(res["ours_q"][1], 1e-300)
        met = time_ratio >= 1.0 and q_ratio >= GOAL_Q_RATIO and res["labelled"] and res["ulps"] <= 64
        quartiles = [" ".join(f"{v:9.2e}" for v in res[key]) for key in ("base_q", "ours_q")]
        print(f"{res['label'][:44]:<44} {res['hops']:>4} {res['base_s']:9.2f} {res['ours_s']:10.2f} "
              f"{time_ratio:5.1f}× {quartiles[0]:>29} {quartiles[1]:>29} {q_ratio:9.3g}× "
              f"{res['base_exact']:>4}/{res['ours_exact']:<4} {res['ulps']:6.1f} {'yes' if met else 'no':>5}")
        rows.append({
            "benchmark": "fixed_points", "case": f"{res['label']}, hops={res['hops']}",
            "baseline_ms": 1e3 * res["base_s"], "neurodis_ms": 1e3 * res["ours_s"], "ratio": time_ratio,
            "goal": f"time ratio ≥ 1, median q ≥ {GOAL_Q_RATIO:g}× smaller, all labelled, exact at round-off",
            "check": (f"median q {res['base_q'][1]:.2e} → {res['ours_q'][1]:.2e} ({q_ratio:.3g}×); exact "
                      f"{res['base_exact']}/{res['n']} → {res['ours_exact']}/{res['n']}; all labelled "
                      f"{res['labelled']}; exact residual ≤ {res['ulps']:.1f} ulp; Jacobians agree to "
                      f"{res['jac_err']:.1e}; goal met: {met}"),
            "median_q_baseline": float(res["base_q"][1]), "median_q_neurodis": float(res["ours_q"][1]),
            "q_ratio": q_ratio, "goal_met": met,
        })
        if res["jac_err"] > 1e-4:
            raise AssertionError(f"Jacobians disagree by {res['jac_err']:.2e} on {res['label']}")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", help="run folders of trained CTRNNs (default: train two here)")
    parser.add_argument("--quick", action="store_true", help="small smoke run (trains briefly, fewer starts)")
    parser.add_argument("--hops", type=int, default=2, help="basin-hopping rounds for neurodis (default 2)")
    parser.add_argument("--batches", type=int, default=None, help="training batches when no runs are given")
    arguments = parser.parse_args()
    main(quick=arguments.quick, runs=arguments.runs, hops=arguments.hops, batches=arguments.batches)
