"""Split-half noise ceilings: the score a noise-free model would reach on this recording.

A recording with repeated trials is averaged over them before it is compared with a
model, and the trial noise left in the average caps every metric below its noise-free
value. The ceiling estimates that cap, the expected score of the true (noise-free)
representation against the trial-averaged recording, from the recording alone: its
trials are split into two random halves of ``⌊T/2⌋`` trials, the metric compares the
two half averages, and the half-data score is stepped up to all ``T`` trials by the
Spearman–Brown formula ``ρ = 2r / (1 + r)`` (classical test theory: halves are parallel
measurements whose error variance is twice that of the full average).

Conventions, by the scale of the metric's score (``scale``):

* ``"correlation"`` (RSA's rank correlation of RDMs): ``r`` is the half-vs-half score,
  ``ρ = SB(r)`` is the reliability of the full-data RDM, and the ceiling is ``√ρ``, the
  correlation of the noise-free RDM with the full-data RDM. (Many papers report ``ρ``
  itself as the ceiling; it is returned as ``reliability``.)
* ``"squared"`` (CKA, R²: squared correlations for one unit): ``r = √score`` of the
  halves, and the ceiling is ``ρ = SB(r)``, the noise-free score on the squared scale.
  It is exact for one unit; for several units it is close when the noise is isotropic
  (within 0.02 of the noise-free score in the package's tests) and approximate otherwise.
* ``"none"``: the half-vs-half score itself (any metric, e.g. a distance), uncorrected.

For ``ridge_predictivity`` the ceiling is that of each recorded unit,
:func:`~neurodis.analysis.similarity.split_half_reliability` (``SB`` of the split-half
correlation of the unit's trial average, the R² of a perfect model), averaged over units:
the denominator of ``ridge_predictivity``'s ``score_normalized``. For the other metrics
a negative half-vs-half correlation (no reproducible structure) gives a ceiling of 0.
Scores are averaged over ``n_splits`` random splits before the correction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_in, check_int, check_rng, describe, rng_provenance
from neurodis._version import __version__
from neurodis.analysis.similarity.predictivity import ridge_predictivity, split_half_reliability
from neurodis.trials import TRIAL, UNIT

__all__ = ["SPLIT_DIM", "noise_ceiling", "spearman_brown"]

#: Dim of the random half splits in every result.
SPLIT_DIM = "split"

SCALES = ("correlation", "squared", "none")

#: Scale of the score of each metric of the package that a ceiling makes sense for.
METRIC_SCALES = {"rsa": "correlation", "linear_cka": "squared", "debiased_cka": "squared",
                 "ridge_predictivity": "squared"}


def spearman_brown(r: Any, factor: float = 2.0) -> np.ndarray:
    """Reliability of a measurement ``factor`` times longer: ``k r / (1 + (k - 1) r)``.

    Correlations below 0 are taken as 0 (no reproducible signal).

    Examples
    --------
    >>> float(spearman_brown(0.5))
    0.6666666666666666
    """
    r = np.clip(np.asarray(r, dtype=np.float64), 0.0, 1.0)
    return factor * r / (1 + (factor - 1) * r)


def _is_ridge(metric: Any) -> bool:
    return getattr(metric, "func", metric) is ridge_predictivity  # also a functools.partial of it


def noise_ceiling(
    metric: Callable[..., xr.Dataset],
    y: xr.DataArray,
    *,
    trial_dim: str = TRIAL,
    n_splits: int = 20,
    scale: str | None = None,
    rng: Any = None,
    **metric_kwargs: Any,
) -> xr.Dataset:
    """Split-half noise ceiling of a metric on a recording with repeated trials.

    Parameters
    ----------
    metric : callable
        The metric the models are scored with: :func:`~neurodis.analysis.similarity.rsa`,
        :func:`~neurodis.analysis.similarity.linear_cka` (plain or ``debiased=True``),
        :func:`~neurodis.analysis.similarity.ridge_predictivity`, or any
        ``metric(x, y, *, null, rng, **metric_kwargs)`` returning a Dataset with a scalar
        ``score`` (then give ``scale``).
    y : xarray.DataArray
        Recording ``(*sample_dims, trial_dim, unit)``; models are compared with its
        average over ``trial_dim``.
    trial_dim : str
        The dim of repeated trials (at least 2).
    n_splits : int
        Random splits into two halves, averaged.
    scale : {"correlation", "squared", "none"}, optional
        Scale of the score (see the module docstring); default from the metric's name
        (``attrs["metric"]``) for the metrics of this package.
    rng : int, Generator, SeedSequence or None
        Source of the splits and of the metric's own randomness (one seed for every
        split).
    **metric_kwargs
        Passed to ``metric`` (the same parameters as for the models' scores; those of
        ``ridge_predictivity`` do not change its per-unit ceiling).

    Returns
    -------
    xarray.Dataset
        ``ceiling`` (the expected score of the noise-free representation against the
        trial average), ``reliability`` (Spearman–Brown-corrected, correlation scale),
        ``split_half`` (the mean half-vs-half score) and ``split_half_draws``
        (``split``); for ``ridge_predictivity`` ``ceiling``, ``reliability`` (equal, on
        the squared scale) and ``ceiling_unit`` (``unit``) instead. Attrs
        ``metric``, ``params``, ``scale``, ``n_splits``, ``n_trials``, ``trial_dim``,
        ``seed``, ``rng_state``, ``neurodis_version``.

    Raises
    ------
    TypeError
        If ``metric`` is not callable, ``y`` not a DataArray, or the metric returns no
        Dataset with a scalar ``score``.
    ValueError
        If ``y`` lacks ``trial_dim``, ``unit`` or a sample dim, has fewer than 2 trials,
        ``scale`` is unknown or not given for a metric without a known scale, or as the
        metric.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from neurodis.analysis.similarity import rsa
    >>> gen = np.random.default_rng(0)
    >>> signal = gen.normal(size=(12, 1, 5))
    >>> y = xr.DataArray(signal + 0.3 * gen.normal(size=(12, 10, 5)), dims=("condition", "trial", "unit"))
    >>> res = noise_ceiling(rsa, y, n_splits=5, rng=0)
    >>> bool(0.9 < res.ceiling <= 1), res.attrs["scale"]
    (True, 'correlation')
    """
    if not callable(metric):
        raise TypeError(f"metric must be a callable similarity metric; got {describe(metric)}")
    n_splits = check_int("n_splits", n_splits, minimum=1)
    if scale is not None:
        check_in("scale", scale, SCALES)
    if not isinstance(y, xr.DataArray):
        raise TypeError(f"y must be an xarray.DataArray with dims {trial_dim!r} and {UNIT!r}; got {describe(y)}")
    if trial_dim not in y.dims or UNIT not in y.dims or y.ndim < 3:
        raise ValueError(f"y must have dims {trial_dim!r}, {UNIT!r} and a sample dim; got {describe(y)}")
    n_trials = y.sizes[trial_dim]
    if n_trials < 2:
        raise ValueError(f"y must have at least 2 trials along {trial_dim!r} for a split-half ceiling; got {n_trials}")
    gen = check_rng(rng)
    provenance = rng_provenance(rng, gen)
    metric_seed, split_seed = np.random.SeedSequence(gen.integers(2**63, size=2)).spawn(2)
    attrs = {"n_splits": n_splits, "n_trials": n_trials, "trial_dim": trial_dim, **provenance,
             "neurodis_version": __version__}
    if _is_ridge(metric):
        return _ridge_ceiling(y, trial_dim, n_splits, split_seed, metric_kwargs, attrs)
    split_gen = np.random.default_rng(split_seed)
    half = n_trials // 2
    draws, name, params = np.empty(n_splits), None, "{}"
    for k in range(n_splits):
        perm = split_gen.permutation(n_trials)
        y_a = y.isel({trial_dim: perm[:half]}).mean(trial_dim)
        y_b = y.isel({trial_dim: perm[half : 2 * half]}).mean(trial_dim)
        result = metric(y_a, y_b, null=None, rng=metric_seed, **metric_kwargs)
        if not isinstance(result, xr.Dataset) or "score" not in result or result["score"].ndim:
            raise TypeError(f"metric must return a Dataset with a scalar 'score'; got {describe(result)}")
        draws[k] = float(result["score"])
        name, params = str(result.attrs.get("metric", getattr(metric, "__name__", ""))), result.attrs.get("params", "{}")
    if scale is None:
        if name not in METRIC_SCALES:
            raise ValueError(
                f"scale must be given for metric {name!r} (one of {list(SCALES)}); the known scales are {METRIC_SCALES}"
            )
        scale = METRIC_SCALES[name]
    split_half = float(np.mean(draws))
    r = split_half if scale != "squared" else float(np.sqrt(max(split_half, 0.0)))
    reliability = float(spearman_brown(r)) if scale != "none" else split_half
    ceiling = {"correlation": np.sqrt(reliability), "squared": reliability, "none": split_half}[scale]
    return xr.Dataset(
        {
            "ceiling": float(ceiling),
            "reliability": reliability,
            "split_half": split_half,
            "split_half_draws": ((SPLIT_DIM,), draws),
        },
        attrs={"metric": name, "params": params, "scale": scale, **attrs},
    )


def _ridge_ceiling(
    y: xr.DataArray, trial_dim: str, n_splits: int, seed: np.random.SeedSequence, metric_kwargs: dict, attrs: dict,
) -> xr.Dataset:
    unit = split_half_reliability(y, n_splits=n_splits, trial_dim=trial_dim, rng=seed).drop_attrs()
    ceiling = float(np.nanmean(unit))
    return xr.Dataset(
        # on the squared scale the reliability is the ceiling
        {"ceiling": ceiling, "reliability": ceiling, "ceiling_unit": unit},
        attrs={"metric": "ridge_predictivity", "params": json.dumps(metric_kwargs, sort_keys=True, default=str),
               "scale": "squared", **attrs},
    )
