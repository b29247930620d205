"""Figures of population geometry and of fixed-point spectra.

Each function takes labelled data (the Datasets of :mod:`neurodis.analysis.geometry`
or a fixed-point Dataset), an optional ``ax`` and returns the figure.

Fixed-point Datasets have dims (fixed_point, mode) and hold the eigenvalues μ of the
Jacobian of the one-step (discrete) map, either as a complex ``eigenvalues`` variable
(in memory) or as ``eigenvalues_real`` and ``eigenvalues_imag`` (netCDF has no complex
type), plus ``amplification`` and ``attrs["alpha"]`` = dt/τ, with which the eigenvalues
of the continuous-time vector field are λ = (μ - 1)/α.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from neurodis._validation import check_dims, check_in, check_int, check_real, check_type, describe
from neurodis.plotting.common import figure_axes
from neurodis.trials import FIXED_POINT, MODE, TIME, UNIT

__all__ = [
    "plot_amplification",
    "plot_eigenvalues",
    "plot_explained_variance",
    "plot_pc_trajectories",
    "plot_tuning_maps",
]

COMPONENT = "component"


def _variable(name: str, ds: Any, variable: str, dims: tuple[str, ...]) -> xr.DataArray:
    check_type(name, ds, xr.Dataset, "an xarray.Dataset")
    if variable not in ds:
        raise ValueError(f"{name} must contain the variable {variable!r}; got {list(ds.data_vars)}")
    return check_dims(f"{name}[{variable!r}]", ds[variable], dims, exact=False)


def plot_pc_trajectories(
    result: xr.Dataset,
    *,
    color_by: str | None = "quadrant",
    fixed_points: xr.DataArray | None = None,
    components: Sequence[int] = (0, 1, 2),
    ax: Any = None,
) -> Figure:
    """Trajectories in the space of three principal components, coloured by a label.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`neurodis.analysis.pca` whose ``projections`` have a ``time``
        dim; every other sample dim indexes trajectories.
    color_by : str or None
        Coord on the trajectory dims giving each trajectory's colour group (one colour
        and legend entry per value), or None for one colour.
    fixed_points : xarray.DataArray, optional
        Points to overlay: dims (fixed_point, unit) (projected with the PCA's mean and
        components) or (fixed_point, component) (already projected).
    components : three ints
        Components on the x, y and z axes.
    ax : matplotlib 3-D Axes, optional
        Axes to draw on (``projection="3d"``).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``result`` is not a Dataset or ``ax`` not an Axes.
    ValueError
        If variables, dims or the colour coord are missing, the components are out of
        range, or ``ax`` is not 3-D.
    """
    from mpl_toolkits.mplot3d.art3d import Line3DCollection

    projections = _variable("result", result, "projections", (TIME, COMPONENT))
    picked = [
        check_int("components", c, minimum=0, maximum=projections.sizes[COMPONENT] - 1) for c in components
    ]
    if len(picked) != 3:
        raise ValueError(f"components must name 3 components; got {list(components)}")
    fig, ax = figure_axes(ax, projection="3d")
    if getattr(ax, "name", "") != "3d":
        raise ValueError(f"ax must be a 3-D Axes (projection='3d'); got a {ax.name!r} Axes")
    others = [d for d in projections.dims if d not in (TIME, COMPONENT)]
    stacked = (
        projections.isel({COMPONENT: picked})
        .stack(trajectory=others)
        .transpose("trajectory", TIME, COMPONENT)
    )
    if color_by is None:
        groups = np.zeros(stacked.sizes["trajectory"], dtype=int)
    elif color_by not in stacked.coords:
        raise ValueError(
            f"color_by must be a coord of the projections' trajectory dims {others}; got {color_by!r}"
        )
    else:
        groups = stacked[color_by].values
    colours = plt.get_cmap("tab10")
    for i, group in enumerate(np.unique(groups)):
        segments = stacked.values[groups == group]
        label = None if color_by is None else f"{color_by} {group}"
        ax.add_collection3d(Line3DCollection(segments, colors=colours(i % 10), linewidths=0.8, label=label))
    if fixed_points is not None:
        points = _project(fixed_points, result)[:, picked]
        ax.scatter(
            points[:, 0], points[:, 1], points[:, 2], color="black", marker="x", s=30, label="fixed points"
        )
    values = stacked.values.reshape(-1, 3)
    limits = zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), values.min(0), values.max(0), strict=True)
    for setter, low, high in limits:
        setter(low, high if high > low else low + 1.0)
    ax.set_xlabel(f"PC{picked[0] + 1}")
    ax.set_ylabel(f"PC{picked[1] + 1}")
    ax.set_zlabel(f"PC{picked[2] + 1}")
    if color_by is not None or fixed_points is not None:
        ax.legend(fontsize="small")
    return fig


def _project(fixed_points: Any, result: xr.Dataset) -> np.ndarray:
    """Fixed points in component coordinates, shape (fixed_point, component)."""
    check_type("fixed_points", fixed_points, xr.DataArray, "an xarray.DataArray")
    if set(fixed_points.dims) == {FIXED_POINT, COMPONENT}:
        return fixed_points.transpose(FIXED_POINT, COMPONENT).values
    if set(fixed_points.dims) != {FIXED_POINT, UNIT}:
        raise ValueError(
            "fixed_points must have dims (fixed_point, unit) or (fixed_point, component); "
            f"got {describe(fixed_points)}"
        )
    points = fixed_points.transpose(FIXED_POINT, UNIT).values
    if points.shape[1] != result.sizes[UNIT]:
        raise ValueError(
            f"fixed_points must have {result.sizes[UNIT]} units like the PCA; got {points.shape[1]}"
        )
    return (points - result["mean"].values) @ result["components"].values.T


def plot_explained_variance(result: xr.Dataset, *, cumulative: bool = True, ax: Any = None) -> Figure:
    """Bar plot of the explained variance ratio per component, with its cumulative sum.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`neurodis.analysis.pca`.
    cumulative : bool
        Also draw the cumulative ratio as a line.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``result`` is not a Dataset.
    ValueError
        If it has no ``explained_variance_ratio``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from neurodis.analysis import pca
    >>> rates = xr.DataArray(np.random.default_rng(0).normal(size=(20, 4)), dims=("trial", "unit"))
    >>> fig = plot_explained_variance(pca(rates, sample_dims=("trial",)))
    >>> len(fig.axes[0].patches)
    4
    """
    ratio = _variable("result", result, "explained_variance_ratio", (COMPONENT,))
    fig, ax = figure_axes(ax)
    number = np.arange(1, ratio.size + 1)
    ax.bar(number, ratio.values, color="tab:blue", label="per component")
    if cumulative:
        ax.plot(number, np.cumsum(ratio.values), color="black", marker="o", ms=3, label="cumulative")
        ax.legend(fontsize="small")
    ax.set_xlabel("principal component")
    ax.set_ylabel("fraction of variance explained")
    ax.set_ylim(0, 1.02)
    return fig


def plot_tuning_maps(
    tuning: xr.Dataset | xr.DataArray, *, units: Sequence[Any] | None = None, ncols: int = 4, ax: Any = None
) -> Figure:
    """Grid of tuning maps, one panel per unit.

    Parameters
    ----------
    tuning : xarray.Dataset or DataArray
        Output of :func:`neurodis.analysis.tuning_maps` (its ``tuning`` variable, dims
        (unit, <f0>_bin, <f1>_bin)); with a Dataset, titles show the correlations.
    units : sequence, optional
        Unit labels to draw (default: the first 16).
    ncols : int
        Panels per row when the axes are created here.
    ax : sequence of matplotlib Axes, optional
        One Axes per unit.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``tuning`` is neither a Dataset nor a DataArray.
    ValueError
        If the dims are wrong or ``ax`` holds fewer Axes than units.
    """
    maps = tuning["tuning"] if isinstance(tuning, xr.Dataset) else tuning
    check_type("tuning", maps, xr.DataArray, "an xarray.Dataset or DataArray from tuning_maps")
    if maps.ndim != 3 or maps.dims[0] != UNIT:
        raise ValueError(f"tuning must have dims (unit, <factor>_bin, <factor>_bin); got {describe(maps)}")
    ncols = check_int("ncols", ncols, minimum=1)
    maps = maps.isel({UNIT: slice(16)}) if units is None else maps.sel({UNIT: list(units)})
    n = maps.sizes[UNIT]
    if ax is None:
        nrows = -(-n // ncols)
        fig, grid = plt.subplots(
            nrows, min(n, ncols), figsize=(2.2 * min(n, ncols), 2.0 * nrows), squeeze=False
        )
        axes = list(grid.ravel())
        for extra in axes[n:]:
            extra.set_visible(False)
    else:
        axes = list(np.ravel(ax))
        if len(axes) < n:
            raise ValueError(f"ax must hold at least {n} Axes, one per unit; got {len(axes)}")
        fig = axes[0].figure
    dim0, dim1 = maps.dims[1:]
    c0, c1 = maps[dim0].values, maps[dim1].values
    extent = [c1[0], c1[-1], c0[0], c0[-1]] if c0.size > 1 and c1.size > 1 else None
    for axis, unit in zip(axes[:n], maps[UNIT].values, strict=True):
        image = axis.imshow(
            maps.sel({UNIT: unit}).values, origin="lower", aspect="auto", extent=extent, cmap="viridis"
        )
        title = f"unit {unit}"
        if isinstance(tuning, xr.Dataset) and "correlation" in tuning:
            r = tuning["correlation"].sel({UNIT: unit}).values
            title += "\nr=" + ", ".join(f"{v:.2f}" for v in r)
        axis.set_title(title, fontsize="small")
        axis.set_xlabel(dim1.removesuffix("_bin"))
        axis.set_ylabel(dim0.removesuffix("_bin"))
        fig.colorbar(image, ax=axis, shrink=0.8)
    return fig


def _eigenvalues(fixed_points: xr.Dataset) -> xr.DataArray:
    """Complex eigenvalues μ (fixed_point, mode) of a fixed-point Dataset.

    Reads the complex ``eigenvalues`` variable or the ``eigenvalues_real`` /
    ``eigenvalues_imag`` pair stored in netCDF.

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset({"eigenvalues_real": (("fixed_point", "mode"), [[0.5, 0.5]]),
    ...                  "eigenvalues_imag": (("fixed_point", "mode"), [[0.1, -0.1]])})
    >>> _eigenvalues(ds).values
    array([[0.5+0.1j, 0.5-0.1j]])
    """
    check_type("fixed_points", fixed_points, xr.Dataset, "an xarray.Dataset with dims (fixed_point, mode)")
    if "eigenvalues" in fixed_points:
        values = fixed_points["eigenvalues"].astype(complex)
    elif {"eigenvalues_real", "eigenvalues_imag"} <= set(fixed_points.data_vars):
        values = fixed_points["eigenvalues_real"] + 1j * fixed_points["eigenvalues_imag"]
    else:
        raise ValueError(
            "fixed_points must contain 'eigenvalues' (complex) or 'eigenvalues_real' and 'eigenvalues_imag'; "
            f"got {list(fixed_points.data_vars)}"
        )
    return check_dims("fixed_points eigenvalues", values, (FIXED_POINT, MODE))


def plot_eigenvalues(
    fixed_points: xr.Dataset, *, kind: str = "discrete", alpha: float | None = None, ax: Any = None
) -> Figure:
    """Eigenvalues of every fixed point in the complex plane, with the stability region.

    ``kind="discrete"`` draws μ of the one-step map and the unit circle (stable inside);
    ``kind="continuous"`` draws λ = (μ - 1)/α of the vector field and the line Re λ = 0
    (stable to its left). Stable modes are blue, unstable ones red.

    Parameters
    ----------
    fixed_points : xarray.Dataset
        Dims (fixed_point, mode) with the eigenvalues (see the module docstring).
    kind : {"discrete", "continuous"}
    alpha : float, optional
        dt/τ for ``kind="continuous"`` (default ``fixed_points.attrs["alpha"]``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``fixed_points`` is not a Dataset.
    ValueError
        If the eigenvalues are missing or have other dims, ``kind`` is unknown, or α is
        needed and unavailable.

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset({"eigenvalues": (("fixed_point", "mode"), [[0.9 + 0.2j, 0.9 - 0.2j, 1.1]])})
    >>> fig = plot_eigenvalues(ds)
    >>> len(fig.axes[0].collections[0].get_offsets())
    3
    """
    check_in("kind", kind, ("discrete", "continuous"))
    mu = _eigenvalues(fixed_points).values.ravel()
    fig, ax = figure_axes(ax)
    if kind == "discrete":
        values, stable = mu, np.abs(mu) < 1
        angle = np.linspace(0, 2 * np.pi, 361)
        ax.plot(np.cos(angle), np.sin(angle), color="grey", lw=1, label="|μ| = 1")
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("Re μ")
        ax.set_ylabel("Im μ")
    else:
        if alpha is None and "alpha" not in fixed_points.attrs:
            raise ValueError(
                "alpha must be given for kind='continuous' when fixed_points.attrs has no 'alpha'; got None"
            )
        alpha = check_real(
            "alpha", fixed_points.attrs["alpha"] if alpha is None else alpha, minimum=0.0, strict_minimum=True
        )
        values = (mu - 1.0) / alpha
        stable = values.real < 0
        ax.axvline(0.0, color="grey", lw=1, label="Re λ = 0")
        ax.set_xlabel("Re λ")
        ax.set_ylabel("Im λ")
    ax.scatter(values.real, values.imag, c=np.where(stable, "tab:blue", "tab:red"), s=10)
    ax.legend(fontsize="small")
    return fig


def plot_amplification(
    fixed_points: xr.Dataset, *, bins: int = 30, log: bool = True, ax: Any = None
) -> Figure:
    """Histogram of the time-scale amplification factors of every mode and fixed point.

    Non-finite factors (|μ| = 1 exactly), and zeros on a log axis, cannot be binned;
    their count is shown in the title.

    Parameters
    ----------
    fixed_points : xarray.Dataset
        With ``amplification`` (fixed_point, mode).
    bins : int
        Number of bins.
    log : bool
        Logarithmic bins and x axis.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``fixed_points`` is not a Dataset.
    ValueError
        If ``amplification`` is missing or has other dims, or ``bins`` < 1.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"amplification": (("fixed_point", "mode"), [[1.0, 10.0, np.inf]])})
    >>> fig = plot_amplification(ds, bins=4)
    >>> fig.axes[0].get_title()
    '2 modes (1 not shown)'
    """
    amplification = _variable(
        "fixed_points", fixed_points, "amplification", (FIXED_POINT, MODE)
    ).values.ravel()
    bins = check_int("bins", bins, minimum=1)
    fig, ax = figure_axes(ax)
    finite = amplification[np.isfinite(amplification) & (amplification > 0 if log else True)]
    if log and finite.size:
        low, high = np.log10(finite.min()), np.log10(finite.max())
        edges = np.logspace(low, high if high > low else low + 1.0, bins + 1)
        edges[0] = finite.min()  # 10**log10(x) may round past x and drop the extremes
        edges[-1] = max(finite.max(), edges[-1])
        ax.set_xscale("log")
    else:
        edges = bins
    ax.hist(finite, bins=edges, color="tab:blue")
    hidden = amplification.size - finite.size
    ax.set_title(f"{finite.size} modes" + (f" ({hidden} not shown)" if hidden else ""))
    ax.set_xlabel("amplification A = τ_net / τ")
    ax.set_ylabel("modes")
    return fig
