"""The summary table and figures of every job kind of ``reproduce``.

Each kind has a ``*_table(results) -> DataFrame`` over the collected results (one row
per swept condition: statistics over seeds and folds) and a ``*_figures(results,
folder) -> [paths]`` writing PNGs. :data:`neurodis.sweeps.reproduce.JOB_KINDS` pairs
them with their jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "attractor_figures",
    "attractor_table",
    "free_rt_figures",
    "free_rt_table",
    "generalization_diagnostics",
    "generalization_figures",
    "generalization_table",
]

#: Dims a statistic pools: networks (seeds), folds and independent evaluations.
_POOLED = ("seed", "fold", "repeat")

#: Bootstrap draws of the confidence intervals over networks (seeded: a table is reproducible).
_CI_RESAMPLES, _CI_SEED = 2000, 0


def _interval(values: xr.DataArray, dims: list[str], bound: str) -> xr.DataArray:
    """95 % bootstrap interval of the pooled median, resampling networks (NaN with < 2 seeds)."""
    from neurodis.analysis.pooled import pooled_bootstrap

    if "seed" not in dims or values.sizes["seed"] < 2:
        return xr.full_like(values.isel({d: 0 for d in dims}, drop=True), np.nan, dtype=float)
    pool = [d for d in dims if d != "seed"]
    return pooled_bootstrap(values, "seed", pool=pool, n_resamples=_CI_RESAMPLES, rng=_CI_SEED)[bound]


def _repeat_spread(values: xr.DataArray, dims: list[str]) -> xr.DataArray:
    """Median over networks and folds of the standard deviation between evaluations."""
    return values.std("repeat", ddof=1).median([d for d in dims if d != "repeat"])


#: Statistics of a column: over the reduced dims of the variable.
_STATISTICS: dict[str, Callable[[xr.DataArray, list[str]], xr.DataArray]] = {
    "mean": lambda values, dims: values.mean(dims),
    "median": lambda values, dims: values.quantile(0.5, dim=dims).drop_vars("quantile"),
    "q25": lambda values, dims: values.quantile(0.25, dim=dims).drop_vars("quantile"),
    "q75": lambda values, dims: values.quantile(0.75, dim=dims).drop_vars("quantile"),
    "ci_low": lambda values, dims: _interval(values, dims, "ci_low"),
    "ci_high": lambda values, dims: _interval(values, dims, "ci_high"),
    "repeat_sd": _repeat_spread,
}
#: Statistics that need a dim to exist (else the column is left out).
_NEEDS = {"repeat_sd": "repeat"}


def _control_columns(prefix: str, label: str) -> dict[tuple[str, str], str]:
    """A control's columns, as the trained networks': ridge r² with its interval, then least
    squares, Adam and the in-distribution reference."""
    return {
        (f"{prefix}ridge_r2_paper", "median"): f"{label}_r2_ridge",
        (f"{prefix}ridge_r2_paper", "ci_low"): f"{label}_r2_ridge_ci_low",
        (f"{prefix}ridge_r2_paper", "ci_high"): f"{label}_r2_ridge_ci_high",
        (f"{prefix}r2_paper", "median"): f"{label}_r2",
        (f"{prefix}adam_r2_paper", "median"): f"{label}_r2_adam",
        (f"{prefix}id_r2_paper", "median"): f"{label}_id_r2",
    }


#: Generalization columns: (result variable, statistic) -> column name. Ridge, the
#: primary estimator, first; ``ood_r2`` keeps its meaning (least squares).
_GENERALIZATION = {
    ("ridge_r2_paper", "median"): "ood_r2_ridge",
    ("ridge_r2_paper", "ci_low"): "ood_r2_ridge_ci_low",
    ("ridge_r2_paper", "ci_high"): "ood_r2_ridge_ci_high",
    ("r2_paper", "median"): "ood_r2",
    ("r2_paper", "q25"): "ood_r2_q25",
    ("r2_paper", "q75"): "ood_r2_q75",
    ("r2_paper", "ci_low"): "ood_r2_ci_low",
    ("r2_paper", "ci_high"): "ood_r2_ci_high",
    ("adam_r2_paper", "median"): "ood_r2_adam",
    ("adam_r2_paper", "ci_low"): "ood_r2_adam_ci_low",
    ("adam_r2_paper", "ci_high"): "ood_r2_adam_ci_high",
    ("authors_r2_paper", "median"): "authors_eval_r2",
    ("id_r2_paper", "median"): "id_r2",
    **_control_columns("untrained_", "untrained"),
    ("ridge_gain_over_untrained", "median"): "gain_over_untrained_ridge",
    ("ridge_gain_over_untrained", "ci_low"): "gain_over_untrained_ridge_ci_low",
    ("ridge_gain_over_untrained", "ci_high"): "gain_over_untrained_ridge_ci_high",
    **_control_columns("encoder_", "encoder"),
    ("angle", "median"): "angle_deg",
    ("relative_accuracy", "mean"): "acc_vs_ideal",
}
#: The controls drawn in the figures: variable prefix, legend label, line style (see
#: :data:`neurodis.sweeps.jobs.CONTROLS`).
_CONTROLS = (
    ("untrained_", "untrained network", (0, (1, 1))),
    ("encoder_", "time-averaged encoder output", (0, (6, 1, 1, 1, 1, 1))),
)
#: The decoders of the controls' lines: variable prefix after the control's, label, colour
#: (the colours of :func:`~neurodis.plotting.plot_r2_vs_tasks`).
_CONTROL_DECODERS = (("ridge_", "ridge", "C1"), ("", "least squares", "C0"), ("adam_", "Adam", "C2"))
#: Paired differences the table pools like a variable: name -> (trained, control). The
#: controls are measured on the trained network's trials with its decoder fits, so the
#: difference is taken evaluation by evaluation, fold by fold.
_GAINS = {"ridge_gain_over_untrained": ("ridge_r2_paper", "untrained_ridge_r2_paper")}
#: Results measured before a variable existed: the variable read in its place.
_FALLBACK = {"relative_accuracy": "final_relative_accuracy"}

#: Diagnostic columns of the generalization job (``diagnostics.csv``).
_DIAGNOSTICS = {
    ("r2_paper", "repeat_sd"): "eval_sd",
    ("ridge_r2_paper", "repeat_sd"): "eval_sd_ridge",
    ("adam_r2_paper", "repeat_sd"): "eval_sd_adam",
    ("r2_paper_clamped", "median"): "ood_r2_clamped",
    ("ridge_r2_paper_clamped", "median"): "ood_r2_ridge_clamped",
    ("n_extrapolating", "median"): "n_extrapolating",
    ("ridge_at_grid_end", "mean"): "ridge_grid_end",
    ("relative_accuracy_se", "median"): "acc_vs_ideal_se",
}

#: Free-RT columns, per duration (the ceilings are added): ridge, the primary estimator,
#: first; ``ood_r2`` keeps its meaning (least squares); then the controls.
_FREE_RT = {
    ("ridge_r2_paper", "median"): "ood_r2_ridge",
    ("ridge_r2_paper", "ci_low"): "ood_r2_ridge_ci_low",
    ("ridge_r2_paper", "ci_high"): "ood_r2_ridge_ci_high",
    ("r2_paper", "median"): "ood_r2",
    ("r2_paper", "q25"): "ood_r2_q25",
    ("r2_paper", "q75"): "ood_r2_q75",
    ("adam_r2_paper", "median"): "ood_r2_adam",
    ("ridge_id_r2_paper", "median"): "id_r2_ridge",
    ("id_r2_paper", "median"): "id_r2",
    **_control_columns("untrained_", "untrained"),
    **_control_columns("encoder_", "encoder"),
}

#: Attractor columns: medians over seeds of per-network values (selections of a variable
#: are given as dicts).
_ATTRACTOR: dict[str, tuple[str, dict[str, Any]]] = {
    "n_points": ("n_points", {}),
    "n_exact": ("n_exact", {}),
    "n_slow": ("n_slow", {}),
    "n_two_slow_modes": ("n_two_slow_modes", {}),
    "amp1_q25": ("amplification_quartiles", {"leading_mode": 1, "quartile": 0.25}),
    "amp1_median": ("amplification_quartiles", {"leading_mode": 1, "quartile": 0.5}),
    "amp1_q75": ("amplification_quartiles", {"leading_mode": 1, "quartile": 0.75}),
    "amp2_median": ("amplification_quartiles", {"leading_mode": 2, "quartile": 0.5}),
    "amp3_median": ("amplification_quartiles", {"leading_mode": 3, "quartile": 0.5}),
    "pc1": ("explained_variance_ratio", {"component": 0}),
    "pc2": ("explained_variance_ratio", {"component": 1}),
    "participation_ratio": ("participation_ratio", {}),
    "sparseness": ("sparseness_median", {}),
    "fraction_active": ("fraction_active", {}),
}


def _columns(results: xr.Dataset, spec: Mapping[tuple[str, str], str]) -> xr.Dataset:
    """Every (variable, statistic) of ``spec`` over the ``seed``, ``fold`` and ``repeat`` dims;
    columns whose variable (or the dim their statistic needs) the results lack are left out."""
    columns = {}
    for (name, stat), column in spec.items():
        name = name if name in results else _FALLBACK.get(name, name)
        needed = _NEEDS.get(stat)
        if name not in results or (needed is not None and needed not in results[name].dims):
            continue
        values = results[name]
        dims = [d for d in _POOLED if d in values.dims]
        columns[column] = _STATISTICS[stat](values, dims)
    return xr.Dataset(columns)


def _ordered(table: xr.Dataset, columns: list[str]):
    """The table's columns in the given order (an empty frame when it has none)."""
    import pandas as pd

    if not table.data_vars:
        return pd.DataFrame()
    frame = table.to_dataframe()
    return frame[[c for c in columns if c in frame.columns]]


def generalization_table(results: xr.Dataset):
    """One row per swept condition: OOD r² of three decoders (medians with CIs) and friends.

    Every r² is a median over networks (``seed``) × folds × independent evaluations
    (``repeat``), with a 95 % bootstrap interval that resamples networks
    (:func:`~neurodis.analysis.pooled.pooled_bootstrap`; NaN with a single seed).

    Parameters
    ----------
    results : xarray.Dataset
        Collected results of the generalization job, with ``seed`` and ``fold`` dims
        (and ``repeat``; results stored before it have one evaluation).

    Returns
    -------
    pandas.DataFrame
        Indexed by the swept dims other than ``seed``; columns ``ood_r2_ridge`` (ridge
        decoders, penalty chosen on the training quadrants: the primary estimator) with
        ``_ci_low``/``_ci_high``; ``ood_r2`` (least squares) with ``ood_r2_q25``,
        ``ood_r2_q75`` (its IQR) and its interval; ``ood_r2_adam`` (the authors' Adam
        decoder) with its interval; ``authors_eval_r2`` (least squares under the
        authors' evaluation), ``id_r2``; the controls, measured on the same trials with
        the same decoders and pooled alike (:func:`~neurodis.sweeps.jobs.measure_controls`):
        ``untrained_r2_ridge`` with ``_ci_low``/``_ci_high``, ``untrained_r2`` (least
        squares), ``untrained_r2_adam``, ``untrained_id_r2`` of the untrained network
        (the run's architecture with its initial weights), ``gain_over_untrained_ridge``
        with its interval (the median of the paired difference trained − untrained of
        ridge r², evaluation by evaluation and fold by fold: below 0, training lost
        decodable information an untrained network keeps), and the ``encoder_*``
        columns (as ``untrained_*``) of the time-averaged encoder output (no
        recurrence); ``angle_deg``, ``acc_vs_ideal`` (mean over
        seeds of the accuracy relative to the ideal observer on fresh trials; for
        results stored before it, on the last training window's trials) and
        ``ceiling`` (the r² ceiling of the run's noise). Columns of variables the
        results lack (e.g. Adam or the controls in older results) are left out.
    """
    from neurodis.analysis import r2_ceiling

    gains = {name: results[trained] - results[control] for name, (trained, control) in _GAINS.items()
             if trained in results and control in results}
    table = _columns(results.assign(gains), _GENERALIZATION)
    table["ceiling"] = xr.apply_ufunc(
        np.vectorize(lambda s: r2_ceiling(float(s), int(results.attrs["n_steps"]))), _sigma(results)
    )
    return _ordered(table, [*_GENERALIZATION.values(), "ceiling"])


def generalization_diagnostics(results: xr.Dataset):
    """One row per swept condition: how stable and how extrapolated the OOD numbers are.

    Parameters
    ----------
    results : xarray.Dataset
        Collected results of the generalization job.

    Returns
    -------
    pandas.DataFrame
        Indexed like :func:`generalization_table`; columns ``eval_sd``,
        ``eval_sd_ridge``, ``eval_sd_adam`` (median over networks × folds of the
        standard deviation of r² between independent evaluations of one network; only
        with a ``repeat`` dim), ``ood_r2_clamped``, ``ood_r2_ridge_clamped`` (median r²
        with the units the decoder extrapolates on held at their training mean),
        ``n_extrapolating`` (median number of such units per fold), ``ridge_grid_end``
        (fraction of ridge penalties at an end of their grid) and ``acc_vs_ideal_se``
        (median standard error of the accuracy ratio). Columns of variables the results
        lack are left out (no columns at all for results stored before them).
    """
    return _ordered(_columns(results, _DIAGNOSTICS), list(_DIAGNOSTICS.values()))


def free_rt_table(results: xr.Dataset):
    """One row per swept condition and trial duration: OOD r² of three decoders against the ceilings.

    Every r² is a median over networks (``seed``) × folds × independent evaluations
    (``repeat``), as in :func:`generalization_table`.

    Parameters
    ----------
    results : xarray.Dataset
        Collected results of the free-RT job (:func:`~neurodis.sweeps.studies.measure_free_rt`),
        with ``seed``, ``fold`` and ``duration`` dims (and ``repeat``; results stored
        before it have one evaluation).

    Returns
    -------
    pandas.DataFrame
        Indexed by the swept dims other than ``seed``, then ``duration`` (T); columns
        ``ood_r2_ridge`` (ridge, penalty chosen on the training quadrants: the primary
        estimator) with ``_ci_low``/``_ci_high`` (95 % bootstrap interval resampling
        networks; NaN with a single seed), ``ood_r2`` (least squares) with
        ``ood_r2_q25``, ``ood_r2_q75``, ``ood_r2_adam`` (the authors' Adam decoder),
        ``id_r2_ridge``, ``id_r2`` (in distribution); the controls on the same trials
        with the same decoders (:func:`~neurodis.sweeps.studies.measure_free_rt_controls`):
        ``untrained_r2_ridge`` with its interval, ``untrained_r2``,
        ``untrained_r2_adam``, ``untrained_id_r2`` of the untrained network, and the
        ``encoder_*`` columns (as ``untrained_*``) of the evidence averaged over the
        ``T + 1`` steps read (no recurrence); ``ceiling`` (the paper's,
        ``1 - σ²/((T + 1) Var x)``) and ``bayes_ceiling`` (the posterior mean's r²,
        :func:`~neurodis.analysis.bayes_r2_ceiling`). Columns of variables the results
        lack (Adam or the controls in older results) are left out.
    """
    from neurodis.analysis import bayes_r2_ceiling, r2_ceiling

    table = _columns(results, _FREE_RT)
    sigma = _sigma(results)
    for name, ceiling in (("ceiling", r2_ceiling), ("bayes_ceiling", bayes_r2_ceiling)):
        table[name] = xr.apply_ufunc(
            np.vectorize(lambda s, t, f=ceiling: f(float(s), int(t), free_rt=True)), sigma, results["duration"]
        )
    frame = _ordered(table.drop_vars("n_samples", errors="ignore"), [*_FREE_RT.values(), "ceiling", "bayes_ceiling"])
    if frame.index.nlevels > 1:
        frame = frame.reorder_levels([*(n for n in frame.index.names if n != "duration"), "duration"])
    return frame.sort_index()


def attractor_table(results: xr.Dataset):
    """One row per swept condition: fixed points, spectra and geometry (medians over seeds).

    Parameters
    ----------
    results : xarray.Dataset
        Collected results of the attractor job (:func:`~neurodis.sweeps.studies.measure_attractor`).

    Returns
    -------
    pandas.DataFrame
        Indexed by the swept dims other than ``seed``; columns ``n_points``,
        ``n_exact``, ``n_slow``, ``n_two_slow_modes`` (the 2-D attractor signature),
        ``amp1_q25``/``amp1_median``/``amp1_q75`` (quartiles over points of the leading
        mode's amplification), ``amp2_median``, ``amp3_median``, ``pc1``, ``pc2``
        (explained variance ratios), ``participation_ratio``, ``sparseness`` (median
        lifetime sparseness), ``fraction_active``.
    """
    columns = {}
    for column, (name, where) in _ATTRACTOR.items():
        values = results[name].sel(where, drop=True)
        columns[column] = values.median("seed") if "seed" in values.dims else values
    return xr.Dataset(columns).to_dataframe()[list(_ATTRACTOR)]


def _pyplot(folder: Path):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    return plt


def generalization_figures(results: xr.Dataset, folder: Path) -> list[Path]:
    """``r2_vs_tasks.png`` and ``angle_vs_tasks.png`` when ``n_tasks`` is swept (else none),
    ``evaluation_spread.png`` (the spread of r² between evaluations of one network, per
    decoder) when every network was evaluated more than once, and ``r2_vs_dims.png`` (r²
    against D, a line per N) when ``n_dims`` is swept too.

    One panel per combination of the other swept dims (e.g. per network in ``fig3``;
    a panel of one σ of a sweep over σ draws that σ's ceiling). The controls the results
    hold are drawn beside the trained networks, as thin lines of their medians over
    seeds × folds × evaluations at each N: in ``r2_vs_tasks.png`` per decoder (the
    decoder's colour; dotted: the untrained network, dash-dotted: the time-averaged
    encoder output), in ``angle_vs_tasks.png`` the least-squares angle; the legend then
    goes below the panels.
    """
    plt = _pyplot(folder)
    from neurodis.plotting import plot_decoder_angle_vs_tasks, plot_r2_vs_tasks
    from neurodis.plotting.common import save_figure
    from neurodis.plotting.generalization import plot_evaluation_spread

    if "n_tasks" not in results.dims:
        return []
    conditions = _conditions(results, ("n_tasks", "seed", "fold", "repeat"))
    plots = [("r2_vs_tasks", plot_r2_vs_tasks), ("angle_vs_tasks", plot_decoder_angle_vs_tasks)]
    if results.sizes.get("repeat", 0) >= 2:
        plots.append(("evaluation_spread", plot_evaluation_spread))
    paths = []
    for name, plot in plots:
        figure, axes = plt.subplots(1, len(conditions), figsize=(4 * len(conditions), 3.2), sharey=True,
                                    squeeze=False)
        controls = False
        for k, (ax, (label, subset)) in enumerate(zip(axes[0], conditions)):
            plot(subset, ax=ax)
            if name != "evaluation_spread":
                controls = _draw_controls(ax, subset, "r2_paper" if name == "r2_vs_tasks" else "angle")
            ax.set_title(label, fontsize="small")
            if k:
                ax.set_ylabel("")
            # the legend once: on the first panel, or below the figure when the controls lengthen it
            if (k or controls) and ax.get_legend() is not None:
                ax.get_legend().remove()
        if name == "r2_vs_tasks":
            _r2_in_view(axes[0])
        if controls:
            figure.legend(*axes[0][0].get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                          ncol=2, frameon=False, fontsize="x-small")
        paths.append(save_figure(figure, folder / f"{name}.png"))
    if "n_dims" in results.dims:
        paths.append(_r2_vs_dims(results, folder / "r2_vs_dims.png"))
    return paths


def _r2_vs_dims(results: xr.Dataset, path: Path) -> Path:
    """OOD r² against the latent dimensionality D, a line per N (the paper's Fig. 5b), one
    panel per combination of the other swept dims: median and IQR over seeds × folds ×
    evaluations of the primary decoder (ridge, or least squares in results without it), the
    untrained network's median (grey, dotted) and the ceiling (dashed)."""
    import matplotlib.pyplot as plt

    from neurodis.analysis import r2_ceiling
    from neurodis.plotting.common import save_figure

    name = "ridge_r2_paper" if "ridge_r2_paper" in results else "r2_paper"
    decoder = "ridge" if name == "ridge_r2_paper" else "least squares"
    conditions = _conditions(results, ("n_dims", "n_tasks", "seed", "fold", "repeat"))
    figure, axes = plt.subplots(1, len(conditions), figsize=(4 * len(conditions), 3.2), sharey=True, squeeze=False)
    colours = plt.cm.viridis(np.linspace(0.0, 0.85, results.sizes["n_tasks"]))
    for k, (ax, (label, subset)) in enumerate(zip(axes[0], conditions)):
        d = subset["n_dims"].values
        for n, colour in zip(subset["n_tasks"].values, colours):
            values = subset[name].sel(n_tasks=n)
            pooled = [dim for dim in values.dims if dim != "n_dims"]
            q25, q50, q75 = (values.quantile(q, dim=pooled).transpose("n_dims").values for q in (0.25, 0.5, 0.75))
            ax.errorbar(d, q50, yerr=[q50 - q25, q75 - q50], color=colour, marker="o", capsize=2, label=f"N = {n}")
        untrained = f"untrained_{name}"
        if untrained in subset:
            values = subset[untrained]
            median = values.quantile(0.5, dim=[dim for dim in values.dims if dim != "n_dims"]).transpose("n_dims")
            ax.plot(d, median.values, color="0.5", linestyle=":", label=f"untrained network, {decoder}")
        sigma = float(_sigma(subset).values.ravel()[0])
        ax.axhline(r2_ceiling(sigma, int(results.attrs["n_steps"])), color="k", linestyle="--", linewidth=1,
                   label="ceiling")
        ax.set_title(label, fontsize="small")
        ax.set_xlabel("latent dimensionality D")
        ax.set_xticks(d)
        if not k:
            ax.set_ylabel(f"out-of-distribution r² ({decoder})")
            ax.legend(fontsize="x-small", frameon=False)
    return save_figure(figure, path)


def _r2_in_view(axes: Any) -> None:
    """Every r² line of the panels (sharing y) in view, the controls too, but one far below 0
    (a least-squares or Adam fit that extrapolates wildly, e.g. on an untrained network)
    does not squash the rest: the axis then stops at 0."""
    lowest = min(np.nanmin(np.asarray(line.get_ydata(), dtype=float)) for ax in axes for line in ax.get_lines())
    axes[0].set_ylim(max(0.0, lowest - 0.05), 1.0)


def _sigma(results: xr.Dataset) -> xr.DataArray:
    """The evidence noise σ: the swept coordinate, or the attribute of an unswept σ (0-d)."""
    return results["sigma"] if "sigma" in results.coords else xr.DataArray(results.attrs["sigma"])


def _draw_controls(ax: Any, results: xr.Dataset, variable: str, x: str = "n_tasks") -> bool:
    """The controls' medians against ``x`` (thin lines, no markers): per decoder for r²,
    least squares (the held-out angle's colour) for the angle. Whether any was drawn."""
    decoders = _CONTROL_DECODERS if variable == "r2_paper" else (("", "", "C0"),)
    drawn = False
    for control, control_label, style in _CONTROLS:
        for decoder, decoder_label, color in decoders:
            name = f"{control}{decoder}{variable}"
            if name not in results:
                continue
            values = results[name]
            median = values.quantile(0.5, dim=[d for d in values.dims if d != x]).transpose(x)
            label = f"{control_label}, {decoder_label}" if decoder_label else control_label
            ax.plot(results[x].values, median.values, linestyle=style, linewidth=1, color=color,
                    label=label)
            drawn = True
    return drawn


def _conditions(results: xr.Dataset, keep: tuple[str, ...]) -> list[tuple[str, xr.Dataset]]:
    """(label, subset) for every combination of the dims of ``results`` outside ``keep``."""
    extra = [d for d in results.dims if d not in keep]
    if not extra:
        return [("", results)]
    stacked = results.stack(_condition=extra)
    return [(", ".join(f"{d}={v}" for d, v in zip(extra, np.atleast_1d(key))), stacked.sel(_condition=key))
            for key in stacked["_condition"].values]


#: The decoders of the free-RT figure: variable prefix, legend label, style (ridge, the
#: primary estimator, solid; the colours of :func:`~neurodis.plotting.plot_r2_vs_tasks`).
_FREE_RT_DECODERS = (
    ("ridge_", "ridge, out of distribution", {"color": "C1", "linestyle": "-"}),
    ("", "least squares, out of distribution", {"color": "C0", "linestyle": "--"}),
    ("adam_", "Adam (authors' decoder), out of distribution", {"color": "C2", "linestyle": "-."}),
)


def free_rt_figures(results: xr.Dataset, folder: Path) -> list[Path]:
    """``r2_vs_duration.png``: OOD r² against T, one panel per condition, with the ceilings.

    Per decoder (ridge solid, least squares dashed, Adam dash-dotted) the median and
    IQR over seeds × folds × evaluations, the ridge decoders' in-distribution median
    (grey), the paper's ceiling and the Bayes ceiling (black), and the controls the
    results hold as thin lines of their medians, in the decoder's colour (dotted: the
    untrained network, dash-dotted: the time-averaged evidence), as in
    :func:`generalization_figures`; the legend goes below the panels.
    """
    from neurodis.analysis import bayes_r2_ceiling, r2_ceiling

    plt = _pyplot(folder)
    from neurodis.plotting.common import save_figure

    conditions = _conditions(results, ("seed", "fold", "repeat", "duration"))
    figure, axes = plt.subplots(1, len(conditions), figsize=(4.5 * len(conditions), 3.6), sharey=True,
                                squeeze=False)
    durations = results["duration"].values
    grid = np.arange(int(durations.min()), int(durations.max()) + 1)
    sigma = float(_sigma(results).values.ravel()[0])
    for k, (ax, (label, subset)) in enumerate(zip(axes[0], conditions)):
        for prefix, decoder, style in _FREE_RT_DECODERS:
            if f"{prefix}r2_paper" not in subset:
                continue
            values = subset[f"{prefix}r2_paper"].transpose("duration", ...)
            q25, median, q75 = np.nanpercentile(values.values.reshape(durations.size, -1), [25, 50, 75], axis=1)
            ax.errorbar(durations, median, yerr=np.stack([median - q25, q75 - median]), marker="o", capsize=2,
                        label=decoder, **style)
        reference, decoder = ("ridge_id_r2_paper", "ridge") if "ridge_id_r2_paper" in subset else ("id_r2_paper",
                                                                                                    "least squares")
        values = subset[reference]
        median = values.quantile(0.5, dim=[d for d in values.dims if d != "duration"]).transpose("duration")
        ax.plot(durations, median.values, color="C7", label=f"in distribution, {decoder}")
        _draw_controls(ax, subset, "r2_paper", x="duration")
        ax.plot(grid, [r2_ceiling(sigma, int(t), free_rt=True) for t in grid], color="k", lw=1,
                label="paper's ceiling 1 - 12σ²/(T+1)")
        ax.plot(grid, [bayes_r2_ceiling(sigma, int(t), free_rt=True) for t in grid], color="k", lw=1, ls=":",
                label="Bayes ceiling (posterior mean)")
        ax.set_xticks(durations)
        ax.set_xlabel("trial duration T (stimulus steps; T + 1 samples)")
        ax.set_title(label, fontsize="small")
        if not k:
            ax.set_ylabel("$r^2$ (paper convention)")
    _r2_in_view(axes[0])
    handles, labels = axes[0][0].get_legend_handles_labels()
    # the trained networks' decoders first (matplotlib lists error-bar series after plain lines)
    order = sorted(range(len(labels)), key=lambda i: not labels[i].endswith("out of distribution"))
    figure.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper center",
                  bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False, fontsize="x-small")
    return [save_figure(figure, folder / "r2_vs_duration.png")]


def attractor_figures(results: xr.Dataset, folder: Path) -> list[Path]:
    """Per condition, for its first seed: ``eigenvalues.png`` (μ of every fixed point),
    ``amplification.png`` and ``explained_variance.png`` (PCA of the trajectories)."""
    plt = _pyplot(folder)
    from neurodis.plotting import (
        plot_amplification,
        plot_eigenvalues,
        plot_explained_variance,
    )
    from neurodis.plotting.common import save_figure

    keep = ("seed", "fixed_point", "mode", "component", "leading_mode", "quartile")
    conditions = _conditions(results, keep)
    paths = []
    for name, plot in (("eigenvalues", plot_eigenvalues), ("amplification", plot_amplification),
                       ("explained_variance", plot_explained_variance)):
        figure, axes = plt.subplots(1, len(conditions), figsize=(4.2 * len(conditions), 4), squeeze=False)
        for ax, (label, subset) in zip(axes[0], conditions):
            network = subset.isel(seed=0) if "seed" in subset.dims else subset
            network = network.dropna("fixed_point", how="all", subset=["eigenvalues_real"])
            plot(network, ax=ax)
            seed = f"seed={int(subset['seed'][0])}" if "seed" in subset.dims else ""
            ax.set_title(", ".join(s for s in (label, seed, f"{network.sizes['fixed_point']} points") if s),
                         fontsize="small")
        figure.tight_layout()
        paths.append(save_figure(figure, folder / f"{name}.png"))
    return paths
