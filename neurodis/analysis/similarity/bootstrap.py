"""Bootstrap confidence intervals for similarity scores, over a chosen resampling unit.

A confidence interval is only as good as its resampling unit: the entries that were
drawn independently and that a new experiment would draw again. Two cases:

* **Scores already computed per unit** — one score per session, per network seed, or
  per (seed, session) — are resampled by :func:`bootstrap_scores`, which reduces them
  with a statistic (default the mean) and is cheap, so it offers BCa as well as
  percentile intervals. Several dims are resampled independently (a crossed bootstrap
  of seeds and sessions), which counts their interaction twice and errs wide
  (McCullagh 2000).
* **One score from one dataset**, resampled over its conditions or trials, is recomputed
  on every resample by :func:`bootstrap_metric`, which takes the metric itself
  (:func:`~neurodis.analysis.similarity.linear_cka`,
  :func:`~neurodis.analysis.similarity.rsa`, ...) as the statistic.

Resampling with replacement repeats entries. Metrics that treat samples as independent
rows (CKA, shape metrics, CCA) take a repeat as a doubled weight. RSA would compare a
repeated item with its own copy, a zero distance in both RDMs that inflates the rank
correlation; RSA items are therefore resampled on the RDMs, leaving out the pairs of
copies (as rsatoolbox does). A cross-validated metric would put copies of one sample in
its training and test folds, so resampling its ``cv_dim`` is refused.

Intervals (Efron & Tibshirani 1993): ``"percentile"`` takes the ``(1 ± confidence) / 2``
quantiles of the bootstrap draws; ``"basic"`` reflects them about the observed score
(``2·score - q``); ``"bca"`` shifts their levels by the bias ``z0`` (the normal quantile
of the share of draws below the observed score) and the acceleration ``a`` (from the
skewness of the leave-one-out jackknife values). The percentile interval suits unbiased
statistics such as the mean of per-session scores. A score computed on trial averages
(RSA, CKA, R²) is attenuated by trial noise, and a resample of the trials, whose
averages carry that noise once more, is attenuated again: its percentile interval sits
below the observed score. The bias-correcting ``"basic"`` and ``"bca"`` intervals
target the score of the noise-free means instead, which is why :func:`bootstrap_metric`
uses BCa by default.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import (
    NeurodisWarning,
    check_in,
    check_int,
    check_probability,
    check_rng,
    check_type,
    describe,
    rng_provenance,
)
from neurodis._version import __version__

__all__ = ["BOOTSTRAP_DIM", "bootstrap_metric", "bootstrap_scores", "confidence_interval"]

#: Dim of the bootstrap draws in every result.
BOOTSTRAP_DIM = "bootstrap_draw"

METHODS = ("percentile", "basic", "bca")

#: Resampled values held at once by :func:`bootstrap_scores` (float64 entries, 64 MiB).
_CHUNK_ENTRIES = 2**23


def confidence_interval(
    draws: Any, observed: Any = None, jackknife: Any = None, *, confidence: float = 0.95,
    method: str = "percentile",
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile, basic or BCa interval from bootstrap draws (plain arrays).

    Parameters
    ----------
    draws : array-like
        ``(draw, ...)`` bootstrap values; non-finite draws are ignored.
    observed : array-like, optional
        ``(...)`` the score on the full data (needed for ``"basic"`` and ``"bca"``).
    jackknife : array-like, optional
        ``(leave_one_out, ...)`` scores with each resampling unit left out once (for
        ``"bca"``).
    confidence : float
        Coverage in (0, 1).
    method : {"percentile", "basic", "bca"}
        Interval type (see the module docstring).

    Returns
    -------
    low, high : ndarray
        ``(...)`` bounds; NaN where fewer than 2 draws are finite, or (BCa) where every
        finite draw lies on one side of the observed score.

    Raises
    ------
    ValueError
        For an unknown ``method``, a ``confidence`` outside (0, 1), ``"basic"`` without
        ``observed`` or ``"bca"`` without ``observed`` and ``jackknife``.

    Examples
    --------
    >>> low, high = confidence_interval(np.arange(101.0), confidence=0.9)
    >>> float(low), float(high)
    (5.0, 95.0)
    """
    check_in("method", method, METHODS)
    confidence = check_probability("confidence", confidence, open_interval=True)
    draws = np.asarray(draws, dtype=np.float64)
    rest = draws.shape[1:]
    draws_bxk = draws.reshape(draws.shape[0], -1)
    tails = np.array([(1 - confidence) / 2, (1 + confidence) / 2])
    if method != "percentile":
        if observed is None or (method == "bca" and jackknife is None):
            needs = "observed" if method == "basic" else "observed and jackknife"
            raise ValueError(f"method={method!r} needs {needs} values; got None")
        observed_k = np.broadcast_to(np.asarray(observed, dtype=np.float64), rest).reshape(-1)
    if method == "bca":
        jack = np.asarray(jackknife, dtype=np.float64)
        jack_jxk = jack.reshape(jack.shape[0], -1)
    low, high = np.full(draws_bxk.shape[1], np.nan), np.full(draws_bxk.shape[1], np.nan)
    for k in range(draws_bxk.shape[1]):
        finite = draws_bxk[np.isfinite(draws_bxk[:, k]), k]
        if finite.size < 2:
            continue
        probs = _bca_levels(finite, observed_k[k], jack_jxk[:, k], tails) if method == "bca" else tails
        if np.all(np.isfinite(probs)):
            low[k], high[k] = np.quantile(finite, probs)
        if method == "basic":  # the draws' spread about the observed score, reflected
            low[k], high[k] = 2 * observed_k[k] - high[k], 2 * observed_k[k] - low[k]
    return low.reshape(rest), high.reshape(rest)


def _bca_levels(draws: np.ndarray, observed: float, jack: np.ndarray, tails: np.ndarray) -> np.ndarray:
    """Quantile levels of the BCa interval (Efron 1987); NaN when z0 is infinite."""
    from scipy import stats

    below = (np.sum(draws < observed) + 0.5 * np.sum(draws == observed)) / draws.size
    if not 0 < below < 1:
        return np.full(2, np.nan)
    z0 = stats.norm.ppf(below)
    jack = jack[np.isfinite(jack)]
    diff = jack.mean() - jack if jack.size else np.zeros(1)
    spread = np.sum(diff**2)
    accel = np.sum(diff**3) / (6 * spread**1.5) if spread > 0 else 0.0
    z = stats.norm.ppf(tails)
    return stats.norm.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z)))


def _check_options(n_resamples: Any, confidence: Any, method: Any) -> tuple[int, float]:
    check_in("method", method, METHODS)
    return (check_int("n_resamples", n_resamples, minimum=2),
            check_probability("confidence", confidence, open_interval=True))


def _statistic_name(statistic: Callable) -> str:
    return str(getattr(statistic, "__name__", repr(statistic)))


def _reduce(statistic: Callable, values: np.ndarray, want: tuple[int, ...]) -> np.ndarray:
    """``statistic(values, axis=-1)`` as float64, checked to have shape ``want``."""
    out = np.asarray(statistic(values, axis=-1), dtype=np.float64)
    if out.shape != want:
        raise ValueError(
            f"statistic must reduce the last axis like numpy.mean(values, axis=-1); "
            f"got shape {out.shape} from values of shape {values.shape}"
        )
    return out


def bootstrap_scores(
    scores: xr.DataArray,
    dim: str | Sequence[str],
    *,
    statistic: Callable[..., Any] = np.mean,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    method: str = "percentile",
    rng: Any = None,
) -> xr.Dataset:
    """Bootstrap interval of a statistic of per-unit scores (sessions, seeds, ...).

    Parameters
    ----------
    scores : xarray.DataArray
        Finite scores with the resampled dim(s), e.g. ``(session,)``, ``(seed, session)``
        or ``(family, seed, session)``; other dims are kept and share the draws, so
        families scored on the same sessions are resampled in pairs.
    dim : str or sequence of str
        Dim(s) whose entries are the independent units; several are resampled
        independently of each other (a crossed bootstrap).
    statistic : callable
        ``statistic(values, axis=-1)``, a reduction like :func:`numpy.mean` or
        :func:`numpy.median`, applied to the resampled entries (of all resampled dims,
        flattened into the last axis).
    n_resamples : int
        Bootstrap draws.
    confidence : float
        Coverage of the interval, in (0, 1).
    method : {"percentile", "basic", "bca"}
        Interval type (see the module docstring); ``"bca"`` needs a single resampled dim
        (the jackknife leaves out one of its entries at a time).
    rng : int, Generator, SeedSequence or None
        Source of the resamples.

    Returns
    -------
    xarray.Dataset
        ``score`` (the statistic of all entries), ``ci_low``, ``ci_high``, ``se`` (the
        standard deviation of the draws) over the kept dims, and ``bootstrap``
        (``bootstrap_draw``, kept dims); attrs ``statistic``, ``resampled_dims``,
        ``n_entries``, ``n_resamples``, ``confidence``, ``method``, ``seed``,
        ``rng_state``, ``neurodis_version``.

    Raises
    ------
    TypeError
        If ``scores`` is not a DataArray or ``statistic`` is not callable.
    ValueError
        If ``dim`` names no dim of ``scores`` (or one twice), a resampled dim has fewer
        than 2 entries, scores are not finite, ``method="bca"`` with several dims, the
        statistic does not reduce the last axis, or an option is out of range.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> per_session = xr.DataArray(np.linspace(0.1, 0.3, 11), dims=("session",))
    >>> res = bootstrap_scores(per_session, "session", n_resamples=500, rng=0)
    >>> round(float(res.score), 3), bool(res.ci_low < 0.2 < res.ci_high)
    (0.2, True)
    """
    check_type("scores", scores, xr.DataArray, "an xarray.DataArray of per-unit scores")
    dims = _check_dims("dim", dim, scores)
    if not callable(statistic):
        raise TypeError(f"statistic must be callable like numpy.mean; got {describe(statistic)}")
    n_resamples, confidence = _check_options(n_resamples, confidence, method)
    if method == "bca" and len(dims) > 1:
        raise ValueError(f"method='bca' needs a single resampled dim; got dim={dims}")
    values = np.asarray(scores.values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"scores must be finite; got {int(np.sum(~np.isfinite(values)))} non-finite values")
    kept = [d for d in scores.dims if d not in dims]
    sizes = [scores.sizes[d] for d in dims]
    values_kxn = scores.transpose(*kept, *dims).values.astype(np.float64).reshape(-1, *sizes)
    n_kept = values_kxn.shape[0]
    gen = check_rng(rng)
    provenance = rng_provenance(rng, gen)
    observed_k = _reduce(statistic, values_kxn.reshape(n_kept, -1), (n_kept,))
    draws_bxk = np.empty((n_resamples, n_kept))
    chunk = max(1, _CHUNK_ENTRIES // max(1, values_kxn.size))
    for start in range(0, n_resamples, chunk):
        n_b = min(chunk, n_resamples - start)
        # one index array per dim, broadcast against each other: (b, n_0, 1, ...), (b, 1, n_1, ...)
        index = tuple(
            gen.integers(n, size=(n_b, n)).reshape(n_b, *[n if j == i else 1 for j in range(len(sizes))])
            for i, n in enumerate(sizes)
        )
        resampled = values_kxn[(slice(None), *index)].reshape(n_kept, n_b, -1)
        draws_bxk[start : start + n_b] = _reduce(statistic, resampled, (n_kept, n_b)).T
    jack_jxk = None
    if method == "bca":
        leave_out = np.array([np.delete(np.arange(sizes[0]), i) for i in range(sizes[0])])
        jack_jxk = _reduce(statistic, values_kxn[:, leave_out], (n_kept, sizes[0])).T
    low, high = confidence_interval(draws_bxk, observed_k, jack_jxk, confidence=confidence, method=method)
    along = [c for c in scores.coords if set(scores[c].dims) & set(dims)]
    template = scores.drop_vars(along).isel({d: 0 for d in dims}, drop=True).transpose(*kept)
    shape = template.shape

    def kept_var(values_k: np.ndarray) -> xr.DataArray:
        return template.copy(data=values_k.reshape(shape)).drop_attrs()

    return xr.Dataset(
        {
            "score": kept_var(observed_k),
            "ci_low": kept_var(low),
            "ci_high": kept_var(high),
            "se": kept_var(np.std(draws_bxk, axis=0, ddof=1)),
            "bootstrap": xr.DataArray(
                draws_bxk.reshape(n_resamples, *shape), dims=(BOOTSTRAP_DIM, *kept),
                coords={c: v for c, v in template.coords.items()},
            ),
        },
        attrs={
            "statistic": _statistic_name(statistic),
            "resampled_dims": json.dumps(list(dims)),
            "n_entries": json.dumps(dict(zip(dims, sizes))),
            "n_resamples": n_resamples,
            "confidence": confidence,
            "method": method,
            **provenance,
            "neurodis_version": __version__,
        },
    )


def _check_dims(name: str, dim: Any, da: xr.DataArray) -> tuple[str, ...]:
    dims = (dim,) if isinstance(dim, str) else tuple(dim) if isinstance(dim, Sequence) else None
    if not dims or len(set(dims)) != len(dims) or any(d not in da.dims for d in dims):
        raise ValueError(f"{name} must name one or more distinct dims of {tuple(da.dims)}; got {dim!r}")
    short = [d for d in dims if da.sizes[d] < 2]
    if short:
        raise ValueError(f"{name} {short[0]!r} must have at least 2 entries to resample; got {da.sizes[short[0]]}")
    return dims


def _resample(da: xr.DataArray, dim: str, index: np.ndarray, within: str | None) -> xr.DataArray:
    """``da`` with entries ``index`` along ``dim`` (``(within, dim)`` positions when stratified)."""
    if dim not in da.dims:
        return da
    if within is None:
        return da.isel({dim: index})
    return da.isel({dim: xr.DataArray(index, dims=(within, dim))}).transpose(*da.dims)


def bootstrap_metric(
    metric: Callable[..., xr.Dataset],
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    dim: str,
    within: str | None = None,
    n_resamples: int = 200,
    confidence: float = 0.95,
    method: str = "bca",
    rng: Any = None,
    **metric_kwargs: Any,
) -> xr.Dataset:
    """Bootstrap interval of a similarity metric, resampling conditions or trials.

    Parameters
    ----------
    metric : callable
        A similarity metric of this package (``linear_cka``, ``rsa``,
        ``ridge_predictivity``, ``shape_distance``, ...) or any callable
        ``metric(x, y, *, null, rng, **metric_kwargs)`` returning a Dataset with a scalar
        ``score``. It is called with ``null=None`` and one seed, the same for the observed
        score and every draw (so cross-validation folds do not change between draws).
    x, y : xarray.DataArray
        The two representations, as the metric takes them.
    dim : str
        The resampled dim; its entries are drawn with replacement, the same entries in
        every array that has the dim (paired), and arrays without it are kept whole
        (e.g. a model without the recording's ``trial`` repeats).
    within : str, optional
        Resample ``dim`` independently within each entry of this dim (e.g. trials within
        each condition); default: one draw of ``dim`` shared by all entries.
    n_resamples : int
        Bootstrap draws.
    confidence : float
        Coverage of the interval, in (0, 1).
    method : {"percentile", "basic", "bca"}
        Interval type (see the module docstring); ``"bca"`` costs one more metric call
        per entry of ``dim`` (the jackknife leaves out one entry of ``dim``, in every
        entry of ``within`` at once).
    rng : int, Generator, SeedSequence or None
        Source of the resamples and of the metric's own randomness.
    **metric_kwargs
        Passed to ``metric``.

    Returns
    -------
    xarray.Dataset
        ``score`` (on the full data), ``ci_low``, ``ci_high``, ``se`` and ``bootstrap``
        (``bootstrap_draw``); attrs ``metric`` and ``params`` (the metric's), ``resampled_dims``,
        ``within``, ``resampling`` (``"recompute"``, or ``"rdm_items"`` for RSA items),
        ``n_entries``, ``n_degenerate`` (draws the metric refused, e.g. a resample with
        one distinct condition, left out of the interval), ``share_below`` (share of the
        draws below the observed score, ≈ 0.5 without resampling bias), ``n_resamples``,
        ``confidence``, ``method``, ``seed``, ``rng_state``, ``neurodis_version``.

    Raises
    ------
    TypeError
        If ``metric`` is not callable or returns no Dataset with a ``score``.
    ValueError
        If ``dim`` or ``within`` is not a dim of the arrays, ``dim`` is the metric's
        cross-validation dim, RSA items are resampled ``within`` another dim or their
        labels along ``dim`` repeat, an option is out of range, or as the metric.

    Warns
    -----
    NeurodisWarning
        When some draws were degenerate (the metric raised ``ValueError`` on them), or
        fewer than 2.5 % or more than 97.5 % of the draws lie below the observed score
        (BCa's bias correction then breaks down).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from neurodis.analysis.similarity import linear_cka
    >>> gen = np.random.default_rng(0)
    >>> x = xr.DataArray(gen.normal(size=(30, 4)), dims=("condition", "unit"))
    >>> y = x + 0.5 * gen.normal(size=(30, 4))
    >>> res = bootstrap_metric(linear_cka, x, y, dim="condition", n_resamples=100, rng=0)
    >>> bool(res.ci_low < res.score < res.ci_high), res.attrs["resampling"]
    (True, 'recompute')
    """
    if not callable(metric):
        raise TypeError(f"metric must be a callable similarity metric; got {describe(metric)}")
    n_resamples, confidence = _check_options(n_resamples, confidence, method)
    gen = check_rng(rng)
    provenance = rng_provenance(rng, gen)
    metric_seed, resample_seed = np.random.SeedSequence(gen.integers(2**63, size=2)).spawn(2)
    observed = _call(metric, x, y, metric_seed, metric_kwargs)  # the metric checks x and y first
    with_dim = [a for a in (x, y) if dim in getattr(a, "dims", ())]
    if not with_dim:
        raise ValueError(f"dim must be a dim of x or y; got {dim!r} for {describe(x)} and {describe(y)}")
    n = with_dim[0].sizes[dim]
    if n < 2:
        raise ValueError(f"dim {dim!r} must have at least 2 entries to resample; got {n}")
    if within is not None and (within == dim or any(within not in a.dims for a in with_dim)):
        raise ValueError(f"within must be another dim of every array that has {dim!r}; got {within!r}")
    params = json.loads(observed.attrs.get("params", "{}"))
    if params.get("cv_dim") == dim:
        raise ValueError(
            f"dim must not be the metric's cross-validation dim {dim!r}: resampled copies of one entry would "
            f"land in its training and test folds; resample another dim or bootstrap per-unit scores"
        )
    draw_gen = np.random.default_rng(resample_seed)
    items = _rsa_items(observed, dim, n, within)
    if items is not None:
        draws, jack = _rdm_item_draws(observed, items, n, n_resamples, method, draw_gen, params)
        kind = "rdm_items"
    else:
        shape = (n,) if within is None else (with_dim[0].sizes[within], n)
        draws = np.empty(n_resamples)
        for b in range(n_resamples):
            index = draw_gen.integers(n, size=shape)
            draws[b] = _try_score(metric, _resample(x, dim, index, within), _resample(y, dim, index, within),
                                  metric_seed, metric_kwargs)
        jack = None
        if method == "bca":
            jack = np.array([
                _try_score(metric, _resample(x, dim, keep, None), _resample(y, dim, keep, None), metric_seed,
                           metric_kwargs)
                for keep in (np.delete(np.arange(n), i) for i in range(n))
            ])
        kind = "recompute"
    score = float(observed["score"])
    n_degenerate = int(np.sum(~np.isfinite(draws)))
    if n_degenerate:
        warnings.warn(
            f"{n_degenerate} of {n_resamples} bootstrap draws were degenerate for the metric and are left out "
            f"of the interval; resample a dim with more entries", NeurodisWarning, stacklevel=2,
        )
    finite = draws[np.isfinite(draws)]
    share_below = float((np.sum(finite < score) + 0.5 * np.sum(finite == score)) / max(finite.size, 1))
    if not 0.025 <= share_below <= 0.975:
        warnings.warn(
            f"{share_below:.1%} of the bootstrap draws lie below the observed score {score:.4g}: resampling "
            f"{dim!r} biases the metric (e.g. trial noise attenuating a trial-average score), so percentile and "
            f"BCa intervals are unreliable; use method='basic' or resample another dim", NeurodisWarning,
            stacklevel=2,
        )
    low, high = confidence_interval(draws, score, jack, confidence=confidence, method=method)
    return xr.Dataset(
        {
            "score": score,
            "ci_low": float(low),
            "ci_high": float(high),
            "se": float(np.nanstd(draws, ddof=1)),
            "bootstrap": ((BOOTSTRAP_DIM,), draws),
        },
        attrs={
            "metric": str(observed.attrs.get("metric", _statistic_name(metric))),
            "params": observed.attrs.get("params", "{}"),
            "resampled_dims": json.dumps([dim]),
            "within": within or "",
            "resampling": kind,
            "n_entries": json.dumps({dim: n}),
            "n_degenerate": n_degenerate,
            "share_below": share_below,
            "n_resamples": n_resamples,
            "confidence": confidence,
            "method": method,
            **provenance,
            "neurodis_version": __version__,
        },
    )


def _call(metric: Callable, x: Any, y: Any, seed: np.random.SeedSequence, kwargs: dict) -> xr.Dataset:
    result = metric(x, y, null=None, rng=seed, **kwargs)
    if not isinstance(result, xr.Dataset) or "score" not in result or result["score"].ndim:
        raise TypeError(f"metric must return a Dataset with a scalar 'score'; got {describe(result)}")
    return result


def _try_score(metric: Callable, x: Any, y: Any, seed: np.random.SeedSequence, kwargs: dict) -> float:
    # the full data passed every check of the metric, so a ValueError here comes from the
    # resampled values (e.g. every draw a copy of one condition): a degenerate draw
    try:
        return float(_call(metric, x, y, seed, kwargs)["score"])
    except ValueError:
        return float("nan")


def _rsa_items(observed: xr.Dataset, dim: str, n: int, within: str | None) -> list[np.ndarray] | None:
    """For RSA resampled over an item dim: the RDM items of each entry of ``dim``; else None."""
    label = f"{dim}_i"
    if observed.attrs.get("metric") != "rsa" or "rdm_x" not in observed or label not in observed["rdm_x"].coords:
        return None
    if within is not None:
        raise ValueError(f"within must be None when RSA items are resampled along {dim!r}; got {within!r}")
    item_labels = np.asarray(observed["rdm_x"].coords[label].values)
    # labels of dim in order of first appearance: the order of the dim's entries
    _, first = np.unique(item_labels, return_index=True)
    entries = item_labels[np.sort(first)]
    if entries.size != n:
        raise ValueError(f"the coord of dim {dim!r} must label its {n} entries uniquely to resample RSA items; "
                         f"got {entries.size} distinct labels")
    return [np.flatnonzero(item_labels == value) for value in entries]


def _rdm_item_draws(
    observed: xr.Dataset, items: list[np.ndarray], n: int, n_resamples: int, method: str,
    gen: np.random.Generator, params: dict,
) -> tuple[np.ndarray, np.ndarray | None]:
    from scipy import stats

    from neurodis.analysis.similarity.rsa import kendall_tau_a

    rdm_x, rdm_y = observed["rdm_x"].values, observed["rdm_y"].values
    spearman = params.get("compare", "spearman") == "spearman"

    def score(picked: np.ndarray) -> float:
        rows = np.concatenate([items[e] for e in picked])
        i, j = np.triu_indices(rows.size, k=1)
        keep = rows[i] != rows[j]  # a copy of an item against itself is no evidence
        a, b = rdm_x[rows[i[keep]], rows[j[keep]]], rdm_y[rows[i[keep]], rows[j[keep]]]
        if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
            return float("nan")  # as rsa: 3 pairs are the fewest whose ranks can correlate
        if spearman:
            return float(np.corrcoef(stats.rankdata(a), stats.rankdata(b))[0, 1])
        return kendall_tau_a(a, b)

    draws = np.array([score(gen.integers(n, size=n)) for _ in range(n_resamples)])
    jack = np.array([score(np.delete(np.arange(n), i)) for i in range(n)]) if method == "bca" else None
    return draws, jack
