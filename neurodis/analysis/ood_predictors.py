"""Training-orthant statistics meant to predict a network's out-of-distribution r².

Every statistic here is computed, fold by fold, from the trials in that fold's
**training** orthants only (the fold sets of :func:`~neurodis.analysis.make_folds`, the
ones :func:`~neurodis.analysis.fit_ood_decoders` uses). None sees a held-out trial, so
each is a candidate *predictor* of the held-out score, unlike the diagnostics of
:mod:`neurodis.analysis.ood_diagnostics`, which read the held-out rates.

``n_silent``            units active (rate > ``threshold``) on fewer than a fraction
                        ``max_active_fraction`` of the training trials;
``{d}_variance_fraction`` fraction of the training variance of the rates that lies along
                        the weight directions of decoder ``d`` (``lstsq`` or ``ridge``,
                        the latter with its penalty chosen by leaving one training orthant
                        out), averaged over latents: low when the decoder reads directions
                        that barely vary in training;
``{d}_gain``            ``‖W‖_F · sqrt(tr C / units) / sqrt(latents)``: how far the decoded
                        latent moves (RMS over latents) when the rates move by one typical
                        unit standard deviation in a random direction;
``linear_r2``           fraction of the training variance of the rates explained by an
                        affine function of the latents (1 for a linear code without noise);
``quadratic_r2``        the same with every quadratic term of the latents added;
``curvature``           ``quadratic_r2 - linear_r2``: variance that is curved, not noisy;
``{d}_inner_r2_paper``  the OOD protocol nested inside the training orthants: each training
                        orthant in turn is held out, decoder ``d`` is fit on the others, and
                        the pooled error of the left-out trials is scored as ``1 - MSE/(1/12)``.

:func:`rank_association` then tests a predictor against held-out scores across networks:
Spearman's rank correlation with a permutation p-value, optionally within groups (e.g.
networks trained on the same number of tasks), so that a shared cause of both cannot make
the association.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import (
    check_finite,
    check_int,
    check_real,
    check_rng,
    check_samples,
    check_type,
    describe,
)
from neurodis.analysis import _decoder_kernels as kernels
from neurodis.analysis._folds import Fold, check_latents, fold_indices, make_folds, region_codes
from neurodis.analysis.theory import VAR_UNIFORM
from neurodis.latents import orthant_of
from neurodis.trials import LATENT, TRIAL, UNIT

__all__ = [
    "PREDICTOR_DECODERS",
    "RankAssociation",
    "count_silent_units",
    "decoder_variance",
    "inner_heldout_r2",
    "manifold_linearity",
    "ood_predictors",
    "rank_association",
]

#: Decoders whose weight directions and nested held-out score are measured.
PREDICTOR_DECODERS = ("lstsq", "ridge")


def _check_rates(rates: Any) -> xr.DataArray:
    check_type("rates", rates, xr.DataArray, "an xarray.DataArray with dims (trial, unit)")
    if set(rates.dims) != {TRIAL, UNIT}:
        raise ValueError(f"rates must have dims ('trial', 'unit'); got {describe(rates)}")
    rates = rates.transpose(TRIAL, UNIT).astype(np.float64)
    check_finite("rates", rates.values)
    check_samples("rates", rates.values, samples="trials")
    return rates


def _training_sets(rates: Any, latents: Any, folds: str) -> list[tuple[Fold, np.ndarray, np.ndarray]]:
    """Each fold with the rates ``x_nxu`` and latents ``y_nxd`` of its training trials."""
    rates = _check_rates(rates)
    latents = check_latents(latents, rates.sizes[TRIAL])
    x_nxu, y_nxd = rates.values, latents.values
    codes = orthant_of(y_nxd)
    sets = []
    for fold in make_folds(folds, latents.sizes[LATENT]):
        train, _ = fold_indices(codes, fold)
        if train.size < 2:
            raise ValueError(f"latents must put at least 2 trials in the training orthants of every fold; fold "
                             f"{fold.name!r} (orthants {list(fold.train)}) has {train.size}")
        if np.ptp(x_nxu[train], axis=0).max() == 0.0:
            raise ValueError(f"rates must vary across the training trials of every fold; fold {fold.name!r} has "
                             f"{train.size} training trials with rates that are all equal")
        sets.append((fold, x_nxu[train], y_nxd[train]))
    return sets


def _per_fold(sets: list[tuple[Fold, np.ndarray, np.ndarray]], values: dict[str, list[float]],
              attrs: dict[str, Any]) -> xr.Dataset:
    data = {name: ("fold", np.asarray(v)) for name, v in values.items()}
    return xr.Dataset(data, coords={"fold": [fold.name for fold, _, _ in sets]}, attrs=attrs)


def count_silent_units(
    rates: xr.DataArray,
    latents: xr.DataArray,
    *,
    folds: str = "quadrant",
    threshold: float = 1e-6,
    max_active_fraction: float = 0.01,
) -> xr.DataArray:
    """Units (nearly) silent in each fold's training orthants.

    A unit counts when it is active (rate > ``threshold``) on fewer than
    ``max_active_fraction`` of the fold's training trials: its decoder weight is then
    fit to a handful of trials, or is arbitrary.

    Parameters
    ----------
    rates : DataArray (trial, unit)
    latents : DataArray (trial, latent)
        The latents of the same trials; they assign each trial to its orthant.
    folds : {"quadrant", "orthant", "halfspace"}
        The fold set (see :func:`~neurodis.analysis.make_folds`).
    threshold : float
        Rate above which a unit is active (>= 0; ReLU units are exactly 0 when silent).
    max_active_fraction : float
        In [0, 1]; 0 counts only units never active in training.

    Returns
    -------
    DataArray (fold,)
        ``n_silent``, an integer count per fold.

    Raises
    ------
    TypeError, ValueError
        For inputs without the dims, mismatched trials, a fold without 2 varying
        training trials, or criteria out of range.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-0.5, 0.5, (400, 2))
    >>> q3 = np.maximum(-x[:, 0], 0) * np.maximum(-x[:, 1], 0)      # active in Q3 only
    >>> rates = xr.DataArray(np.c_[x + 1, q3, np.zeros(400)], dims=("trial", "unit"))
    >>> count_silent_units(rates, xr.DataArray(x, dims=("trial", "latent"))).values.tolist()
    [1, 1, 2, 1]
    """
    threshold = check_real("threshold", threshold, minimum=0.0)
    max_active_fraction = check_real("max_active_fraction", max_active_fraction, minimum=0.0, maximum=1.0)
    return _silent_units(_training_sets(rates, latents, folds), folds, threshold, max_active_fraction)


def _silent_units(sets: list[tuple[Fold, np.ndarray, np.ndarray]], folds: str, threshold: float,
                  max_active_fraction: float) -> xr.DataArray:
    counts = []
    for _, x_nxu, _ in sets:
        active_fraction_u = np.mean(x_nxu > threshold, axis=0)
        # "< fraction", except that a fraction of 0 means "never active"
        silent_u = active_fraction_u == 0 if max_active_fraction == 0 else active_fraction_u < max_active_fraction
        counts.append(int(silent_u.sum()))
    result = _per_fold(sets, {"n_silent": counts}, {"threshold": threshold,
                                                    "max_active_fraction": max_active_fraction, "folds": folds})
    return result["n_silent"].assign_attrs(result.attrs)


def _fit(method: str, x_nxu: np.ndarray, y_nxd: np.ndarray, folds: str) -> tuple[np.ndarray, np.ndarray]:
    """Decoder ``w_uxd, b_d`` (least squares, or ridge with the penalty chosen by leaving one region out)."""
    if method == "lstsq":
        w_bxuxd, b_bxd = kernels.fit_linear(x_nxu[None], y_nxd)
    else:
        w_bxuxd, b_bxd, _ = kernels.fit_ridge_cv(x_nxu[None], y_nxd, region_codes(y_nxd, folds))
    return w_bxuxd[0], b_bxd[0]


def decoder_variance(
    rates: xr.DataArray, latents: xr.DataArray, *, folds: str = "quadrant", method: str = "lstsq"
) -> xr.Dataset:
    """How much training variance the decoder reads, and how much it amplifies a displacement.

    The decoder (with bias) is fit on each fold's training trials. With ``C`` the
    covariance of the training rates and ``ŵ_d`` the unit vector of latent ``d``'s
    weights: ``variance_fraction = mean_d(ŵ_dᵀ C ŵ_d) / tr C`` and
    ``gain = ‖W‖_F · sqrt(tr C / units) / sqrt(latents)``.

    Parameters
    ----------
    rates : DataArray (trial, unit)
    latents : DataArray (trial, latent)
    folds : {"quadrant", "orthant", "halfspace"}
    method : {"lstsq", "ridge"}
        Least squares, or ridge with the penalty chosen by leaving one training orthant
        out (the protocol's ``method="ridge_cv"``; needs training trials in 2 orthants).

    Returns
    -------
    xarray.Dataset
        ``variance_fraction (fold)`` and ``gain (fold)``; attrs ``method``, ``folds``.

    Raises
    ------
    TypeError, ValueError
        For inputs without the dims, mismatched trials, a fold without 2 varying
        training trials, or an unknown ``method``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-0.5, 0.5, (400, 2))
    >>> rates = xr.DataArray(np.c_[x, 3 * rng.normal(size=400)], dims=("trial", "unit"))
    >>> bool((decoder_variance(rates, xr.DataArray(x, dims=("trial", "latent")))["variance_fraction"] < 0.02).all())
    True
    """
    if method not in PREDICTOR_DECODERS:
        raise ValueError(f"method must be one of {list(PREDICTOR_DECODERS)}; got {method!r}")
    return _decoder_variance(_training_sets(rates, latents, folds), folds, method)


def _decoder_variance(sets: list[tuple[Fold, np.ndarray, np.ndarray]], folds: str, method: str) -> xr.Dataset:
    fractions, gains = [], []
    for _, x_nxu, y_nxd in sets:
        w_uxd, _ = _fit(method, x_nxu, y_nxd, folds)
        c_uxu = np.cov(x_nxu, rowvar=False, bias=True).reshape(x_nxu.shape[1], x_nxu.shape[1])
        total = np.trace(c_uxu)
        norms_d = np.linalg.norm(w_uxd, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):  # a zero weight vector has no direction: NaN
            along_d = np.einsum("ud,uv,vd->d", w_uxd, c_uxu, w_uxd) / norms_d**2
        fractions.append(float(np.mean(along_d) / total))
        gains.append(float(np.linalg.norm(w_uxd) * math.sqrt(total / x_nxu.shape[1] / y_nxd.shape[1])))
    return _per_fold(sets, {"variance_fraction": fractions, "gain": gains}, {"method": method, "folds": folds})


def _quadratic_terms(y_nxd: np.ndarray) -> np.ndarray:
    rows, cols = np.triu_indices(y_nxd.shape[1])
    return y_nxd[:, rows] * y_nxd[:, cols]


def _explained(x_nxu: np.ndarray, design_nxp: np.ndarray) -> float:
    """Fraction of the total variance of ``x`` explained by least squares on ``[1, design]``."""
    design = np.c_[np.ones(len(design_nxp)), design_nxp]
    coef, *_ = np.linalg.lstsq(design, x_nxu, rcond=None)
    sse = np.sum((x_nxu - design @ coef) ** 2)
    return float(1.0 - sse / np.sum((x_nxu - x_nxu.mean(axis=0)) ** 2))


def manifold_linearity(rates: xr.DataArray, latents: xr.DataArray, *, folds: str = "quadrant") -> xr.Dataset:
    """How linear the map latents → rates is within each fold's training orthants.

    Every unit is regressed (least squares, with intercept) on the latents, and then on
    the latents and all their products ``x_i x_j`` (i <= j); each fit explains a
    fraction of the summed variance of all units (units weighted by their variance).
    Trial-to-trial noise lowers both fractions alike; curvature raises only the second.

    Parameters
    ----------
    rates : DataArray (trial, unit)
    latents : DataArray (trial, latent)
    folds : {"quadrant", "orthant", "halfspace"}

    Returns
    -------
    xarray.Dataset
        ``linear_r2 (fold)``, ``quadratic_r2 (fold)``, ``curvature (fold)`` (their
        difference); attrs ``folds``.

    Raises
    ------
    TypeError, ValueError
        For inputs without the dims, mismatched trials, or a fold without 2 varying
        training trials.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-0.5, 0.5, (400, 2))
    >>> bowl = xr.DataArray(np.c_[x, x[:, 0] ** 2 + x[:, 1] ** 2], dims=("trial", "unit"))
    >>> fit = manifold_linearity(bowl, xr.DataArray(x, dims=("trial", "latent")))
    >>> fit["quadratic_r2"].values.round(12).tolist(), bool((fit["linear_r2"] < 1).all())
    ([1.0, 1.0, 1.0, 1.0], True)
    """
    return _linearity(_training_sets(rates, latents, folds), folds)


def _linearity(sets: list[tuple[Fold, np.ndarray, np.ndarray]], folds: str) -> xr.Dataset:
    linear, quadratic = [], []
    for _, x_nxu, y_nxd in sets:
        linear.append(_explained(x_nxu, y_nxd))
        quadratic.append(_explained(x_nxu, np.c_[y_nxd, _quadratic_terms(y_nxd)]))
    curvature = np.subtract(quadratic, linear)
    return _per_fold(sets, {"linear_r2": linear, "quadratic_r2": quadratic, "curvature": curvature},
                     {"folds": folds})


def inner_heldout_r2(
    rates: xr.DataArray, latents: xr.DataArray, *, folds: str = "quadrant", method: str = "lstsq"
) -> xr.DataArray:
    """The OOD protocol nested inside each fold's training orthants.

    Each training orthant of a fold in turn is held out; the decoder is fit on the
    fold's other training orthants and predicts the left-out one. The squared errors of
    all left-out trials are pooled and scored as the paper's ``1 - MSE / (1/12)``.
    Orthants without trials are skipped.

    Parameters
    ----------
    rates : DataArray (trial, unit)
    latents : DataArray (trial, latent)
    folds : {"quadrant", "orthant", "halfspace"}
    method : {"lstsq", "ridge"}
        As in :func:`decoder_variance`. The ridge penalty is chosen inside each nested
        fit by leaving one of *its* training orthants out, so ridge needs a fold with
        training trials in at least 3 orthants; with fewer its score is NaN.

    Returns
    -------
    DataArray (fold,)
        ``inner_r2_paper``; attrs ``method``, ``folds``.

    Raises
    ------
    TypeError, ValueError
        For inputs without the dims, mismatched trials, a fold without 2 varying
        training trials, or an unknown ``method``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-0.5, 0.5, (400, 2))
    >>> rates = xr.DataArray(x @ rng.normal(size=(2, 5)), dims=("trial", "unit"))
    >>> inner_heldout_r2(rates, xr.DataArray(x, dims=("trial", "latent"))).values.round(9).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    if method not in PREDICTOR_DECODERS:
        raise ValueError(f"method must be one of {list(PREDICTOR_DECODERS)}; got {method!r}")
    return _inner_heldout_r2(_training_sets(rates, latents, folds), folds, method)


def _inner_heldout_r2(sets: list[tuple[Fold, np.ndarray, np.ndarray]], folds: str, method: str) -> xr.DataArray:
    scores = []
    for _, x_nxu, y_nxd in sets:
        codes = region_codes(y_nxd, folds)  # under quadrant folds, the training quadrants of x_0, x_1 (any D)
        present = np.unique(codes)
        if present.size < (3 if method == "ridge" else 2):
            scores.append(np.nan)
            continue
        sse, count = 0.0, 0
        for code in present:
            out = codes == code
            w_uxd, b_d = _fit(method, x_nxu[~out], y_nxd[~out], folds)
            sse += float(np.sum((x_nxu[out] @ w_uxd + b_d - y_nxd[out]) ** 2))
            count += int(out.sum()) * y_nxd.shape[1]
        scores.append(1.0 - sse / count / VAR_UNIFORM)
    result = _per_fold(sets, {"inner_r2_paper": scores}, {"method": method, "folds": folds})
    return result["inner_r2_paper"].assign_attrs(result.attrs)


def ood_predictors(
    rates: xr.DataArray,
    latents: xr.DataArray,
    *,
    folds: str = "quadrant",
    threshold: float = 1e-6,
    max_active_fraction: float = 0.01,
) -> xr.Dataset:
    """Every training-orthant predictor of this module, per fold (see the module docstring).

    Parameters
    ----------
    rates : DataArray (trial, unit)
    latents : DataArray (trial, latent)
    folds : {"quadrant", "orthant", "halfspace"}
    threshold, max_active_fraction
        As in :func:`count_silent_units`.

    Returns
    -------
    xarray.Dataset
        Per ``fold``: ``n_train``, ``n_silent``, ``linear_r2``, ``quadratic_r2``,
        ``curvature``, and for each decoder ``d`` in :data:`PREDICTOR_DECODERS`:
        ``{d}_variance_fraction``, ``{d}_gain``, ``{d}_inner_r2_paper``. attrs: the
        criteria, ``folds``, the neurodis version.

    Raises
    ------
    TypeError, ValueError
        As the functions it calls.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-0.5, 0.5, (400, 2))
    >>> rates = xr.DataArray(np.maximum(x @ rng.normal(size=(2, 6)), 0), dims=("trial", "unit"))
    >>> table = ood_predictors(rates, xr.DataArray(x, dims=("trial", "latent")))
    >>> table["n_train"].values.sum() == 3 * 400, sorted(table.data_vars)[:3]
    (np.True_, ['curvature', 'linear_r2', 'lstsq_gain'])
    """
    from neurodis._version import __version__

    threshold = check_real("threshold", threshold, minimum=0.0)
    max_active_fraction = check_real("max_active_fraction", max_active_fraction, minimum=0.0, maximum=1.0)
    sets = _training_sets(rates, latents, folds)  # checked and split once for every predictor
    silent = _silent_units(sets, folds, threshold, max_active_fraction)
    result = _linearity(sets, folds)
    result["n_train"] = ("fold", np.array([len(x_nxu) for _, x_nxu, _ in sets]))
    result["n_silent"] = silent
    for method in PREDICTOR_DECODERS:
        variance = _decoder_variance(sets, folds, method)
        result[f"{method}_variance_fraction"] = variance["variance_fraction"]
        result[f"{method}_gain"] = variance["gain"]
        result[f"{method}_inner_r2_paper"] = _inner_heldout_r2(sets, folds, method)
    for name in result.data_vars:
        result[name].attrs = {}
    result.attrs = {**silent.attrs, "neurodis_version": __version__,
                    "decoders": "lstsq: least squares; ridge: penalty chosen by leaving one training orthant out"}
    return result


@dataclass(frozen=True)
class RankAssociation:
    """A rank correlation and its permutation test (from :func:`rank_association`).

    Attributes
    ----------
    rho : float
        Spearman's rank correlation (pooled within groups when groups were given).
    p_value : float
        Two-sided permutation p-value.
    n : int
        Number of pairs.
    n_groups : int
        Number of groups the pairings were permuted within (1: all together).
    exact : bool
        Whether every permutation was enumerated (else ``n_resamples`` random ones).
    """

    rho: float
    p_value: float
    n: int
    n_groups: int
    exact: bool


def _within_group_ranks(values: np.ndarray, group_index: np.ndarray, n_groups: int) -> np.ndarray:
    """Ranks (last axis) within each group, centred on the group's mean rank (ties averaged)."""
    from scipy.stats import rankdata

    ranks = np.empty(values.shape, dtype=np.float64)
    for g in range(n_groups):
        members = group_index == g
        r = rankdata(values[..., members], axis=-1)
        ranks[..., members] = r - r.mean(axis=-1, keepdims=True)
    return ranks


def _correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation along the last axis of already centred arrays."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(a * b, axis=-1) / np.sqrt(np.sum(a * a, axis=-1) * np.sum(b * b, axis=-1))


def _check_pairs(predictor: Any, outcome: Any, groups: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    arrays = []
    for name, value in (("predictor", predictor), ("outcome", outcome)):
        array = np.asarray(value)
        if array.dtype.kind not in "iuf" or array.ndim != 1:
            raise TypeError(f"{name} must be a 1-D array of real numbers; got {describe(value)}")
        arrays.append(check_finite(name, array.astype(np.float64)))
    x, y = arrays
    if x.size != y.size:
        raise ValueError(f"outcome must have as many values as predictor ({x.size}); got {y.size}")
    labels = np.zeros(x.size, dtype=int) if groups is None else np.asarray(groups)
    if labels.shape != x.shape:
        raise ValueError(f"groups must have one label per pair, shape {x.shape}; got {describe(groups)}")
    names, group_index = np.unique(labels, return_inverse=True)
    sizes = np.bincount(group_index)
    if sizes.min() < 2:
        raise ValueError(f"every group must hold at least 2 pairs; got group {names[sizes.argmin()].item()!r} with "
                         f"{sizes.min()}")
    return x, y, group_index, names.size


def rank_association(
    predictor: Any, outcome: Any, *, groups: Any = None, n_resamples: int = 9999, rng: Any = None
) -> RankAssociation:
    """Spearman's rank correlation of a predictor with an outcome, with a permutation p-value.

    Without ``groups`` this is :func:`scipy.stats.spearmanr` tested by
    :func:`scipy.stats.permutation_test` (pairings permuted). With ``groups`` (e.g. the
    number of tasks of each network) the ranks are taken within each group and centred
    there, the statistic is the correlation of these centred ranks (a pooled
    within-group Spearman), and the outcome is permuted within groups only: an
    association that the grouping variable alone produces is not counted. The p-value
    follows scipy's conventions: exact when the permutations number at most
    ``n_resamples``, else ``(1 + #{null at least as extreme}) / (1 + n_resamples)`` per
    side, and two-sided as twice the smaller side, at most 1.

    Parameters
    ----------
    predictor, outcome : array-like (pair,)
        Real values, one per network (or per network and fold).
    groups : array-like (pair,), optional
        A label per pair; every group needs at least 2 pairs.
    n_resamples : int
        Random permutations (>= 1) when not exact.
    rng : int, Generator, SeedSequence or None
        Randomness of the permutations.

    Returns
    -------
    RankAssociation

    Raises
    ------
    TypeError
        If ``predictor`` or ``outcome`` is not a 1-D real array.
    ValueError
        For non-finite values, unequal lengths, ``groups`` of the wrong shape, a group
        with fewer than 2 pairs, or a bad ``n_resamples``.

    Examples
    --------
    >>> result = rank_association([1, 2, 3, 4, 5], [2.0, 1.0, 4.0, 3.0, 5.0], rng=0)
    >>> round(result.rho, 3), round(result.p_value, 3), result.exact
    (0.8, 0.133, True)
    >>> rank_association([1, 2, 3, 4], [1, 2, 4, 3], groups=["a", "a", "b", "b"]).rho
    0.0
    """
    x, y, group_index, n_groups = _check_pairs(predictor, outcome, groups)
    n_resamples = check_int("n_resamples", n_resamples, minimum=1)
    generator = check_rng(rng)
    rx = _within_group_ranks(x, group_index, n_groups)
    ry = _within_group_ranks(y, group_index, n_groups)
    rho = float(_correlation(rx, ry))
    sizes = np.bincount(group_index)
    n_permutations = math.prod(math.factorial(int(s)) for s in sizes)
    exact = n_permutations <= n_resamples
    if n_groups == 1:
        from scipy.stats import permutation_test

        test = permutation_test((ry,), lambda r, axis=-1: _correlation(rx, r), permutation_type="pairings",
                                vectorized=True, n_resamples=n_resamples, rng=generator)
        return RankAssociation(rho, float(test.pvalue), int(x.size), 1, exact)
    if exact:
        null = _correlation(rx, _all_within_group(ry, group_index, n_groups))
    else:
        permuted = np.broadcast_to(ry, (n_resamples, ry.size)).copy()
        for g in range(n_groups):
            members = np.flatnonzero(group_index == g)
            permuted[:, members] = generator.permuted(permuted[:, members], axis=1)
        null = _correlation(rx, permuted)
    # scipy's tolerance: values within 100 eps (relative) of the observed one count as ties
    gamma = abs(100 * np.finfo(np.float64).eps * rho)
    extra = 0 if exact else 1
    greater = (np.sum(null >= rho - gamma) + extra) / (null.size + extra)
    less = (np.sum(null <= rho + gamma) + extra) / (null.size + extra)
    return RankAssociation(rho, float(min(1.0, 2 * min(greater, less))), int(x.size), n_groups, exact)


def _all_within_group(values: np.ndarray, group_index: np.ndarray, n_groups: int) -> np.ndarray:
    """Every arrangement of ``values`` permuted within groups, one per row."""
    members = [np.flatnonzero(group_index == g) for g in range(n_groups)]
    rows = []
    for orders in itertools.product(*(itertools.permutations(m) for m in members)):
        row = values.copy()
        for m, order in zip(members, orders, strict=True):
            row[m] = values[list(order)]
        rows.append(row)
    return np.array(rows)
