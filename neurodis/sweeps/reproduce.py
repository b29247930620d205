"""``neurodis reproduce``: a preset sweep, its analyses, a table and figures in one folder.

The results folder is self-describing::

    OUT/reproduce.json   preset, overrides, every run config, the job's options (e.g.
                         evaluation repeats), versions, command; start, end and wall
                         time of this call, runs already done before it
    OUT/store/           the run store (one folder per run: config, weights, result)
    OUT/results.nc       all runs' results along the preset's dims
    OUT/table.csv        the printed summary table
    OUT/diagnostics.csv  how far it can be trusted (generalization: the spread between
                         evaluations, extrapolating units, ridge penalties at a grid end)
    OUT/figures/*.png    the figures of the preset's job kind (e.g. r² and decoder angle
                         versus the number of tasks)

Re-running the same command skips finished runs and resumes interrupted ones. Two
commands started at once on one ``OUT`` share its runs (each run is claimed by one of
them; the other waits for it), and both end with the whole table.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import xarray as xr

from neurodis._validation import check_in
from neurodis.files import atomic_write, write_json
from neurodis.sweeps.jobs import train_and_generalize
from neurodis.sweeps.presets import CONFIG_SCHEMA, Preset, ensemble_key, get_preset
from neurodis.sweeps.runner import run_sweep
from neurodis.sweeps.store import RunStore
from neurodis.sweeps.studies import train_and_find_attractors, train_and_time
from neurodis.sweeps.summaries import (
    attractor_figures,
    attractor_table,
    free_rt_figures,
    free_rt_table,
    generalization_diagnostics,
    generalization_figures,
    generalization_table,
)
from neurodis.trials import save_dataset

__all__ = ["JOB_KINDS", "JobKind", "reproduce", "summary_table"]


@dataclass(frozen=True)
class JobKind:
    """What a preset's ``job`` runs: the sweep job, its summary table and its figures.

    Attributes
    ----------
    job : callable
        Module-level ``job(configs, run_dirs, report) -> [Dataset]`` (see
        :func:`~neurodis.sweeps.runner.run_sweep`).
    table : callable
        ``table(results) -> pandas.DataFrame`` over the collected results.
    figures : callable
        ``figures(results, folder) -> [paths]`` writing PNGs into ``folder``.
    options : tuple of str
        Attributes of the :class:`~neurodis.sweeps.presets.Preset` passed to ``job`` as
        keyword arguments of the same name (settings of the measurement that are not
        part of a run's config).
    diagnostics : callable, optional
        ``diagnostics(results) -> pandas.DataFrame``, a second table written to
        ``diagnostics.csv`` (how far the numbers of the first can be trusted).
    """

    job: Callable[..., list[xr.Dataset]]
    table: Callable[[xr.Dataset], Any]
    figures: Callable[[xr.Dataset, Path], list[Path]]
    options: tuple[str, ...] = ()
    diagnostics: Callable[[xr.Dataset], Any] | None = None

    def bound_job(self, preset: Preset, device: str = "cpu") -> Callable[..., list[xr.Dataset]]:
        """``job`` with the preset's :attr:`options` and the training ``device`` bound."""
        return partial(self.job, **{name: getattr(preset, name) for name in self.options}, device=device)


#: The job kinds of :data:`neurodis.sweeps.presets.JOBS`.
JOB_KINDS: dict[str, JobKind] = {
    "generalization": JobKind(train_and_generalize, generalization_table, generalization_figures,
                              options=("eval_repeats", "accuracy_trials"), diagnostics=generalization_diagnostics),
    "free_rt": JobKind(train_and_time, free_rt_table, free_rt_figures, options=("eval_repeats",)),
    "attractor": JobKind(train_and_find_attractors, attractor_table, attractor_figures),
}


def summary_table(results: xr.Dataset, job: str | None = None):
    """The summary table of collected results, one row per swept condition.

    Parameters
    ----------
    results : xarray.Dataset
        Collected results (``OUT/results.nc``).
    job : str, optional
        The job kind (:data:`JOB_KINDS`) that produced them; default
        ``results.attrs["job"]``, or ``"generalization"`` when absent.

    Returns
    -------
    pandas.DataFrame
        See :func:`~neurodis.sweeps.summaries.generalization_table`,
        :func:`~neurodis.sweeps.summaries.free_rt_table` and
        :func:`~neurodis.sweeps.summaries.attractor_table`.

    Raises
    ------
    ValueError
        If ``job`` is not a known job kind.
    """
    job = results.attrs.get("job", "generalization") if job is None else job
    check_in("job", job, sorted(JOB_KINDS))
    return JOB_KINDS[job].table(results)


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def reproduce(
    preset: str = "quick",
    *,
    out: str | os.PathLike | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    select: Mapping[str, list[Any]] | None = None,
    progress: bool = True,
    dashboard: bool = False,
    device: str = "cpu",
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
    dashboard : bool
        Serve Dask's dashboard from the LocalCluster, on 127.0.0.1 only.
    device : {"cpu", "cuda"}
        Where the ensembles train. The trained networks are saved and measured on the
        CPU either way (the Numba simulator runs CTRNNs). Not part of a run's identity:
        a run finished on either device counts as done; an interrupted ensemble resumes
        on the device it started on (its checkpoint refuses another).

    Returns
    -------
    xarray.Dataset
        The collected results (also in ``OUT/results.nc``).

    Raises
    ------
    ValueError
        If the preset or an override key is unknown, ``out`` holds a store of
        another neurodis version, or ``device="cuda"`` on a machine without CUDA.
    RunFailedError
        If a run raised (one line naming the run, the error and its ``error.log``).
    """
    from neurodis._version import show_versions
    from neurodis.training.config import DEVICES
    from neurodis.training.loop import check_device

    chosen = get_preset(preset)
    check_in("device", device, DEVICES)
    check_device(device)
    overrides = dict(overrides or {})
    select = {key: list(values) for key, values in (select or {}).items()}
    configs = chosen.configs(select=select, **overrides)
    folder = Path(out) if out is not None else Path("neurodis-results") / chosen.name
    store = RunStore(folder / "store", schema=CONFIG_SCHEMA)
    with open(os.devnull, "w") as sink:
        versions = show_versions(file=sink)
    kind = JOB_KINDS[chosen.job]
    meta = {
        "preset": chosen.name, "description": chosen.description, "job": chosen.job, "overrides": overrides,
        "select": select, "dims": chosen.dims, "configs": configs,
        "job_options": {name: getattr(chosen, name) for name in kind.options}, "device": device,
        "versions": versions,
        "command": sys.argv, "started": _utc_now(),
        "runs_already_done": sum(store.is_done(config) for config in configs),
    }
    write_json(folder / "reproduce.json", meta)
    start = time.perf_counter()
    run_sweep(configs, kind.bound_job(chosen, device), store, group_by=ensemble_key, scheduler=scheduler,
              n_workers=n_workers, progress=progress, dashboard=dashboard)
    results = store.collect(configs, dims=chosen.dims)
    meta.update(finished=_utc_now(), wall_seconds=round(time.perf_counter() - start, 1))  # this call's
    write_json(folder / "reproduce.json", meta)
    results.attrs.update({"preset": chosen.name, "description": chosen.description, "job": chosen.job})
    save_dataset(results, folder / "results.nc")
    table = kind.table(results)
    # atomically: a second reproduce on this folder writes the same file at the same time
    atomic_write(folder / "table.csv", lambda tmp: table.to_csv(tmp, float_format="%.4f"))
    diagnostics = kind.diagnostics(results) if kind.diagnostics is not None else None
    if diagnostics is not None and len(diagnostics.columns):
        atomic_write(folder / "diagnostics.csv", lambda tmp: diagnostics.to_csv(tmp, float_format="%.4f"))
    kind.figures(results, folder / "figures")
    return results
