"""Figures of out-of-distribution generalization against the number of tasks.

Every function takes a results Dataset with a ``n_tasks`` dim (typically the
concatenation of :func:`neurodis.analysis.fit_ood_decoders` results along ``n_tasks``,
optionally also along ``seed`` and ``repeat``), draws on ``ax`` (a new figure when
``None``) and returns the figure. :func:`plot_r2_vs_tasks` and
:func:`plot_decoder_angle_vs_tasks` summarise every other dim (``seed``, ``fold``,
``repeat``, ...) by the median and the interquartile range;
:func:`plot_evaluation_spread` shows how much one network's score moves between
independent evaluations, per decoder.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_real, check_type, describe
from neurodis.analysis.theory import r2_ceiling
from neurodis.plotting.common import figure_axes

__all__ = ["plot_decoder_angle_vs_tasks", "plot_evaluation_spread", "plot_r2_vs_tasks"]

N_TASKS = "n_tasks"
#: Further decoders drawn by plot_r2_vs_tasks: variable prefix, legend label, style.
_DECODERS = (
    ("ridge_", "ridge, out of distribution", {"color": "C1", "linestyle": "--"}),
    ("adam_", "Adam (authors' decoder), out of distribution", {"color": "C2", "linestyle": "-."}),
    ("authors_", "authors' evaluation", {"color": "C3", "linestyle": ":"}),
)
#: Decoders of plot_evaluation_spread: variable prefix, label, colour.
_SPREAD_DECODERS = (("", "least squares", "C0"), ("ridge_", "ridge", "C1"), ("adam_", "Adam", "C2"))
REPEAT = "repeat"


def _summary(results: xr.Dataset, variable: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n_tasks`` and the median, 25th and 75th percentiles over every other dim."""
    check_type("results", results, xr.Dataset, f"an xarray.Dataset with a {N_TASKS!r} dim")
    if variable not in results:
        raise ValueError(f"results must contain {variable!r}; got variables {list(results.data_vars)}")
    values = results[variable]
    if N_TASKS not in values.dims:
        raise ValueError(f"results[{variable!r}] must have a {N_TASKS!r} dim; got {describe(values)}")
    if "time" in values.dims:
        raise ValueError(
            f"results[{variable!r}] must not have a 'time' dim (select one step first, e.g. "
            f"results.isel(time=-1)); got {describe(values)}"
        )
    values = values.transpose(N_TASKS, ...)
    flat = values.values.reshape(values.sizes[N_TASKS], -1)
    q25, median, q75 = np.nanpercentile(flat, [25, 50, 75], axis=1)
    return np.asarray(values[N_TASKS].values, dtype=float), median, q25, q75


def _series(ax: Any, x: np.ndarray, median: np.ndarray, q25: np.ndarray, q75: np.ndarray, **style: Any) -> None:
    # one (2, n) array: matplotlib reads a list of 1-element arrays through a deprecated scalar conversion
    ax.errorbar(x, median, yerr=np.stack([median - q25, q75 - median]), marker="o", capsize=2, **style)


def _task_axis(ax: Any, n_tasks: np.ndarray) -> None:
    ax.set_xscale("log")
    ax.set_xticks(n_tasks)
    ax.set_xticklabels([f"{int(n)}" if float(n).is_integer() else f"{n:g}" for n in n_tasks])
    ax.minorticks_off()
    ax.set_xlabel("number of tasks")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def plot_r2_vs_tasks(
    results: xr.Dataset,
    *,
    variable: str = "r2_paper",
    ceiling: bool | float = True,
    sigma: float | None = None,
    n_steps: int | None = None,
    free_rt: bool | None = None,
    reference: bool = True,
    decoders: bool = True,
    ax: Any = None,
) -> Any:
    """Out-of-distribution r² (median, IQR) versus the number of tasks, with the ceiling.

    Parameters
    ----------
    results : Dataset
        Holds ``variable`` with a ``n_tasks`` dim (other dims are summarised).
    variable : str
        ``"r2_paper"`` (default) or ``"r2"``.
    ceiling : bool or float
        Draw the theoretical ceiling ``1 - σ²/(t · 1/12)`` (:func:`r2_ceiling`, meaningful
        for ``r2_paper``), a given value, or nothing (``False``).
    sigma, n_steps : float, int, optional
        Noise sd per step and number of stimulus steps for the ceiling; default a
        scalar ``sigma`` coordinate of ``results`` (one σ of a sweep over σ), else
        ``results.attrs["sigma"]``, and ``results.attrs["n_steps"]`` (written by
        :func:`~neurodis.experiments.generalization`).
    free_rt : bool, optional
        Free reaction time (``t = n_steps + 1``); default ``results.attrs["free_rt"]``,
        else False.
    reference : bool
        Also draw the in-distribution reference ``id_<variable>`` when present.
    decoders : bool
        Also draw, when present, ``ridge_<variable>`` (ridge decoders whose penalty was
        chosen on the training quadrants), ``adam_<variable>`` (the authors' Adam
        decoder fit) and ``authors_<variable>`` (least squares under the authors'
        default evaluation, where folds Q2 and Q4 were tested on Q1/Q3 trials), as
        written by ``neurodis generalize`` and the sweeps.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``results`` is not a Dataset.
    ValueError
        If ``variable`` is missing or lacks ``n_tasks``, has a ``time`` dim, or the
        ceiling's ``sigma``/``n_steps`` are unknown.

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset({"r2_paper": (("n_tasks", "fold"), [[0.8, 0.7], [0.95, 0.9]])},
    ...                 coords={"n_tasks": [2, 24]})
    >>> fig = plot_r2_vs_tasks(ds, sigma=0.2, n_steps=20)
    >>> [line.get_label() for line in fig.axes[0].get_lines() if line.get_label() == "ceiling"]
    ['ceiling']
    """
    n_tasks, median, q25, q75 = _summary(results, variable)
    ax = figure_axes(ax, figsize=(3.2, 2.6))[1]
    _series(ax, n_tasks, median, q25, q75, label="out of distribution", color="C0")
    for prefix, label, style in _DECODERS if decoders else ():
        if f"{prefix}{variable}" in results:
            _series(ax, n_tasks, *_summary(results, f"{prefix}{variable}")[1:], label=label, **style)
    if reference and f"id_{variable}" in results:
        _, id_median, id_q25, id_q75 = _summary(results, f"id_{variable}")
        _series(ax, n_tasks, id_median, id_q25, id_q75, label="in distribution", color="C7")
    if ceiling is not False:
        level = _ceiling_level(results, ceiling, sigma, n_steps, free_rt)
        ax.axhline(level, color="k", linestyle="--", linewidth=1, label="ceiling")
    _task_axis(ax, n_tasks)
    ax.set_ylabel("out-of-distribution $r^2$" if variable == "r2_paper" else f"{variable}")
    ax.legend(frameon=False, fontsize="x-small")  # up to five series
    return ax.figure


def _ceiling_level(results: xr.Dataset, ceiling: Any, sigma: Any, n_steps: Any, free_rt: bool | None) -> float:
    if ceiling is not True:
        return check_real("ceiling", ceiling)
    if sigma is None:  # a scalar σ coordinate: one σ selected from a sweep over σ
        selected = results.coords.get("sigma")
        sigma = float(selected) if selected is not None and selected.ndim == 0 else results.attrs.get("sigma")
    n_steps = results.attrs.get("n_steps") if n_steps is None else n_steps
    if sigma is None or n_steps is None:
        raise ValueError(
            "sigma and n_steps are needed to draw the ceiling (pass them, set results.attrs, or "
            f"ceiling=False); got sigma={sigma!r}, n_steps={n_steps!r}"
        )
    free_rt = bool(results.attrs.get("free_rt", False)) if free_rt is None else free_rt
    return r2_ceiling(sigma, int(n_steps), free_rt=free_rt)


def plot_decoder_angle_vs_tasks(
    results: xr.Dataset,
    *,
    variable: str = "angle",
    reference: bool = True,
    ax: Any = None,
) -> Any:
    """Angle between the decoder axes (median, IQR) versus the number of tasks.

    90° (drawn dashed) means orthogonal axes for the two latents.

    Parameters
    ----------
    results : Dataset
        Holds ``variable`` (degrees) with a ``n_tasks`` dim.
    variable : str
        Name of the angle variable.
    reference : bool
        Also draw ``id_<variable>`` (decoder fit on all trials) when present.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        As :func:`plot_r2_vs_tasks`.

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset({"angle": (("n_tasks",), [60.0, 88.0])}, coords={"n_tasks": [2, 24]})
    >>> fig = plot_decoder_angle_vs_tasks(ds)
    >>> fig.axes[0].get_ylabel()
    'angle between decoder axes (°)'
    """
    n_tasks, median, q25, q75 = _summary(results, variable)
    ax = figure_axes(ax, figsize=(3.2, 2.6))[1]
    _series(ax, n_tasks, median, q25, q75, label="held-out folds", color="C0")
    if reference and f"id_{variable}" in results:
        _, id_median, id_q25, id_q75 = _summary(results, f"id_{variable}")
        _series(ax, n_tasks, id_median, id_q25, id_q75, label="all trials", color="C7")
    ax.axhline(90.0, color="k", linestyle="--", linewidth=1, label="orthogonal")
    _task_axis(ax, n_tasks)
    ax.set_ylabel("angle between decoder axes (°)")
    ax.legend(frameon=False, fontsize="small")
    return ax.figure


def plot_evaluation_spread(
    results: xr.Dataset,
    *,
    variable: str = "r2_paper",
    ax: Any = None,
) -> Any:
    """How far one network's held-out score moves between independent evaluations, per decoder.

    For every (network, fold) the standard deviation of ``variable`` over ``repeat``
    (evaluations with their own trials, noise and decoder fits) is one point, drawn
    per number of tasks and decoder (least squares, ridge and Adam, when present) on a
    log scale, with the median as a bar. Least squares spreads by up to tenths where
    units silent in the training quadrants extrapolate; ridge by about a hundredth.

    Parameters
    ----------
    results : Dataset
        Holds ``variable`` (and ``ridge_<variable>``, ``adam_<variable>``) with
        ``n_tasks`` and ``repeat`` dims (>= 2 repeats).
    variable : str
        ``"r2_paper"`` (default) or ``"r2"``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``results`` is not a Dataset.
    ValueError
        If ``variable`` is missing, lacks ``n_tasks``, has a ``time`` dim, or has fewer
        than 2 repeats.

    Examples
    --------
    >>> import xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> ds = xr.Dataset({"r2_paper": (("n_tasks", "seed", "repeat"), rng.normal(0.8, 0.05, (2, 3, 4))),
    ...                  "ridge_r2_paper": (("n_tasks", "seed", "repeat"), rng.normal(0.9, 0.005, (2, 3, 4)))},
    ...                 coords={"n_tasks": [2, 24]})
    >>> fig = plot_evaluation_spread(ds)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['least squares', 'ridge']
    """
    _summary(results, variable)  # the checks: a Dataset, the variable, n_tasks, no time
    if REPEAT not in results[variable].dims or results.sizes[REPEAT] < 2:
        raise ValueError(f"results[{variable!r}] must have a {REPEAT!r} dim with at least 2 evaluations; got "
                         f"{describe(results[variable])}")
    ax = figure_axes(ax, figsize=(3.6, 2.8))[1]
    present = [(prefix, label, color) for prefix, label, color in _SPREAD_DECODERS if f"{prefix}{variable}" in results]
    n_tasks = np.asarray(results[N_TASKS].values, dtype=float)
    # decoders side by side around each N, a fixed fraction of a decade apart on the log axis
    offsets = 10.0 ** (0.06 * (np.arange(len(present)) - (len(present) - 1) / 2))
    for (prefix, label, color), offset in zip(present, offsets):
        spread = results[f"{prefix}{variable}"].std(REPEAT, ddof=1).transpose(N_TASKS, ...)
        flat = spread.values.reshape(spread.sizes[N_TASKS], -1)
        for x, values in zip(n_tasks * offset, flat):
            values = values[np.isfinite(values)]
            ax.plot(np.full(values.size, x), values, ".", color=color, alpha=0.4, markersize=3)
        ax.plot(n_tasks * offset, np.nanmedian(flat, axis=1), "_", color=color, markersize=12, mew=2, label=label)
    _task_axis(ax, n_tasks)
    ax.set_yscale("log")
    ax.set_ylabel(f"sd of {'held-out $r^2$' if variable == 'r2_paper' else variable} between evaluations")
    ax.legend(frameon=False, fontsize="small")
    return ax.figure
