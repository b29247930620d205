"""Does a statistic of the training quadrants predict a network's held-out r²?

Loads every network of a sweep store (by default the 15 CTRNNs of the ``quick`` preset:
N = 2, 3, 6, 12, 24 tasks × seeds 0, 1, 2), simulates fresh regression trials over the
whole latent box (the OOD protocol's trials, :func:`neurodis.experiments.regression_rates`),
and computes per network and fold the training-quadrant predictors of
:mod:`neurodis.analysis.ood_predictors`. They are then rank-correlated with the held-out
r² stored in the sweep's ``results.nc`` (paper convention, median over folds × evaluation
repeats; least squares and ridge), which came from other trials: the predictor and the
score share no evaluation noise.

Three tests per predictor, each a Spearman correlation with a permutation p-value:

* across networks (15 pairs);
* within N (pairings permuted within each number of tasks, or within the cells of the
  swept keys given by ``--within``): does the predictor say anything that N (the
  condition) alone does not? With 3 networks per cell this test is weak;
* across folds within a network (60 pairs, permuted within networks): does it say which
  quadrant of a network generalizes worse?

Usage::

    python examples/ood_gap.py [STORE] [--n-trials 4000] [--seed 0] [--out examples/figures/ood_gap.png]
    NEURODIS_EXAMPLE_FAST=1 python examples/ood_gap.py
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import xarray as xr

FAST = os.environ.get("NEURODIS_EXAMPLE_FAST") == "1"
#: where README command 1 (``neurodis reproduce``, run from the repository root) writes the quick preset
DEFAULT_STORE = str(Path(__file__).resolve().parents[1] / "neurodis-results" / "quick")
#: predictors shown and tested: variable of ood_predictors -> label
PREDICTORS = {
    "n_silent": "units silent in training (<1 % of trials)",
    "lstsq_variance_fraction": "training variance along lstsq weights",
    "ridge_variance_fraction": "training variance along ridge weights",
    "lstsq_gain": "lstsq gain ‖W‖·sd",
    "linear_r2": "linear r² (latents → rates)",
    "curvature": "curvature (quadratic − linear r²)",
    "lstsq_inner_r2_paper": "nested held-out r², lstsq",
    "ridge_inner_r2_paper": "nested held-out r², ridge",
}
OUTCOMES = {"lstsq": "r2_paper", "ridge": "ridge_r2_paper"}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", nargs="?", default=DEFAULT_STORE,
                        help="a sweep's result folder (holding results.nc and store/runs/)")
    parser.add_argument("--n-trials", type=int, default=600 if FAST else 4000, help="fresh trials per network")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-resamples", type=int, default=999 if FAST else 99999)
    default_out = "ood_gap.png" if FAST else str(Path(__file__).resolve().parent / "figures" / "ood_gap.png")
    parser.add_argument("--out", default=default_out)
    parser.add_argument("--within", default="n_tasks",
                        help="comma-separated swept keys whose cells the within test permutes inside "
                             "(default n_tasks; e.g. network,n_dims,n_tasks for the dims preset)")
    return parser.parse_args(argv)


def load_networks(store: Path) -> list[tuple[dict, object]]:
    """(run config as a flat dict, TrainedNetwork) of every finished run folder of the store."""
    from neurodis.sweeps import load_network
    from neurodis.sweeps.config import RunConfig

    networks = []
    for run in sorted((store / "store" / "runs").iterdir()):
        if (run / "result.nc").is_file():
            config = RunConfig.from_dict(json.loads((run / "config.json").read_text()))
            networks.append((config.to_dict(), load_network(run)))
    return sorted(networks, key=lambda item: (item[0]["n_tasks"], item[0]["seed"], json.dumps(item[0], sort_keys=True)))


def grid_dims(store: Path) -> list[str]:
    """The swept keys of the store's results (its dims besides fold and repeat)."""
    with xr.open_dataset(store / "results.nc") as results:
        return [d for d in results[OUTCOMES["ridge"]].dims if d not in ("fold", "repeat")]


def measure(networks: list, n_trials: int, seed: int, dims: list[str]) -> xr.Dataset:
    """Predictors per (network, fold), on fresh trials (each network its own SeedSequence child).

    Each network carries its value of every swept key in ``dims`` as a coordinate.
    """
    from neurodis.analysis.ood_predictors import ood_predictors
    from neurodis.experiments.ood import regression_rates

    streams = np.random.SeedSequence(seed).spawn(len(networks))
    tables = []
    for (config, network), stream in zip(networks, streams, strict=True):
        rates, latents = regression_rates(network, n_trials=n_trials, rng=stream)
        label = f"N{config['n_tasks']}-s{config['seed']}" + "".join(
            f"-{config[d]}" for d in dims if d not in ("n_tasks", "seed"))
        table = ood_predictors(rates, latents).expand_dims(network=[label])
        keys = {d: ("network", [config[d]]) for d in {"n_tasks", "seed", *dims}}
        tables.append(table.assign_coords(keys))
    return xr.concat(tables, dim="network", combine_attrs="override")


def outcomes(store: Path, predictors: xr.Dataset) -> xr.Dataset:
    """Stored held-out r² per (network, fold): median over evaluation repeats."""
    results = xr.open_dataset(store / "results.nc")
    data = {}
    for decoder, name in OUTCOMES.items():
        # pointwise selection: each network's own cell of the grid
        picked = results[name].sel({d: xr.DataArray(predictors[d].values, dims="network")
                                     for d in results[name].dims if d not in ("fold", "repeat")})
        picked = picked.drop_vars([c for c in picked.coords if c != "fold"])
        data[decoder] = picked.median("repeat").sel(fold=predictors.fold).transpose("network", "fold")
        data[f"{decoder}_network"] = picked.median(["repeat", "fold"])
    return xr.Dataset(data).assign_coords(network=predictors.network)


def associations(predictors: xr.Dataset, scores: xr.Dataset, n_resamples: int, seed: int,
                 within: list[str]) -> list[dict]:
    from neurodis.analysis.ood_predictors import rank_association

    n_tasks = predictors.n_tasks.values
    # the within test permutes pairings inside each cell of the keys in ``within``
    cells = np.unique(np.stack([predictors[key].values.astype(str) for key in within], axis=1), axis=0,
                      return_inverse=True)[1].ravel()
    candidates = {"n_tasks": xr.DataArray(n_tasks.astype(float), dims="network")}
    candidates.update({name: predictors[name].median("fold") for name in PREDICTORS})
    streams = iter(np.random.SeedSequence(seed + 1).spawn(3 * len(candidates) * len(OUTCOMES)))
    rows = []
    for name, per_network in candidates.items():
        for decoder in OUTCOMES:
            y = scores[f"{decoder}_network"].values
            row = {"predictor": name, "decoder": decoder}
            across = rank_association(per_network.values, y, n_resamples=n_resamples, rng=next(streams))
            row["across_rho"], row["across_p"] = across.rho, across.p_value
            stream_within, stream_folds = next(streams), next(streams)
            if name == "n_tasks":
                row.update(within_rho=np.nan, within_p=np.nan, folds_rho=np.nan, folds_p=np.nan)
            else:
                within = rank_association(per_network.values, y, groups=cells, n_resamples=n_resamples,
                                          rng=stream_within)
                x_f, y_f = predictors[name].values.ravel(), scores[decoder].values.ravel()
                groups = np.repeat(np.arange(predictors.sizes["network"]), predictors.sizes["fold"])
                folds = rank_association(x_f, y_f, groups=groups, n_resamples=n_resamples, rng=stream_folds)
                row.update(within_rho=within.rho, within_p=within.p_value, folds_rho=folds.rho, folds_p=folds.p_value)
            rows.append(row)
    return rows


def _p(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _within_label(within: list[str]) -> str:
    return "within N" if within == ["n_tasks"] else "within " + " × ".join(within)


def report(predictors: xr.Dataset, scores: xr.Dataset, rows: list[dict], within: list[str]) -> None:
    print("per network (predictors: median over folds; held-out r²: median over folds × repeats)")
    cols = ["n_silent", "lstsq_variance_fraction", "ridge_variance_fraction", "linear_r2", "curvature",
            "lstsq_inner_r2_paper", "ridge_inner_r2_paper"]
    print(f"{'network':>9} {'silent':>6} {'vf_ls':>8} {'vf_rg':>8} {'lin_r2':>7} {'curv':>7} {'in_ls':>7} "
          f"{'in_rg':>7} {'r2_ls':>7} {'r2_rg':>7}")
    for k, network in enumerate(predictors.network.values):
        values = [float(predictors[c].isel(network=k).median("fold")) for c in cols]
        print(f"{network:>9} {values[0]:6.1f} {values[1]:8.2e} {values[2]:8.2e} {values[3]:7.3f} {values[4]:7.4f} "
              f"{values[5]:7.3f} {values[6]:7.3f} {float(scores.lstsq_network[k]):7.3f} "
              f"{float(scores.ridge_network[k]):7.3f}")
    n_networks, n_pairs = predictors.sizes["network"], predictors.sizes["network"] * predictors.sizes["fold"]
    label = _within_label(within)
    print(f"\nSpearman rho (two-sided permutation p): across {n_networks} networks | {label} (permuted there) | "
          f"across folds within a network ({n_pairs} pairs)")
    print(f"{'predictor':>24} {'decoder':>7} {'across':>16} {label[:16]:>16} {'folds':>16}")
    for row in rows:
        cells = [f"{row[k + '_rho']:+.2f} ({_p(row[k + '_p'])})" if np.isfinite(row[k + "_rho"]) else "—"
                 for k in ("across", "within", "folds")]
        print(f"{row['predictor']:>24} {row['decoder']:>7} {cells[0]:>16} {cells[1]:>16} {cells[2]:>16}")


def figure(predictors: xr.Dataset, scores: xr.Dataset, rows: list[dict], path: Path, within: list[str]) -> None:
    import matplotlib.pyplot as plt

    shown = ["n_silent", "lstsq_variance_fraction", "ridge_variance_fraction", "curvature",
             "lstsq_inner_r2_paper", "ridge_inner_r2_paper"]
    lookup = {(r["predictor"], r["decoder"]): r for r in rows}
    n_values = np.unique(predictors.n_tasks.values)
    colours = dict(zip(n_values, plt.cm.viridis(np.linspace(0, 0.9, n_values.size)), strict=True))
    fig, axes = plt.subplots(2, len(shown), figsize=(3.1 * len(shown), 6.2), squeeze=False)
    for j, name in enumerate(shown):
        x = predictors[name].median("fold").values
        for i, decoder in enumerate(OUTCOMES):
            ax = axes[i, j]
            y = scores[f"{decoder}_network"].values
            for n in n_values:
                pick = predictors.n_tasks.values == n
                ax.scatter(x[pick], y[pick], color=colours[n], s=28, label=f"N = {n}")
            row = lookup[(name, decoder)]
            ax.set_title(f"ρ {row['across_rho']:+.2f} (p {_p(row['across_p'])});\n{_within_label(within)} "
                         f"{row['within_rho']:+.2f} (p {_p(row['within_p'])})", fontsize=7.5)
            if "variance_fraction" in name:
                ax.set_xscale("log")
            elif name == "lstsq_inner_r2_paper":  # least squares can miss by hundreds: linear within ±1 only
                ax.set_xscale("symlog", linthresh=1.0)
            ax.set_xlabel(PREDICTORS[name], fontsize=8)
            if j == 0:
                ax.set_ylabel(f"held-out r² ({decoder})")
    axes[0, 0].legend(fontsize=7, frameon=False)
    fig.suptitle("Training-quadrant statistics vs held-out r² (one point per network; predictor: median over "
                 "folds)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"\nfigure written to {path}")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    store = Path(args.store)
    if not (store / "results.nc").is_file() or not (store / "store" / "runs").is_dir():
        print(f"skipped: no sweep results at {store} (results.nc and store/runs/)")
        return 0
    import torch

    torch.set_num_threads(1)
    networks = load_networks(store)
    if FAST:
        first = sorted({config["n_tasks"] for config, _ in networks})[:2]  # two values of N: every test still runs
        networks = [item for item in networks if item[0]["n_tasks"] in first]
    predictors = measure(networks, args.n_trials, args.seed, grid_dims(store))
    scores = outcomes(store, predictors)
    within = args.within.split(",")
    unknown = sorted(set(within) - set(predictors.coords))
    if unknown:
        raise SystemExit(f"--within must name swept keys of the store {sorted(grid_dims(store))}; got {unknown}")
    rows = associations(predictors, scores, args.n_resamples, args.seed, within)
    report(predictors, scores, rows, within)
    figure(predictors, scores, rows, Path(args.out), within)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
