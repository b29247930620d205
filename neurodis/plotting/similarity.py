"""Figures for model–brain comparisons: RDMs, scores against their nulls, kernels.

Each function takes labelled data (the Datasets of
:mod:`neurodis.analysis.similarity` or DataArrays), an optional ``ax`` and returns the
figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from neurodis._validation import check_int, check_type, describe
from neurodis.plotting.common import figure_axes

__all__ = ["plot_kernels", "plot_null", "plot_rdms"]

PULSE = "pulse"
_MAX_TICK_LABELS = 24


def _rdm_list(rdms: Any) -> list[tuple[str, xr.DataArray]]:
    if isinstance(rdms, xr.Dataset):
        names = [v for v in ("rdm_x", "rdm_y") if v in rdms]
        if len(names) != 2:
            raise ValueError("rdms must hold the variables 'rdm_x' and 'rdm_y' (an rsa result); "
                             f"got {list(rdms.data_vars)}")
        return [(name, rdms[name]) for name in names]
    if isinstance(rdms, xr.DataArray) or not isinstance(rdms, Sequence) or len(rdms) == 0:
        raise TypeError("rdms must be an rsa result Dataset or a non-empty sequence of RDM DataArrays; "
                        f"got {describe(rdms)}")
    out = []
    for k, da in enumerate(rdms):
        check_type(f"rdms[{k}]", da, xr.DataArray, "an RDM DataArray")
        if da.ndim != 2 or da.shape[0] != da.shape[1]:
            raise ValueError(f"rdms[{k}] must be a square 2-D RDM; got {describe(da)}")
        out.append((f"rdm {k}", da))
    return out


def _tick_labels(da: xr.DataArray) -> list[str] | None:
    labels = [c for c in da.coords if c.endswith("_i") and da.coords[c].dims == (da.dims[0],)]
    if not labels or da.shape[0] > _MAX_TICK_LABELS:
        return None
    return ["/".join(str(da.coords[c].values[i]) for c in labels) for i in range(da.shape[0])]


def plot_rdms(
    rdms: xr.Dataset | Sequence[xr.DataArray], *, titles: Sequence[str] | None = None, ax: Any = None
) -> Figure:
    """Draw RDMs side by side, each with its own colour bar.

    Parameters
    ----------
    rdms : xarray.Dataset or sequence of DataArray
        An :func:`~neurodis.analysis.similarity.rsa` result (``rdm_x``, ``rdm_y``) or
        square RDMs (e.g. from :func:`~neurodis.analysis.similarity.rdm`).
    titles : sequence of str, optional
        One title per RDM.
    ax : sequence of matplotlib Axes, optional
        One axes per RDM; default a new figure with one row.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``rdms`` is neither a Dataset nor a sequence of DataArrays.
    ValueError
        If an RDM is not square, or the numbers of titles or axes do not match.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from neurodis.analysis.similarity import rsa
    >>> x = xr.DataArray(np.random.default_rng(0).normal(size=(5, 4)), dims=("condition", "unit"))
    >>> fig = plot_rdms(rsa(x, x ** 2, null=None), titles=["model", "brain"])
    >>> len(fig.axes)  # two RDMs and their colour bars
    4
    """
    items = _rdm_list(rdms)
    titles = [name for name, _ in items] if titles is None else list(titles)
    if len(titles) != len(items):
        raise ValueError(f"titles must have {len(items)} entries, one per RDM; got {len(titles)}")
    if ax is None:
        fig, axes = plt.subplots(1, len(items), figsize=(4.2 * len(items), 3.6), squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(ax) if isinstance(ax, Sequence) else [ax]
        if len(axes) != len(items):
            raise ValueError(f"ax must hold {len(items)} Axes, one per RDM; got {len(axes)}")
        for k, one in enumerate(axes):
            check_type(f"ax[{k}]", one, plt.Axes, "a matplotlib Axes")
        fig = axes[0].figure
    for one, title, (_, da) in zip(axes, titles, items):
        image = one.imshow(np.asarray(da.values, dtype=float), cmap="viridis", interpolation="nearest")
        fig.colorbar(image, ax=one, fraction=0.046, pad=0.04, label=da.attrs.get("distance", "dissimilarity"))
        labels = _tick_labels(da)
        if labels is not None:
            ticks = np.arange(len(labels))
            one.set_xticks(ticks, labels, rotation=90, fontsize="small")
            one.set_yticks(ticks, labels, fontsize="small")
        one.set_title(title)
    return fig


def plot_null(result: xr.Dataset, *, bins: int = 30, ax: Any = None) -> Figure:
    """Histogram of a metric's null distribution with the observed score marked.

    Parameters
    ----------
    result : xarray.Dataset
        A similarity result with ``score``, ``null`` and ``p_value``.
    bins : int
        Histogram bins.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``result`` lacks those variables or its null is empty.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from neurodis.analysis.similarity import linear_cka
    >>> x = xr.DataArray(np.random.default_rng(0).normal(size=(8, 3)), dims=("condition", "unit"))
    >>> fig = plot_null(linear_cka(x, x + 1, n_shuffles=20, rng=0))
    >>> fig.axes[0].get_xlabel()
    'linear_cka'
    """
    check_type("result", result, xr.Dataset, "a similarity result Dataset")
    missing = [v for v in ("score", "null", "p_value") if v not in result]
    if missing:
        raise ValueError(f"result must contain 'score', 'null' and 'p_value'; missing {missing}")
    bins = check_int("bins", bins, minimum=1)
    null = np.asarray(result["null"].values, dtype=float)
    null = null[np.isfinite(null)]
    if null.size == 0:
        raise ValueError("result['null'] must hold finite null draws to plot; it is empty (null=None?)")
    fig, ax = figure_axes(ax)
    ax.hist(null, bins=bins, color="0.7", label=f"null ({result.attrs.get('null', 'n/a')}, n={null.size})")
    score = float(result["score"])
    ax.axvline(score, color="C3", lw=2, label=f"observed = {score:.3g}")
    ax.set_xlabel(str(result.attrs.get("metric", "score")))
    ax.set_ylabel("count")
    ax.set_title(f"p = {float(result['p_value']):.3g}")
    ax.legend(fontsize="small")
    return fig


def plot_kernels(kernels: xr.DataArray, *, ax: Any = None) -> Figure:
    """Psychophysical kernels: choice weight of each pulse, one line per source.

    Parameters
    ----------
    kernels : xarray.DataArray
        Weights with a ``pulse`` dim, and optionally one more dim whose entries are
        drawn as separate lines (e.g. ``source = ["monkey", "network"]``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``kernels`` is not a DataArray.
    ValueError
        If it lacks a ``pulse`` dim or has more than one other dim.

    Examples
    --------
    >>> import xarray as xr
    >>> k = xr.DataArray([[0.08, 0.05, 0.04], [0.06, 0.06, 0.05]], dims=("source", "pulse"),
    ...                  coords={"source": ["monkey", "network"], "pulse": [1, 2, 3]})
    >>> [t.get_text() for t in plot_kernels(k).axes[0].get_legend().get_texts()]
    ['monkey', 'network']
    """
    check_type("kernels", kernels, xr.DataArray, "a DataArray with a 'pulse' dim")
    others = [d for d in kernels.dims if d != PULSE]
    if PULSE not in kernels.dims or len(others) > 1:
        raise ValueError(f"kernels must have a {PULSE!r} dim and at most one other dim; got {describe(kernels)}")
    fig, ax = figure_axes(ax)
    pulses = kernels[PULSE].values
    if others:
        for label in kernels[others[0]].values:
            ax.plot(pulses, kernels.sel({others[0]: label}).values, marker="o", label=str(label))
        ax.legend(title=others[0])
    else:
        ax.plot(pulses, kernels.values, marker="o")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xticks(pulses)
    ax.set_xlabel(PULSE)
    ax.set_ylabel(str(kernels.attrs.get("long_name", "choice weight (log-odds per unit pulse)")))
    return fig
