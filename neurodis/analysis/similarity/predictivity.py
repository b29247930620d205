"""Cross-validated ridge predictivity (model → brain) with a split-half noise ceiling.

Each recorded unit is predicted as a linear function of the model's units
(Yamins et al. 2014; Schrimpf et al. 2018): ridge regression with the penalty chosen
per recorded unit by efficient leave-one-out cross-validation inside each training set
(scikit-learn's ``RidgeCV``), evaluated on held-out folds. Folds are formed over the
entries of one sample dim (``cv_dim``: trials, else conditions), so all time points of a
held-out condition are held out together and temporal autocorrelation does not leak.
The score of a unit is the out-of-fold coefficient of determination
``R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)²``; the summary is the mean over units.

When the recording has a ``trial`` dim the model lacks, trials are repeated
measurements: the model predicts the trial average, and the noise ceiling of each unit
is the Spearman–Brown-corrected split-half reliability of that average,
``ρ = 2r / (1 + r)`` with ``r`` the correlation between the means of two random halves
of the trials (averaged over ``n_splits`` splits). For a unit whose mean response has
signal variance ``v`` and trial noise variance ``σ²`` over ``T`` trials, ``ρ`` estimates
``v / (v + σ²/T)``, the R² of a perfect noise-free model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_array, check_int, check_rng, describe, rng_provenance
from neurodis.analysis.similarity._align import align_pair, stacked_values
from neurodis.analysis.similarity.nulls import score_with_null
from neurodis.trials import CONDITION, TRIAL, UNIT

__all__ = ["ridge_predictivity", "split_half_reliability"]

DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-3, 5, 17))
#: Model units whose training spread is below this fraction of the largest are left out of a fold.
_RELATIVE_SPREAD = 1e-6


def _cv_r2(x_sxn: np.ndarray, y_sxm: np.ndarray, fold_s: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Out-of-fold R² per column of ``y`` (NaN for constant columns)."""
    from sklearn.linear_model import RidgeCV

    pred_sxm = np.empty_like(y_sxm)
    for fold in np.unique(fold_s):
        test = fold_s == fold
        train_sxn = x_sxn[~test]
        mean, std = train_sxn.mean(axis=0), train_sxn.std(axis=0)
        # a unit (nearly) constant in training carries no information there; standardised by
        # its tiny spread it would blow up on a test fold where it is active (R² of -1e8 on
        # networks with units silent on all but a few training trials), so it is left out
        kept = std > _RELATIVE_SPREAD * std.max(initial=0.0)
        if not kept.any():
            pred_sxm[test] = y_sxm[~test].mean(axis=0)
            continue
        train_sxk = (train_sxn[:, kept] - mean[kept]) / std[kept]
        test_sxk = (x_sxn[test][:, kept] - mean[kept]) / std[kept]
        model = RidgeCV(alphas=alphas, alpha_per_target=True).fit(train_sxk, y_sxm[~test])
        pred_sxm[test] = model.predict(test_sxk).reshape(test.sum(), -1)
    total = np.sum((y_sxm - y_sxm.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - np.sum((y_sxm - pred_sxm) ** 2, axis=0) / total
    return np.where(total > 0, r2, np.nan)


def split_half_reliability(
    y: xr.DataArray, *, n_splits: int = 20, trial_dim: str = TRIAL, rng: Any = None
) -> xr.DataArray:
    """Spearman–Brown-corrected split-half reliability of each unit's trial average.

    Parameters
    ----------
    y : xarray.DataArray
        Recording with dims ``(*sample_dims, trial_dim, unit)`` in any order; at least 2
        trials and 2 samples.
    n_splits : int
        Random splits into two halves of ``⌊T/2⌋`` trials each, averaged.
    trial_dim : str
        The repeat dim.
    rng : int, Generator, SeedSequence or None
        Source of the random splits.

    Returns
    -------
    xarray.DataArray
        ``(unit,)`` reliability ``2r / (1 + r)`` (NaN for units constant across samples).

    Raises
    ------
    ValueError
        If ``y`` lacks ``trial_dim`` or ``unit``, has fewer than 2 trials or samples, or
        holds non-finite values.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.normal(size=(200, 1, 3))
    >>> y = xr.DataArray(signal + 0.5 * rng.normal(size=(200, 8, 3)), dims=("condition", "trial", "unit"))
    >>> bool(np.all(np.abs(split_half_reliability(y, rng=0) - 1 / (1 + 0.25 / 8)) < 0.03))
    True
    """
    n_splits = check_int("n_splits", n_splits, minimum=1)
    if not isinstance(y, xr.DataArray) or trial_dim not in y.dims or UNIT not in y.dims or y.ndim < 3:
        raise ValueError(
            f"y must be a DataArray with dims {trial_dim!r}, {UNIT!r} and a sample dim; got {describe(y)}"
        )
    sample_dims = [d for d in y.dims if d not in (trial_dim, UNIT)]
    values = check_array("y", y.transpose(trial_dim, *sample_dims, UNIT).values, dtype=np.float64)
    n_trials = values.shape[0]
    if n_trials < 2:
        raise ValueError(f"y must have at least 2 trials along {trial_dim!r} for a split-half ceiling; got {n_trials}")
    values = values.reshape(n_trials, -1, values.shape[-1])
    gen = check_rng(rng)
    half = n_trials // 2
    r = np.zeros(values.shape[-1])
    for _ in range(n_splits):
        perm = gen.permutation(n_trials)
        a = values[perm[:half]].mean(axis=0) - values[perm[:half]].mean(axis=(0, 1))
        b = values[perm[half : 2 * half]].mean(axis=0) - values[perm[half : 2 * half]].mean(axis=(0, 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            r += np.sum(a * b, axis=0) / np.sqrt(np.sum(a * a, axis=0) * np.sum(b * b, axis=0))
    r /= n_splits
    return xr.DataArray(2 * r / (1 + r), dims=(UNIT,), coords={UNIT: y[UNIT].values},
                        attrs={"n_splits": n_splits, "long_name": "split-half reliability (Spearman-Brown)"})


def _fold_labels(size: int, n_folds: int, gen: np.random.Generator) -> np.ndarray:
    labels = np.empty(size, dtype=np.int64)
    for fold, members in enumerate(np.array_split(gen.permutation(size), n_folds)):
        labels[members] = fold
    return labels


def ridge_predictivity(
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    n_folds: int = 5,
    cv_dim: str | None = None,
    n_splits: int = 20,
    null: str | Sequence[xr.DataArray] | None = "shuffle",
    n_shuffles: int = 100,
    shuffle_dim: str | None = None,
    rng: Any = None,
) -> xr.Dataset:
    """Cross-validated ridge prediction of each recorded unit from the model's units.

    Parameters
    ----------
    x : xarray.DataArray
        Model representation ``(*sample_dims, unit)``.
    y : xarray.DataArray
        Recording with the same sample dims, aligned; it may have an extra ``trial`` dim
        of repeats, which is averaged and gives the noise ceiling.
    alphas : sequence of float
        Ridge penalties tried (on z-scored model units), chosen per recorded unit.
    n_folds : int
        Cross-validation folds over the entries of ``cv_dim``.
    cv_dim : str, optional
        Sample dim whose entries are held out together (default ``trial``, else
        ``condition``, else the first sample dim).
    n_splits : int
        Random half splits for the noise ceiling.
    null : {"shuffle"}, sequence of DataArray or None
        Null distribution (see :func:`~neurodis.analysis.similarity.linear_cka`).
    n_shuffles, shuffle_dim, rng
        As in :func:`~neurodis.analysis.similarity.linear_cka`, except that the default
        shuffle dim is ``cv_dim``; ``rng`` also draws the
        folds (the same folds for the score and every null draw) and the half splits.

    Returns
    -------
    xarray.Dataset
        ``score`` (mean R² over units with variance), ``r2`` (``unit``), ``null``,
        ``p_value``; with repeats also ``ceiling`` and ``r2_normalized`` (``unit``) and
        ``score_normalized`` (mean R² / mean ceiling); provenance attrs.

    Raises
    ------
    ValueError
        If the arrays do not align or are constant, ``cv_dim`` is not a sample dim,
        ``n_folds`` exceeds its size, or ``alphas`` are not positive.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> x = xr.DataArray(rng.normal(size=(60, 4)), dims=("condition", "unit"))
    >>> y = xr.DataArray(x.values @ rng.normal(size=(4, 2)), dims=("condition", "unit"))
    >>> res = ridge_predictivity(x, y, null=None, rng=0)
    >>> bool(res.score > 0.99)
    True
    """
    alphas = check_array("alphas", alphas, ndim=1, dtype=np.float64)
    if alphas.size == 0 or np.any(alphas <= 0):
        raise ValueError(f"alphas must be a non-empty sequence of positive penalties; got {alphas.tolist()}")
    n_folds = check_int("n_folds", n_folds, minimum=2)
    gen = check_rng(rng)
    provenance = rng_provenance(rng, gen)
    repeats = isinstance(y, xr.DataArray) and isinstance(x, xr.DataArray) and TRIAL in y.dims and TRIAL not in x.dims
    y_target = y.mean(TRIAL, skipna=False) if repeats else y  # NaN must reach the check
    dims = align_pair(x, y_target)[2]
    if cv_dim is None:
        cv_dim = next((d for d in (TRIAL, CONDITION) if d in dims), dims[0])
    elif cv_dim not in dims:
        raise ValueError(f"cv_dim must be one of the sample dims {dims}; got {cv_dim!r}")
    if n_folds > x.sizes[cv_dim]:
        raise ValueError(f"n_folds must be <= the size of cv_dim {cv_dim!r} ({x.sizes[cv_dim]}); got {n_folds}")

    def score_fn(xa: xr.DataArray, ya: xr.DataArray, seed: np.random.SeedSequence) -> tuple[float, dict]:
        folds = _fold_labels(xa.sizes[cv_dim], n_folds, np.random.default_rng(seed))
        fold_s = np.broadcast_to(
            folds.reshape([-1 if d == cv_dim else 1 for d in dims]), [xa.sizes[d] for d in dims]
        ).ravel()
        r2 = _cv_r2(stacked_values(xa), stacked_values(ya), fold_s, alphas)
        score = float(np.nanmean(r2)) if np.any(np.isfinite(r2)) else float("nan")
        return score, {"r2": xr.DataArray(r2, dims=(UNIT,), coords={UNIT: ya[UNIT].values})}

    result = score_with_null(
        "ridge_predictivity", score_fn, x, y_target,
        params={"alphas": alphas.tolist(), "n_folds": n_folds, "cv_dim": cv_dim, "n_splits": n_splits,
                "repeats": bool(repeats)},
        higher_is_similar=True, null=null, n_shuffles=n_shuffles, shuffle_dim=shuffle_dim or cv_dim,
        rng=gen,
    )
    result.attrs.update(provenance)
    if repeats:
        ceiling = split_half_reliability(y, n_splits=n_splits, rng=gen.spawn(1)[0])
        result["ceiling"] = ceiling.drop_attrs()
        result["r2_normalized"] = result["r2"] / ceiling
        result["score_normalized"] = result["score"] / float(np.nanmean(ceiling))
    return result
