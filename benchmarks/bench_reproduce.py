"""Wall time of the ``fig3`` preset's CTRNN sweep, estimated, against the authors' pipeline.

What the sweep runs: the 25 CTRNN runs of ``fig3`` (N ∈ {2, 3, 6, 12, 24} × 5 seeds,
1e5 batches each) form one ensemble group that is halved into 13 + 12 members, one
group per single-threaded worker (one per core). Each worker trains its ensemble with
``train_ensemble``, then measures each network (``measure_network``, 8000 trials).

neurodis, measured here and extrapolated to 1e5 batches:

* the two groups are built exactly as the sweep job builds them (tasks, encoders,
  networks, the job's record schedule of one history row per 500 batches); each is
  trained for a few hundred batches on one thread, alone (per-batch step and record
  time from per-batch timestamps, after a warm-up);
* the same two groups trained at the same time in two processes (the real two-core
  throughput, taken over the window in which both were training);
* ``measure_network`` on one freshly initialised N = 24 network (its cost does not
  depend on training).

Estimated wall = max over workers of (1e5 × step + 200 × record + n_members ×
measure). Not included: starting Dask, checkpoints (20 per run), saving models and
collecting the results.

The authors' pipeline, as research code does it (the baselines written in
``bench_train.py`` and ``bench_generalize.py``, reused): per network, 1e5 batches of a
per-step torch loop (trials built one by one, ``nn.Sequential`` encoder, Adam; the
N = 24 cost for every network, a slight overestimate for small N), plus decoder
fitting (4 folds × 5 fits × 1000 Adam batches that re-simulate the network on trials
built one by one, then 1000 test trials per fit), timed on a fraction and scaled.
Their scripts train one network per process, so the pipeline runs serially (best of 1
or 2 torch threads); the two-process variant (perfect scaling, generous to them) is
given too.

The whole ``fig3`` preset (all four arms: leaky and non-leaky CTRNNs, LSTMs,
transformers; 100 runs) is estimated the same way: its runs grouped and balanced over
two workers as ``reproduce`` groups them, each group's seconds per batch measured alone
on one thread, ``measure_network`` timed on one untrained N = 24 network of each
architecture, and the groups placed in the runner's order (most work first) on the
first free worker. The estimate assumes two processes run as fast as one alone (the
CTRNN rows show how far that holds).

Goals: the full fig3 CTRNN sweep in ≤ 15 minutes on 2 CPU cores; the whole fig3 preset
in ≤ 75 minutes. Checks before timing:
the baseline computes neurodis's loss and Adam step (``bench_train``); ensemble
members 0 and last match their solo runs after 3 batches.

Run: ``python benchmarks/bench_reproduce.py [--quick] [--whole]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import neurodis
from neurodis.analysis import make_folds
from neurodis.sweeps import group_configs
from neurodis.sweeps.config import RunConfig
from neurodis.sweeps.jobs import measure_network
from neurodis.sweeps.presets import ensemble_key, get_preset
from neurodis.sweeps.runner import balance_groups
from neurodis.training import TrainConfig, default_encoder, make_network, train, train_ensemble

FULL_BATCHES, N_WORKERS, GOAL_MIN, GOAL_ALL_MIN = 100_000, 2, 15.0, 75.0
#: the sweep job's schedule for 1e5 batches: a history row (with the ideal observer) every 500
LOG_EVERY = 500
N_FOLDS, N_FITS, DECODER_BATCHES, TEST_TRIALS = 4, 5, 1000, 1000


def sibling(name: str) -> ModuleType:
    """Another benchmark script of this folder, imported as a module (once)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# -- neurodis: the sweep's groups, built as its job builds them -------------------------------


def fig3_groups(networks: list[str] | None = None) -> list[list[dict[str, Any]]]:
    """The fig3 runs (default: the CTRNN arm) grouped and balanced over two workers, as ``reproduce`` does."""
    configs = get_preset("fig3").configs(select={"network": networks or ["ctrnn"]})
    return balance_groups(group_configs(configs, ensemble_key), N_WORKERS)


def makespan(seconds: list[float], n_workers: int = N_WORKERS) -> tuple[float, list[int]]:
    """Wall time of jobs taken in order, each by the first free worker; and each job's worker."""
    free, placed = [0.0] * n_workers, []
    for duration in seconds:
        worker = int(np.argmin(free))
        free[worker] += duration
        placed.append(worker)
    return max(free), placed


def measure_seconds(config: dict[str, Any]) -> float:
    """Wall seconds of ``measure_network`` on the untrained network of one run config."""
    probe = build_group([config], 1)
    start = time.perf_counter()
    measure_network(neurodis.TrainedNetwork(probe["models"][0], probe["tasks"][0], probe["encoders"][0]),
                    n_trials=config["eval_trials"], seed=config["seed"])
    return time.perf_counter() - start


def whole_fig3_rows(n_batches: int, warmup: int) -> list[dict[str, Any]]:
    """The whole fig3 preset (four arms) on two workers, estimated from per-group step times."""
    groups = fig3_groups(sorted({c["network"] for c in get_preset("fig3").configs()}))
    measure_s: dict[str, float] = {}
    lines, seconds = [], []
    for group in groups:
        network = group[0]["network"]
        step, record = step_and_record(stamped_training(build_group(group, n_batches)), warmup)
        if network not in measure_s:
            measure_s[network] = measure_seconds(max(group, key=lambda c: c["n_tasks"]))
        run = RunConfig.from_dict(group[0]).train_config()  # the sweep's own training length and record schedule
        full = run.n_batches
        total = full * step + (full // run.log_every) * record + len(group) * measure_s[network]
        seconds.append(total)
        lines.append(f"{network} ×{len(group)}: {step * 1e3:.1f} ms/batch × {full} + measure "
                     f"{measure_s[network]:.1f} s/network = {total / 60:.1f} min")
    wall, placed = makespan(seconds)
    workers = [sum(t for t, w in zip(seconds, placed) if w == k) / 60 for k in range(N_WORKERS)]
    detail = "; ".join(f"{line} (worker {w})" for line, w in zip(lines, placed))
    print(f"\nwhole fig3 preset on {N_WORKERS} workers ≈ {wall / 60:.1f} min "
          f"(workers {', '.join(f'{m:.1f}' for m in workers)} min); goal <= {GOAL_ALL_MIN:.0f} min "
          f"{'met' if wall <= GOAL_ALL_MIN * 60 else 'MISSED'}\n  " + "\n  ".join(lines))
    return [{"benchmark": "reproduce", "case": "whole fig3 preset (4 arms), 2 workers, estimated",
             "baseline_ms": None, "neurodis_ms": wall * 1e3, "ratio": None, "goal": f"<= {GOAL_ALL_MIN:.0f} min",
             "check": f"{'met' if wall <= GOAL_ALL_MIN * 60 else 'MISSED'} ({wall / 60:.1f} min); {detail}"}]


def build_group(configs: list[dict[str, Any]], n_batches: int) -> dict[str, Any]:
    """Tasks, networks, encoders and seeds of one group, with ``n_batches`` to train."""
    first = configs[0]
    config = TrainConfig(n_batches=n_batches, batch_size=first["batch_size"], lr=first["lr"], seed=first["seed"],
                         encoder=first["encoder"], log_every=LOG_EVERY, checkpoint_every=LOG_EVERY * 10)
    runs = [RunConfig.from_dict(c) for c in configs]
    tasks = [run.build_task() for run in runs]
    seeds = [run.seed for run in runs]
    encoders = [default_encoder(t, replace(config, seed=s)) for t, s in zip(tasks, seeds)]
    models = [run.build_network(t, e) for run, t, e in zip(runs, tasks, encoders)]
    return {"tasks": tasks, "models": models, "config": config, "seeds": seeds, "encoders": encoders}


def stamped_training(group: dict[str, Any]) -> np.ndarray:
    """Train a built group; wall-clock time after each batch (entry 0: the call)."""
    stamps = np.zeros(group["config"].n_batches + 1)

    def callback(batch: int, losses: np.ndarray) -> None:
        stamps[batch] = time.time()

    stamps[0] = time.time()
    train_ensemble(group["tasks"], group["models"], group["config"], seeds=group["seeds"],
                   encoders=group["encoders"], progress=False, callback=callback)
    return stamps


def step_and_record(stamps: np.ndarray, warmup: int) -> tuple[float, float]:
    """Seconds per batch after the warm-up, and the extra seconds of the final history row."""
    last = len(stamps) - 2  # the final batch also records the history row
    step = (stamps[last] - stamps[warmup]) / (last - warmup)
    return step, max(0.0, stamps[-1] - stamps[last] - step)


def _worker(configs: list[dict[str, Any]], n_batches: int, index: int, barrier: Any, queue: Any) -> None:
    """One sweep worker: one thread, its group built, then trained once both are ready."""
    torch.set_num_threads(1)
    with threadpool_limits(1):
        group = build_group(configs, n_batches)
        barrier.wait()
        queue.put((index, stamped_training(group).tolist()))


def two_process_steps(groups: list[list[dict[str, Any]]], n_batches: int, warmup: int) -> list[float]:
    """Seconds per batch of each group while both train at the same time in two processes."""
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(len(groups)), context.Queue()
    workers = [context.Process(target=_worker, args=(g, n_batches, k, barrier, queue)) for k, g in enumerate(groups)]
    for worker in workers:
        worker.start()
    stamps = dict(queue.get() for _ in workers)
    for worker in workers:
        worker.join()
    runs = [np.array(stamps[k])[warmup:-1] for k in range(len(groups))]
    start, end = max(r[0] for r in runs), min(r[-1] for r in runs)
    steps = []
    for run in runs:
        inside = run[(run >= start) & (run <= end)]
        if len(inside) < 10:
            raise RuntimeError(f"the two processes overlapped for only {len(inside)} batches; raise n_batches")
        steps.append((inside[-1] - inside[0]) / (len(inside) - 1))
    return steps


def check_ensemble(configs: list[dict[str, Any]]) -> str:
    """Members 0 and last of a group after 3 batches against their solo runs."""
    group = build_group(configs, 3)
    members = train_ensemble(group["tasks"], group["models"], group["config"], seeds=group["seeds"],
                             encoders=group["encoders"], progress=False)
    members = [member.model for member in members]
    gaps = []
    for k in (0, len(configs) - 1):
        solo = train(group["tasks"][k], group["models"][k], replace(group["config"], seed=group["seeds"][k]),
                     encoder=group["encoders"][k], progress=False).model
        gaps.append(max((getattr(members[k], name) - getattr(solo, name)).abs().max().item()
                        for name in ("weight_ih", "weight_hh", "bias")))
    if max(gaps) > 1e-5:
        raise AssertionError(f"ensemble members differ from their solo runs after 3 batches: max |Δw| {gaps}")
    return f"members 0 and {len(configs) - 1} vs solo after 3 batches: max |Δw| {max(gaps):.1e}"


# -- the authors' pipeline -----------------------------------------------------------------


def best_seconds(run: Any, n: int, threads: int, repeats: int) -> float:
    """Best wall seconds per call of ``run`` (which does ``n`` units of work), per unit."""
    best = float("inf")
    with threadpool_limits(threads):
        torch.set_num_threads(threads)
        run()  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            best = min(best, (time.perf_counter() - start) / n)
    torch.set_num_threads(1)
    return best


def authors_decoder_seconds(n_batches: int) -> tuple[float, float]:
    """Seconds per Adam decoder batch and per fit's test set, on a fresh N = 24 network."""
    generalize = sibling("bench_generalize")
    task = neurodis.make_task("classification", n_tasks=24)
    encoder = neurodis.Encoder(n_dims=2, seed=0)
    model = make_network(task, "ctrnn", encoder=encoder, n_units=64, seed=0).eval()
    fold, rng = make_folds("quadrant", 2)[0], np.random.default_rng(1)
    start = time.perf_counter()
    generalize.authors_fold(model, encoder, fold, rng, n_batches, 1, 1)
    per_batch = (time.perf_counter() - start) / n_batches
    start = time.perf_counter()
    generalize.authors_fold(model, encoder, fold, rng, 0, 1, TEST_TRIALS)
    return per_batch, time.perf_counter() - start


# -- main -----------------------------------------------------------------------------------


def main(quick: bool = False, whole_only: bool = False) -> list[dict[str, Any]]:
    """Measure both sides, estimate the fig3 CTRNN sweep and the whole preset; print; return the rows."""
    n_batches, warmup, n_base, repeats, n_decoder = (100, 10, 10, 1, 10) if quick else (450, 50, 50, 3, 100)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with threadpool_limits(1):
            rows = [] if whole_only else _measure(n_batches, warmup, n_base, repeats, n_decoder)
            return rows + whole_fig3_rows(max(30, n_batches // 3), max(5, warmup // 3))
    finally:
        torch.set_num_threads(threads)


def _measure(n_batches: int, warmup: int, n_base: int, repeats: int, n_decoder: int) -> list[dict[str, Any]]:
    bench_train = sibling("bench_train")
    groups = fig3_groups()
    sizes = [len(g) for g in groups]
    task24 = neurodis.make_task("classification", n_tasks=24)
    checks = [bench_train.check_agreement(task24, TrainConfig(n_batches=1, log_every=100, checkpoint_every=100)),
              check_ensemble(groups[0])]

    alone = [step_and_record(stamped_training(build_group(g, n_batches)), warmup) for g in groups]
    together = two_process_steps(groups, n_batches, warmup)
    measure_s = measure_seconds(groups[-1][-1])  # an N = 24 run of the sweep, untrained

    base_encoder = neurodis.Encoder(n_dims=2, seed=0)
    base_s = {t: best_seconds(bench_train.baseline_runner(task24, base_encoder, n_base), n_base, t, repeats)
              for t in (1, 2)}
    decoder_batch_s, decoder_test_s = authors_decoder_seconds(n_decoder)
    decoder_s = N_FOLDS * N_FITS * (DECODER_BATCHES * decoder_batch_s + decoder_test_s)

    records = FULL_BATCHES // LOG_EVERY
    n_networks = sum(sizes)

    def wall(steps: list[float]) -> float:
        return max(FULL_BATCHES * s + records * r + n * measure_s for s, (_, r), n in zip(steps, alone, sizes))

    ours_scaled, ours_two = wall([s for s, _ in alone]), wall(together)
    authors_serial = n_networks * (FULL_BATCHES * min(base_s.values()) + decoder_s)
    authors_two = n_networks * (FULL_BATCHES * base_s[1] + decoder_s) / N_WORKERS
    # one batch of every group advances each of the 25 networks by one batch
    per_network_batch = sum(s for s, _ in alone) / n_networks
    assumptions = (f"groups {sizes}; measure_network {measure_s:.1f} s/network; authors' decoders "
                   f"{decoder_s / 60:.1f} min/network ({decoder_batch_s * 1e3:.0f} ms/batch, "
                   f"test {decoder_test_s:.1f} s)")
    goal = f"<= {GOAL_MIN:.0f} min"

    def verdict(seconds: float) -> str:
        return f"{'met' if seconds <= GOAL_MIN * 60 else 'MISSED'} ({seconds / 60:.1f} min)"

    rows = [
        {"benchmark": "reproduce", "case": "fig3 CTRNN training, per network-batch, 1 thread",
         "baseline_ms": min(base_s.values()) * 1e3, "neurodis_ms": per_network_batch * 1e3,
         "ratio": min(base_s.values()) / per_network_batch, "goal": None,
         "check": f"{checks[0]}; {checks[1]}; baseline {base_s[1] * 1e3:.1f} ms (1 thread), "
                  f"{base_s[2] * 1e3:.1f} ms (2 threads)"},
        {"benchmark": "reproduce", "case": "fig3 CTRNN sweep, 2 workers (perfect scaling) vs authors serial",
         "baseline_ms": authors_serial * 1e3, "neurodis_ms": ours_scaled * 1e3, "ratio": authors_serial / ours_scaled,
         "goal": goal, "check": f"{verdict(ours_scaled)}; {assumptions}"},
        {"benchmark": "reproduce", "case": "fig3 CTRNN sweep, 2 processes measured vs authors serial",
         "baseline_ms": authors_serial * 1e3, "neurodis_ms": ours_two * 1e3, "ratio": authors_serial / ours_two,
         "goal": goal, "check": f"{verdict(ours_two)}; steps together "
                                f"{', '.join(f'{s * 1e3:.2f}' for s in together)} ms vs alone "
                                f"{', '.join(f'{s * 1e3:.2f}' for s, _ in alone)} ms per ensemble batch"},
        {"benchmark": "reproduce", "case": "fig3 CTRNN sweep, 2 processes measured vs authors 2 processes",
         "baseline_ms": authors_two * 1e3, "neurodis_ms": ours_two * 1e3, "ratio": authors_two / ours_two,
         "goal": goal, "check": f"{verdict(ours_two)}; authors' 2 processes: perfect scaling of the 1-thread baseline"},
    ]
    _print(rows, {"perfect 2-core scaling": ours_scaled, "2 processes measured": ours_two}, authors_serial)
    return rows


def _duration(ms: float) -> str:
    return f"{ms:.2f} ms" if ms < 1e4 else f"{ms / 6e4:.1f} min"


def _print(rows: list[dict[str, Any]], estimates: dict[str, float], authors_s: float) -> None:
    print(f"{'case':<64} {'baseline':>10} {'neurodis':>10} {'ratio':>7} {'goal':>10}  check")
    for row in rows:
        print(f"{row['case']:<64} {_duration(row['baseline_ms']):>10} {_duration(row['neurodis_ms']):>10} "
              f"{row['ratio']:>6.1f}x {row['goal'] or '-':>10}  {row['check']}")
    print(f"\nfig3 CTRNN sweep (25 networks x 1e5 batches + generalization) on 2 cores; authors' pipeline "
          f"≈ {authors_s / 60:.0f} min = {authors_s / 3600:.1f} h serial")
    for name, seconds in estimates.items():
        print(f"  neurodis ({name}) ≈ {seconds / 60:.1f} min: ratio {authors_s / seconds:.1f}x; "
              f"goal <= {GOAL_MIN:.0f} min {'met' if seconds <= GOAL_MIN * 60 else 'MISSED'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches")
    parser.add_argument("--whole", action="store_true", help="only the whole fig3 preset's estimate")
    args = parser.parse_args()
    main(quick=args.quick, whole_only=args.whole)
