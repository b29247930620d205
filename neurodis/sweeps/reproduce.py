"""``neurodis reproduce``: a preset sweep, its analyses, a table and figures in one folder.

The results folder is self-describing::

    OUT/reproduce.json   preset, overrides, every run config, versions, command
    OUT/store/           the run store (one folder per run: config, weights, result)
    OUT/results.nc       all runs' results along the preset's dims
    OUT/table.csv        the printed summary table
    OUT/figures/*.png    r² and decoder angle versus the number of tasks (and others)

Re-running the same command skips finished runs and resumes interrupted ones.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neurodis.sweeps.jobs import train_and_generalize
from neurodis.sweeps.presets import ensemble_key, get_preset
from neurodis.sweeps.runner import run_sweep
from neurodis.sweeps.store import RunStore, write_json
from neurodis.trials import save_dataset

__all__ = ["reproduce", "summary_table"]

#: Summary columns: (result variable, statistic) -> column name.
_COLUMNS = {
    ("r2_paper", "median"): "ood_r2",
    ("r2_paper", "q25"): "ood_r2_q25",
    ("r2_paper", "q75"): "ood_r2_q75",
    ("ridge_r2_paper", "median"): "ood_r2_ridge",
    ("authors_r2_paper", "median"): "authors_eval_r2",
    ("id_r2_paper", "median"): "id_r2",
    ("angle", "median"): "angle_deg",
    ("final_relative_accuracy", "mean"): "acc_vs_ideal",
}


def summary_table(results: xr.Dataset):
    """One row per swept condition: OOD r² (median, IQR over seeds × folds) and friends.

    Parameters
    ----------
    results : xarray.Dataset
        Collected results with a ``seed`` dim and a ``fold`` dim.

    Returns
    -------
    pandas.DataFrame
        Indexed by the swept dims other than ``seed``; columns ``ood_r2``,
        ``ood_r2_q25``, ``ood_r2_q75`` (least-squares decoders), ``ood_r2_ridge``
        (ridge decoders, penalty chosen on the training quadrants), ``authors_eval_r2``, ``id_r2``, ``angle_deg``,
        ``acc_vs_ideal`` and ``ceiling`` (the r² ceiling of the run's noise).
    """
    from neurodis.analysis import r2_ceiling

    reduce_dims = [d for d in ("seed", "fold") if d in results.dims]
    columns = {}
    for (name, stat), column in _COLUMNS.items():
        values = results[name]
        dims = [d for d in reduce_dims if d in values.dims]
        if stat == "mean":
            columns[column] = values.mean(dims)
        else:
            q = {"median": 0.5, "q25": 0.25, "q75": 0.75}[stat]
            columns[column] = values.quantile(q, dim=dims).drop_vars("quantile")
    table = xr.Dataset(columns)
    sigma = results["sigma"] if "sigma" in results.coords else results.attrs["sigma"]
    table["ceiling"] = xr.apply_ufunc(
        np.vectorize(lambda s: r2_ceiling(float(s), int(results.attrs["n_steps"]))), sigma
    )
    frame = table.to_dataframe()
    return frame[[c for c in (*_COLUMNS.values(), "ceiling") if c in frame.columns]]


def _figures(results: xr.Dataset, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from neurodis.plotting import plot_decoder_angle_vs_tasks, plot_r2_vs_tasks

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    if "n_tasks" in results.dims:
        for name, plot in (("r2_vs_tasks", plot_r2_vs_tasks), ("angle_vs_tasks", plot_decoder_angle_vs_tasks)):
            extra = [d for d in results.dims if d not in ("n_tasks", "seed", "fold")]
            subset = results.isel({d: 0 for d in extra}) if extra else results
            figure = plot(subset)
            paths.append(folder / f"{name}.png")
            figure.savefig(paths[-1], dpi=120, bbox_inches="tight")
            plt.close(figure)
    return paths


def reproduce(
    preset: str = "quick",
    *,
    out: str | os.PathLike | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    select: Mapping[str, list[Any]] | None = None,
    progress: bool = True,
) -> xr.Dataset:
    """Run a preset sweep end to end and write its results folder.

    Parameters
    ----------
    preset : str
        A name from :data:`neurodis.sweeps.presets.PRESETS` (default ``"quick"``).
    out : path-like, optional
        Results folder; default ``./neurodis-results/<preset>``.
    scheduler : str, optional
        ``None`` (a LocalCluster sized to this machine), ``"synchronous"``, or the
        address of an existing Dask scheduler.
    n_workers : int, optional
        Worker processes of the LocalCluster.
    overrides : mapping, optional
        Run-config values replacing the preset's (e.g. ``{"n_batches": 500}``).
    select : mapping of str to list, optional
        Keep only these values of swept keys (e.g. ``{"network": ["ctrnn"]}``).
    progress : bool
        Show the sweep's progress bar.

    Returns
    -------
    xarray.Dataset
        The collected results (also in ``OUT/results.nc``).

    Raises
    ------
    ValueError
        If the preset or an override key is unknown, or ``out`` holds a store of
        another neurodis version.
    """
    from neurodis._version import show_versions

    chosen = get_preset(preset)
    overrides = dict(overrides or {})
    select = {key: list(values) for key, values in (select or {}).items()}
    configs = chosen.configs(select=select, **overrides)
    folder = Path(out) if out is not None else Path("neurodis-results") / chosen.name
    store = RunStore(folder / "store")
    with open(os.devnull, "w") as sink:
        versions = show_versions(file=sink)
    write_json(folder / "reproduce.json", {
        "preset": chosen.name, "description": chosen.description, "overrides": overrides,
        "select": select, "dims": chosen.dims, "configs": configs, "versions": versions, "command": sys.argv,
    })
    run_sweep(configs, train_and_generalize, store, group_by=ensemble_key, scheduler=scheduler,
              n_workers=n_workers, progress=progress)
    results = store.collect(configs, dims=chosen.dims)
    results.attrs.update({"preset": chosen.name, "description": chosen.description})
    save_dataset(results, folder / "results.nc")
    table = summary_table(results)
    table.to_csv(folder / "table.csv", float_format="%.4f")
    _figures(results, folder / "figures")
    return results
