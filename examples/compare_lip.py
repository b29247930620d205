"""Compare a network trained on the pulse task with macaque LIP (Yates et al. 2017).

1. Train a CTRNN to report the sign of the summed strength of 7 motion pulses, on the
   very pulse sequences shown in the LIP recordings (a bank of the distinct recorded
   sequences, strengths -19..19 scaled by 1/19), with per-step stimulus noise chosen so
   that an ideal integrator would be about as accurate as the monkeys, and a 500 ms
   delay after the pulses (the window in which the LIP spikes were counted).
2. Compare its psychophysical kernel (logistic choice weight of each pulse) with the
   monkeys' (``monkey_behavior.csv``), the network's choices being its noisy responses
   to the monkeys' own pulse sequences.
3. Replay every LIP session's trials through the network, in the recorded order, and
   predict each neuron's spike count from the network's mean rates in the 500 ms after
   the pulses (cross-validated ridge), against a trial-shuffle null and untrained
   networks of the same size.

Usage::

    python examples/compare_lip.py --out results/lip          # full run (minutes)
    python examples/compare_lip.py --fast                     # a quick check
    NEURODIS_EXAMPLE_FAST=1 python examples/compare_lip.py    # the same, for CI

The run folder (``OUT/run``) is reused when it exists. The LIP data (GPL-3.0) are read
from the data folder (``$NEURODIS_DATA`` or ``../shared/data``); without it the script
says so and exits.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

FULL = {"n_units": 64, "n_batches": 5000, "batch_size": 32, "sessions": None, "n_shuffles": 100,
        "n_untrained": 20, "behavior_trials": None}
FAST = {"n_units": 16, "n_batches": 200, "batch_size": 16, "sessions": [0, 37], "n_shuffles": 5,
        "n_untrained": 2, "behavior_trials": 5000}
#: per-step stimulus noise: an ideal integrator of the recorded sequences is then right on
#: 83 % of the trials with a nonzero sum (the monkeys: 82 %)
SIGMA = 0.8


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="compare_lip_results", help="output folder (default ./compare_lip_results)")
    parser.add_argument("--fast", action="store_true", help="a small network, few batches, two sessions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: fastest for networks this small)")
    return parser.parse_args(argv)


def train_network(settings: dict, out: Path, seed: int, bank: np.ndarray, fast: bool):
    from neurodis.tasks.pulses import PulsesTask
    from neurodis.training import TrainConfig, make_network, train

    task = PulsesTask(gain=1 / 19, sigma=SIGMA, delay=500.0, pulse_sequences=bank)
    config = TrainConfig(n_batches=settings["n_batches"], batch_size=settings["batch_size"], seed=seed,
                         log_every=50, checkpoint_every=settings["n_batches"], encoder="none")
    model = make_network(task, n_units=settings["n_units"], seed=seed)
    result = train(task, model, config, out=out / "run", resume=True, progress=not fast)
    last = result.history.isel(batch=-1)
    print(f"trained {settings['n_units']}-unit CTRNN for {settings['n_batches']} batches: loss "
          f"{float(last['loss']):.3f}, accuracy {float(last['accuracy']):.3f} -> {out / 'run'}")
    return result


def kernels(result, behavior, rng: int):
    from neurodis.analysis import compare_kernels, monkey_kernel
    from neurodis.experiments import network_kernel

    table = compare_kernels({
        "monkeys": monkey_kernel(behavior),
        "monkey N": monkey_kernel(behavior, subject="N"),
        "monkey P": monkey_kernel(behavior, subject="P"),
        "network": network_kernel(result, behavior["pulses"], rng=rng),
    })
    print("\npsychophysical kernels (log-odds per unit pulse strength, ± SE)")
    print(f"{'':>10} " + " ".join(f"{'pulse ' + str(p):>13}" for p in table.pulse.values) + "  rel. slope")
    for source in table.source.values:
        row = table.sel(source=source)
        cells = " ".join(f"{w:6.3f}±{s:.3f}" for w, s in zip(row.weights.values, row.se.values))
        print(f"{source:>10} {cells}  {float(row.relative_slope):+.3f}")
    return table


def predictivity(result, settings: dict, rng: int):
    from threadpoolctl import threadpool_limits

    from neurodis.experiments import compare_with_recording

    print("\nLIP spike counts predicted from the network's rates on the same trials (cross-validated ridge)")
    # one BLAS thread: these small ridge fits are many times slower with threads on a busy machine
    with threadpool_limits(limits=1):
        comparison = compare_with_recording(
            result, sessions=settings["sessions"], n_shuffles=settings["n_shuffles"],
            n_untrained=settings["n_untrained"], rng=rng, progress=True)
    s = comparison.summary
    print(f"median R² over {s.attrs['n_sessions']} sessions: {s.attrs['median_score']:.4f} "
          f"(shuffle null median {s.attrs['median_shuffle']:.4f}, untrained networks' median "
          f"{s.attrs['median_untrained']:.4f}); median over neurons {s.attrs['median_unit_r2']:.4f}")
    print(f"sessions beating the shuffle null at p < {s.attrs['alpha']}: {s.attrs['n_beat_shuffle']}; "
          f"beating the untrained networks: {s.attrs['n_beat_untrained']}")
    return comparison


def figures(table, comparison, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurodis.plotting import plot_kernels, plot_null

    folder.mkdir(parents=True, exist_ok=True)
    plot_kernels(table["weights"]).savefig(folder / "kernels.png", dpi=120)
    plot_kernels(table["normalized"].assign_attrs(long_name="weight / mean weight")).savefig(
        folder / "kernels_normalized.png", dpi=120)
    s = comparison.summary
    best = int(s["n_units"].idxmax())
    result = comparison.sessions[best].rename(null_shuffle="null", p_shuffle="p_value")
    plot_null(result.assign_attrs(metric=f"ridge R² (session {best})", null="trial shuffle")).savefig(
        folder / f"null_session_{best:02d}.png", dpi=120)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    order = np.argsort(s["score"].values)
    ax.plot(s["score"].values[order], "o", label="trained network")
    ax.plot(s["untrained_q95"].values[order], "v", label="untrained networks, 95th percentile")
    ax.plot(s["shuffle_q95"].values[order], "_", label="trial shuffle, 95th percentile")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("session (sorted by R²)")
    ax.set_ylabel("mean out-of-fold R²")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(folder / "predictivity_by_session.png", dpi=120)
    plt.close("all")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    fast = args.fast or os.environ.get("NEURODIS_EXAMPLE_FAST") == "1"
    settings = FAST if fast else FULL
    import torch

    torch.set_num_threads(args.threads)
    from neurodis.recordings import data_dir, lip_sessions, load_lip_behavior, load_lip_session

    try:
        data_dir()
    except FileNotFoundError as err:
        print(f"skipped: the LIP data are not available ({err})")
        return 0
    out = Path(args.out)
    sessions = settings["sessions"] or lip_sessions().session.values.tolist()
    bank = np.unique(np.concatenate([load_lip_session(s).pulses.values for s in sessions]), axis=0)
    result = train_network(settings, out, args.seed, bank, fast)
    behavior = load_lip_behavior()
    if settings["behavior_trials"] is not None:
        keep = np.random.default_rng(args.seed).choice(behavior.sizes["trial"], settings["behavior_trials"],
                                                       replace=False)
        behavior = behavior.isel(trial=np.sort(keep))
    table = kernels(result, behavior, rng=args.seed)
    comparison = predictivity(result, settings, rng=args.seed)
    comparison.save(out / "comparison")
    figures(table, comparison, out / "figures")
    print(f"\nresults and figures in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
