"""Can a network reproduce the LIP monkeys' primacy? Network families against the monkeys.

The monkeys of Yates et al. (2017) weigh early motion pulses more than late ones (a
"primacy" kernel); networks trained to report the sign of the summed pulses weigh them
all alike. Bounded accumulation predicts primacy: evidence after a bound is reached is
ignored (Kiani, Hanks & Shadlen 2008). This script trains several families of CTRNNs on
the pulse task, a few seeds each (one batched ensemble per model configuration), and
compares every family with the monkeys:

1. psychophysical kernels on the monkeys' own pulse sequences (the network's noisy
   choices), against the monkeys' kernel: the relative slope (slope / mean weight;
   negative = primacy) and the RMS distance between the normalized kernels (weights
   divided by their mean), with bootstrap CIs over seeds;
2. neural predictivity: each LIP neuron's spike count predicted from the network's
   rates on the same trials (cross-validated ridge R², mean over a session's neurons),
   against a ridge on the 7 pulse strengths and against untrained networks, with paired
   sign-flip tests over the 47 sessions (:func:`neurodis.analysis.similarity.compare_families`);
3. a noise ceiling per session: the share of each neuron's count variance explained by
   its mean over trials with the same (repeated) pulse sequence.
4. representational similarity on the same rates: RSA (Spearman correlation of Euclidean
   RDMs; conditions = the sequences a session repeats, counts averaged over their first
   two showings) and linear CKA (over those conditions, and over all single trials, plain
   and debiased), with split-half noise ceilings
   (:func:`neurodis.analysis.similarity.noise_ceiling`) for the condition metrics, a
   median over sessions per seed with bootstrap CIs over seeds, and paired sign-flip tests
   over sessions (bounded - flat, each family - untrained).

Families (``FAMILIES``): ``flat`` (today's objective), ``bounded`` (the target is the
choice of a bounded accumulator of the shown stimulus, ``PulsesTask(decision_bound=...)``),
``commit`` (the same, and the committed choice is the target from the crossing on: an
early commitment is rewarded, a cost on time), ``noise`` (recurrent noise) and
``fast`` (time constant = dt: no leak memory in the units).

Usage::

    python examples/lip_primacy.py --full --out results/primacy   # the real run (~20 min, 2 cores)
    python examples/lip_primacy.py                                 # a small version (< 1 min)

The LIP data (GPL-3.0) are read from ``$NEURODIS_DATA`` or ``../shared/data``; without
them the script says so and exits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import xarray as xr

#: per-step stimulus noise and gain of examples/compare_lip.py (an ideal integrator of the
#: recorded sequences is then right on 83 % of trials, the monkeys on 82 %)
SIGMA, GAIN, DELAY = 0.8, 1 / 19, 500.0
#: bound in pulse-strength units: the choice of this bounded accumulator of the noisy
#: stimulus, as an observer, has the monkeys' relative kernel slope (-0.15 vs -0.14)
BOUND = 20.0
#: family -> (task options, model options)
FAMILIES = {
    "flat": ({}, {}),
    "bounded": ({"decision_bound": BOUND}, {}),
    "commit": ({"decision_bound": BOUND, "loss_mask": "paper"}, {}),
    "noise": ({}, {"recurrent_noise": 0.2}),
    "fast": ({}, {"tau": 50.0}),
}
#: choices are Bernoulli draws from the readout's probability: a weak network may choose one
#: side on every trial by the ``p > 0.5`` threshold, which leaves no kernel to fit
FULL = {"n_seeds": 5, "n_units": 64, "n_batches": 800, "batch_size": 32, "sessions": None,
        "behavior_trials": None, "n_resamples": 2000, "choice": "sample"}
SMALL = {"n_seeds": 2, "n_units": 8, "n_batches": 20, "batch_size": 16, "sessions": [1, 2, 8, 37],
         "behavior_trials": 3000, "n_resamples": 200,
         "choice": "sample"}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the real run (5 seeds, 64 units, all sessions)")
    parser.add_argument("--out", default="lip_primacy_results", help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    return parser.parse_args(argv)


def train_families(settings: dict, bank: np.ndarray, out: Path, seed: int) -> dict[str, list]:
    """One ensemble per model configuration; members of one family share a task."""
    from neurodis.tasks.pulses import PulsesTask
    from neurodis.training import TrainConfig, make_network, train_ensemble

    groups: dict[str, list[str]] = {}
    for family, (_, model_options) in FAMILIES.items():
        groups.setdefault(json.dumps(model_options, sort_keys=True), []).append(family)
    config = TrainConfig(n_batches=settings["n_batches"], batch_size=settings["batch_size"], seed=seed,
                         log_every=max(1, settings["n_batches"] // 4), checkpoint_every=settings["n_batches"],
                         encoder="none", ideal_trials=0)
    n = settings["n_seeds"]
    networks: dict[str, list] = {}
    for key, families in groups.items():
        tasks, models, seeds = [], [], []
        for family in families:
            task = PulsesTask(gain=GAIN, sigma=SIGMA, delay=DELAY, pulse_sequences=bank, **FAMILIES[family][0])
            for k in range(n):
                tasks.append(task)
                models.append(make_network(task, n_units=settings["n_units"], seed=seed + k, **json.loads(key)))
                seeds.append(seed + k)
        members = train_ensemble(tasks, models, config, seeds=seeds, out=out / "runs" / "_".join(families),
                                 resume=True, progress=False)
        for i, family in enumerate(families):
            networks[family] = members[i * n:(i + 1) * n]
            acc = [float(m.history["accuracy"].isel(batch=-1).mean()) for m in networks[family]]
            print(f"trained {family:8s}: {n} x {settings['n_units']} units, {settings['n_batches']} batches, "
                  f"final training accuracy {np.mean(acc):.3f}", flush=True)
    return networks


def kernels(networks: dict[str, list], behavior: xr.Dataset, choice: str, seed: int) -> xr.Dataset:
    """Weights (family, seed, pulse) of every network, and the monkeys' kernel."""
    from neurodis.analysis import monkey_kernel
    from neurodis.experiments import network_kernel

    pulses = behavior["pulses"]
    rows, accuracy = [], []
    for f, members in enumerate(networks.values()):
        fits = [network_kernel(m, pulses, choice=choice, rng=np.random.SeedSequence([seed, f, k])) for k, m in enumerate(members)]
        rows.append([fit["weights"].values for fit in fits])
        accuracy.append([fit.attrs["accuracy"] for fit in fits])
    monkeys = monkey_kernel(behavior)
    pulse = monkeys["pulse"].values
    return xr.Dataset(
        {"weights": (("family", "seed", "pulse"), np.array(rows)),
         "accuracy": (("family", "seed"), np.array(accuracy)),
         "monkey_weights": ("pulse", monkeys["weights"].values), "monkey_se": ("pulse", monkeys["se"].values)},
        coords={"family": list(networks), "pulse": pulse})


def kernel_shape(weights: xr.DataArray) -> xr.Dataset:
    """Relative slope (least-squares slope over pulse position / mean weight) and normalized weights."""
    position = xr.DataArray(np.arange(weights.sizes["pulse"], dtype=float), dims="pulse")
    centred = position - position.mean()
    mean = weights.mean("pulse")
    slope = (centred * weights).sum("pulse") / (centred**2).sum()
    return xr.Dataset({"relative_slope": slope / mean, "normalized": weights / mean})


def kernel_statistics(table: xr.Dataset, n_resamples: int, seed: int) -> xr.Dataset:
    """Per family: relative slope and RMS distance of the normalized kernel to the monkeys', CIs over seeds."""
    from neurodis.analysis.similarity import bootstrap_scores

    nets, monkeys = kernel_shape(table["weights"]), kernel_shape(table["monkey_weights"])
    distance = np.sqrt(((nets["normalized"] - monkeys["normalized"]) ** 2).mean("pulse"))
    out = {}
    for name, scores in (("relative_slope", nets["relative_slope"]), ("distance", distance)):
        boot = bootstrap_scores(scores, "seed", n_resamples=n_resamples, rng=seed)
        out.update({name: boot["score"], f"{name}_low": boot["ci_low"], f"{name}_high": boot["ci_high"]})
    out["accuracy"] = table["accuracy"].mean("seed")
    return xr.Dataset(out).assign_attrs(monkey_relative_slope=float(monkeys["relative_slope"]))


def pulses_ridge(recording: xr.Dataset, seed: int) -> float:
    """Mean R² over a session's neurons of a ridge on the 7 pulse strengths."""
    from neurodis.analysis import recording_predictivity

    x = recording["pulses"].astype(float).rename(pulse="unit")
    x = x.drop_vars([c for c in x.coords if c not in ("trial",)] + ["unit"], errors="ignore")
    return float(recording_predictivity(x, recording, n_shuffles=1, rng=seed)["score"])


def explainable_variance(recording: xr.Dataset) -> float:
    """Noise ceiling of single-trial R²: mean over neurons of 1 - (variance within repeated sequences) / variance.

    The expected count given the stimulus explains at most this share of the variance;
    NaN when no sequence is repeated.
    """
    counts = recording["counts"].transpose("trial", "unit").values.astype(float)
    _, group = np.unique(recording["pulses"].transpose("trial", "pulse").values, axis=0, return_inverse=True)
    group = group.ravel()
    sizes = np.bincount(group)
    repeated = sizes[group] >= 2
    if not repeated.any():
        return float("nan")
    means = np.stack([np.bincount(group, weights=c) / sizes for c in counts.T], axis=1)
    residual = counts[repeated] - means[group[repeated]]
    within = (residual**2).sum(axis=0) / (repeated.sum() - len(np.unique(group[repeated])))
    total = counts.var(axis=0, ddof=1)
    return float(np.mean(np.clip(1 - within / np.where(total > 0, total, np.nan), 0, 1)))


def predictivity(networks: dict[str, list], sessions: list[int], seed: int) -> xr.Dataset:
    """Session scores (family, seed, session) with the pulse ridge, untrained networks and ceilings."""
    from threadpoolctl import threadpool_limits

    from neurodis.experiments import compare_with_recording, untrained_copy
    from neurodis.recordings import load_lip_session
    from neurodis.training import TrainedNetwork

    flat = networks["flat"]
    # untrained twins of the flat networks, replayed through the same task
    untrained = [TrainedNetwork(untrained_copy(m.model, 1000 + k), m.task, m.encoder) for k, m in enumerate(flat)]
    every = {**networks, "untrained": untrained}
    with threadpool_limits(limits=1):
        scores = [[compare_with_recording(m, sessions=sessions, n_shuffles=1, n_untrained=0, rng=seed)
                   .summary["score"].values for m in members] for members in every.values()]
        recordings = [load_lip_session(s) for s in sessions]
        ridge = [pulses_ridge(r, seed) for r in recordings]
    ceiling = [explainable_variance(r) for r in recordings]
    return xr.Dataset(
        {"score": (("family", "seed", "session"), np.array(scores)),
         "pulses_ridge": ("session", ridge), "ceiling": ("session", ceiling),
         "n_units": ("session", [r.sizes["unit"] for r in recordings])},
        coords={"family": list(every), "session": sessions})


#: repeats per condition for RSA / condition CKA: most repeated sequences are shown twice,
#: and the split-half ceiling is exact only for the average it is computed on
REPEATS = 2


def repeated_conditions(recording: xr.Dataset) -> np.ndarray:
    """``(condition, repeat)`` trial indices: the first ``REPEATS`` trials of every repeated sequence."""
    _, group = np.unique(recording["pulses"].transpose("trial", "pulse").values, axis=0, return_inverse=True)
    group = group.ravel()
    rows = [np.flatnonzero(group == g)[:REPEATS] for g in np.unique(group)]
    return np.array([r for r in rows if len(r) == REPEATS], dtype=int).reshape(-1, REPEATS)


def session_similarity(rates: list[np.ndarray], recording: xr.Dataset, n_splits: int, seed: int) -> dict:
    """RSA and CKA of each network's rates against one session, and their split-half ceilings.

    ``rates`` are ``(trial, unit)`` arrays on the session's trials. RSA (Spearman of
    Euclidean RDMs: sessions with one neuron have no correlation distance) and
    ``cka_condition`` compare the networks' patterns with the mean counts over the
    ``REPEATS`` trials of each repeated sequence; ``cka_trial`` is linear CKA over all
    single trials and ``cka_trial_debiased`` its unbiased-HSIC version (chance ≈ 0; the
    plain one's chance level grows with the network's units), both without a ceiling (a
    split-half ceiling needs repeats). NaN where a session
    has fewer than 3 conditions (the centred patterns of 2 conditions are collinear:
    CKA = 1 for any network) or a constant mean count.
    """
    from neurodis.analysis.similarity import linear_cka, noise_ceiling, rsa

    counts = recording["counts"].transpose("trial", "unit").values.astype(float)
    index = repeated_conditions(recording)
    y = xr.DataArray(counts[index], dims=("condition", "trial", "unit"))
    nan = [float("nan")] * len(rates)
    out = {"n_conditions": len(index)}
    single = xr.DataArray(counts, dims=("trial", "unit"))
    for name, debiased in (("cka_trial", False), ("cka_trial_debiased", True)):
        out[name] = [float(linear_cka(xr.DataArray(r, dims=("trial", "unit")), single, debiased=debiased,
                                      null=None).score) for r in rates]
    for name, metric, options, minimum in (("rsa", rsa, {"distance": "euclidean"}, 3),
                                           ("cka_condition", linear_cka, {}, 3)):
        out[name], out[f"{name}_ceiling"] = nan, float("nan")
        if len(index) < minimum or np.ptp(y.mean("trial").values, axis=0).max() == 0:
            continue
        mean = y.mean("trial")
        scores = []
        for r in rates:
            x = xr.DataArray(r[index[:, 0]], dims=("condition", "unit"))
            try:
                scores.append(float(metric(x, mean, null=None, **options).score))
            except ValueError:  # a network whose rates do not vary over the conditions
                scores.append(float("nan"))
        out[name] = scores
        try:
            out[f"{name}_ceiling"] = float(noise_ceiling(metric, y, n_splits=n_splits, rng=seed, **options).ceiling)
        except ValueError:  # a half average that is constant over the conditions
            pass
    return out


def similarity(networks: dict[str, list], sessions: list[int], seed: int, n_splits: int = 10) -> xr.Dataset:
    """RSA and CKA scores (family, seed, session) on the predictivity step's rates, with ceilings."""
    from threadpoolctl import threadpool_limits

    from neurodis.experiments import network_rates, untrained_copy
    from neurodis.recordings import load_lip_session
    from neurodis.training import TrainedNetwork

    untrained = [TrainedNetwork(untrained_copy(m.model, 1000 + k), m.task, m.encoder)
                 for k, m in enumerate(networks["flat"])]
    every = {**networks, "untrained": untrained}
    results = []
    with threadpool_limits(limits=1):
        for s in sessions:
            recording = load_lip_session(s)
            pulses = recording["pulses"]
            rates = [network_rates(m, pulses, rng=seed).transpose("trial", "unit").values
                     for members in every.values() for m in members]
            results.append(session_similarity(rates, recording, n_splits, seed))
    shape = (len(every), len(networks["flat"]), len(sessions))
    metrics = ("rsa", "cka_condition", "cka_trial", "cka_trial_debiased")
    data = {m: (("family", "seed", "session"), np.array([r[m] for r in results]).T.reshape(shape)) for m in metrics}
    data.update({f"{m}_ceiling": ("session", [r[f"{m}_ceiling"] for r in results]) for m in metrics[:2]})
    data["n_conditions"] = ("session", [r["n_conditions"] for r in results])
    return xr.Dataset(data, coords={"family": list(every), "session": sessions})


def similarity_statistics(table: xr.Dataset, n_resamples: int, seed: int) -> dict:
    """Per family: median over sessions per seed (CI over seeds); paired tests over sessions.

    Only sessions where every network has a finite score enter a metric; the paired
    tests are sign flips over sessions of the difference of the seed means, with a
    bootstrap CI over sessions and seeds (``compare_families(seed_dim="seed")``).
    """
    from neurodis.analysis.similarity import bootstrap_scores, compare_families

    options = {"n_permutations": n_resamples, "n_resamples": n_resamples, "rng": seed}
    summary: dict = {}
    for metric in ("rsa", "cka_condition", "cka_trial", "cka_trial_debiased"):
        scores = table[metric]
        valid = np.isfinite(scores).all(("family", "seed"))
        scores = scores.sel(session=valid)
        entry: dict = {"n_sessions": int(valid.sum())}
        if f"{metric}_ceiling" in table:
            ceiling = table[f"{metric}_ceiling"].sel(session=valid)
            entry["ceiling_median"] = float(ceiling.median())
        if entry["n_sessions"] < 2:
            summary[metric] = entry
            continue
        per_seed = scores.median("session")
        boot = bootstrap_scores(per_seed, "seed", statistic=np.median, n_resamples=n_resamples, rng=seed)
        entry["families"] = {str(f): {"median": float(boot.score.sel(family=f)), "ci_low": float(boot.ci_low.sel(family=f)),
                                      "ci_high": float(boot.ci_high.sel(family=f))} for f in table.family.values}
        pairs = [("bounded", "flat")] if {"bounded", "flat"} <= set(table.family.values) else []
        pairs += [(str(f), "untrained") for f in table.family.values if f != "untrained"]
        entry["tests"] = {}
        for a, b in pairs:
            t = compare_families(scores.sel(family=a, drop=True), scores.sel(family=b, drop=True),
                                 seed_dim="seed", **options)
            entry["tests"][f"{a} - {b}"] = {k: float(t[k]) for k in ("difference", "ci_low", "ci_high", "p_value")}
        summary[metric] = entry
    return summary


def report_similarity(summary: dict) -> None:
    print("\nRSA (Spearman of Euclidean RDMs over repeated sequences) and linear CKA; "
          "median over sessions, median over seeds [95 % CI over seeds]")
    for metric, entry in summary.items():
        ceiling = f", noise ceiling median {entry['ceiling_median']:.3f}" if "ceiling_median" in entry else ""
        print(f"{metric} ({entry['n_sessions']} sessions{ceiling})")
        for f, v in entry.get("families", {}).items():
            print(f"{f:>12}: {v['median']:+.4f} [{v['ci_low']:+.4f}, {v['ci_high']:+.4f}]")
        for name, t in entry.get("tests", {}).items():
            print(f"{name:>24}: {t['difference']:+.4f} [{t['ci_low']:+.4f}, {t['ci_high']:+.4f}], "
                  f"p = {t['p_value']:.4f}")


def family_tests(scores: xr.Dataset, n_resamples: int, seed: int) -> dict[str, xr.Dataset]:
    """Paired sign-flip tests over sessions: each family against flat, the pulse ridge and untrained.

    A family's score in a session is the median over its seeds: a ridge fit on some
    network's rates can extrapolate to an R² of -1e8 on a session, which a mean over
    seeds would carry into every comparison.
    """
    from neurodis.analysis.similarity import compare_families

    options = {"n_permutations": n_resamples, "n_resamples": n_resamples, "rng": seed}
    median = scores["score"].median("seed")
    ridge = scores["pulses_ridge"]
    tests = {}
    for family in scores.family.values:
        a = median.sel(family=family, drop=True)
        tests[f"{family} - pulses ridge"] = compare_families(a, ridge, **options)
        if family not in ("flat", "untrained"):
            tests[f"{family} - flat"] = compare_families(a, median.sel(family="flat", drop=True), **options)
        if family != "untrained":
            tests[f"{family} - untrained"] = compare_families(a, median.sel(family="untrained", drop=True), **options)
    return tests


def figure(table: xr.Dataset, path: Path) -> None:
    """Kernels of the monkeys (± 2 SE) and of each family (mean over seeds, min-max band), raw and normalized."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pulse = table["pulse"].values
    fig, (raw, shape) = plt.subplots(1, 2, figsize=(9, 3.6))
    monkeys, monkey_mean = table["monkey_weights"], float(table["monkey_weights"].mean())
    for ax, scale in ((raw, 1.0), (shape, monkey_mean)):
        ax.errorbar(pulse, monkeys / scale, yerr=2 * table["monkey_se"] / scale, color="k", lw=2.5,
                    label="monkeys", zorder=5)
    for family in table.family.values:
        w = table["weights"].sel(family=family)
        line, = raw.plot(pulse, w.mean("seed"), marker="o", ms=3, label=family)
        raw.fill_between(pulse, w.min("seed"), w.max("seed"), color=line.get_color(), alpha=0.15)
        # the family's mean kernel over its own mean: a seed with a near-zero mean weight
        # would blow up a mean of per-seed normalized kernels
        mean_kernel = w.mean("seed")
        shape.plot(pulse, mean_kernel / mean_kernel.mean(), marker="o", ms=3, color=line.get_color())
    raw.set_ylabel("choice weight (log-odds per unit strength)")
    shape.set_ylabel("weight / mean weight")
    for ax in (raw, shape):
        ax.set_xlabel("pulse")
    raw.legend(fontsize="small", ncol=2)
    raw.set_title("psychophysical kernels")
    shape.set_title("shape (mean kernel / its mean)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def report(stats: xr.Dataset, scores: xr.Dataset, tests: dict[str, xr.Dataset]) -> None:
    print(f"\nkernel shape (monkeys' relative slope {stats.attrs['monkey_relative_slope']:+.3f}); "
          "95 % CIs over seeds")
    print(f"{'family':>9} {'accuracy':>8} {'relative slope':>24} {'RMS distance to monkeys':>26}")
    for f in stats.family.values:
        s = stats.sel(family=f)
        print(f"{f:>9} {float(s.accuracy):8.3f} {float(s.relative_slope):+8.3f} "
              f"[{float(s.relative_slope_low):+.3f}, {float(s.relative_slope_high):+.3f}] "
              f"{float(s.distance):10.3f} [{float(s.distance_low):.3f}, {float(s.distance_high):.3f}]")
    print(f"\nneural predictivity over {scores.sizes['session']} sessions (median over seeds; median session R²)")
    print(f"{'pulses ridge':>12}: {float(scores.pulses_ridge.median()):.4f}; noise ceiling (median over "
          f"{int(np.isfinite(scores.ceiling).sum())} sessions with repeats): {float(scores.ceiling.median()):.3f}")
    for f in scores.family.values:
        print(f"{f:>12}: {float(scores.score.sel(family=f).median('seed').median()):.4f}")
    print("\npaired differences of mean session R² (seed medians; sign flips and 95 % bootstrap CI over sessions)")
    for name, t in tests.items():
        print(f"{name:>28}: {float(t.difference):+.4f} [{float(t.ci_low):+.4f}, {float(t.ci_high):+.4f}], "
              f"p = {float(t.p_value):.4f}")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    settings = FULL if args.full and os.environ.get("NEURODIS_EXAMPLE_FAST") != "1" else SMALL
    import torch

    torch.set_num_threads(args.threads)
    from neurodis.recordings import (
        data_dir,
        lip_sessions,
        load_lip_behavior,
        load_lip_session,
    )

    try:
        data_dir()
    except FileNotFoundError as err:
        print(f"skipped: the LIP data are not available ({err})")
        return 0
    out = Path(args.out)
    sessions = settings["sessions"] or [int(s) for s in lip_sessions().session.values]
    bank = np.unique(np.concatenate([load_lip_session(s).pulses.values for s in sessions]), axis=0)
    networks = train_families(settings, bank, out, args.seed)
    behavior = load_lip_behavior()
    if settings["behavior_trials"] is not None:
        keep = np.random.default_rng(args.seed).choice(behavior.sizes["trial"], settings["behavior_trials"],
                                                       replace=False)
        behavior = behavior.isel(trial=np.sort(keep))
    table = kernels(networks, behavior, settings["choice"], args.seed)
    stats = kernel_statistics(table, settings["n_resamples"], args.seed)
    scores = predictivity(networks, sessions, args.seed)
    tests = family_tests(scores, settings["n_resamples"], args.seed)
    report(stats, scores, tests)
    shared = similarity(networks, sessions, args.seed)
    shared_summary = similarity_statistics(shared, settings["n_resamples"], args.seed)
    report_similarity(shared_summary)
    out.mkdir(parents=True, exist_ok=True)
    xr.merge([table, stats.rename({v: f"kernel_{v}" for v in stats.data_vars})]).to_netcdf(out / "kernels.nc")
    scores.to_netcdf(out / "predictivity.nc")
    summary = {name: {k: float(t[k]) for k in ("difference", "ci_low", "ci_high", "p_value")}
               for name, t in tests.items()}
    (out / "tests.json").write_text(json.dumps(summary, indent=1))
    shared.to_netcdf(out / "similarity.nc")
    (out / "similarity.json").write_text(json.dumps(shared_summary, indent=1))
    figure(table, out / "primacy_kernels.png")
    print(f"\nresults and figure in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
