"""Out-of-distribution decoder generalization: linear decoders of the latent from
network rates, fit on some orthants of the latent box and tested on a held-out one.

The protocol (SCIENCE.md §5): given a frozen network's rates (at the decision step by
default) and the latents of the same trials, fit a linear decoder with bias from state
to ``x`` on trials from the training region, and test it on trials from the held-out
region only. This module is pure (labelled rates in, labelled scores out); the
experiment that samples the trials and runs the network is
:func:`neurodis.experiments.generalization`. Scores:

``r2_paper``  ``1 - MSE / (1/12)``, MSE averaged over latent dims and test trials (the
              paper's convention; predicting each quadrant's centre already scores 0.75);
``r2``        the standard ``1 - SSE/SST`` of the test set, per dim, averaged.

Fold sets (orthant codes: bit ``i`` set when ``x_i < 0``; a coordinate exactly 0
counts as positive):

``"quadrant"``   four folds ``Q1 … Q4``, each holding out one quadrant of ``x_0, x_1``
                 and training on the other three (for D > 2 the other latents are
                 free: a quadrant is a quarter of the box);
``"orthant"``    ``2**D`` folds ``O+-…`` (a ``-`` at position i: ``x_i < 0``), each
                 holding out one orthant;
``"halfspace"``  ``2 D`` folds ``x{i}<0`` / ``x{i}>0``, each holding out one half-space
                 and training on the opposite one.

``evaluation="authors_default"`` reproduces, clearly labelled, the published default
run, whose "held-out" test trials for folds Q2 and Q4 were drawn from Q1 and Q3 (a
scalar-indexing slip), i.e. from the training distribution. The true held-out test is
the default everywhere; every result records which one it is per fold
(``test_is_heldout``, ``test_in_heldout``).

Each result also carries an in-distribution reference: the same decoder scored by
K-fold cross-validation over random trials of the whole set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import (
    check_finite,
    check_int,
    check_rng,
    check_samples,
    check_type,
    describe,
    rng_provenance,
)
from neurodis.analysis import _decoder_kernels as kernels
from neurodis.analysis._folds import (
    EVALUATIONS,
    FOLD_KINDS,
    Fold,
    check_latents,
    check_splits,
    evaluation_note,
    heldout_mask,
    make_folds,
    pool_splits,
    region_label,
    region_mask,
)
from neurodis.latents import orthant_of
from neurodis.trials import LATENT, TIME, TRIAL, UNIT

__all__ = [
    "EVALUATIONS",
    "FOLD_KINDS",
    "METHODS",
    "Fold",
    "decode",
    "fit_decoder",
    "fit_decoder_adam",
    "fit_ood_decoders",
    "heldout_mask",
    "make_folds",
    "region_mask",
]

METHODS = kernels.METHODS


def _check_rates(rates: Any) -> tuple[xr.DataArray, bool]:
    """Rates as ``(trial, [time,] unit)`` float64, and whether they have a time dim."""
    check_type("rates", rates, xr.DataArray, "an xarray.DataArray with dims (trial, unit) or (trial, time, unit)")
    dims = set(rates.dims)
    if dims not in ({TRIAL, UNIT}, {TRIAL, TIME, UNIT}):
        raise ValueError(
            f"rates must have dims ('trial', 'unit') or ('trial', 'time', 'unit'); got {describe(rates)}"
        )
    has_time = TIME in dims
    rates = rates.transpose(TRIAL, TIME, UNIT) if has_time else rates.transpose(TRIAL, UNIT)
    check_finite("rates", rates.values)
    return rates.astype(np.float64), has_time


def _check_fit_data(rates: xr.DataArray, latents: xr.DataArray) -> None:
    """Refuse rates or latents with nothing to fit: too few trials, or the same in every trial.

    Rates that are constant at some time steps only (e.g. the first step, before the
    stimulus) are fine; constant at every step they give zero weights, whose angle is NaN.
    """
    check_samples("rates", rates.values, samples="trials")
    check_samples("latents", latents.values, samples="trials")


def _as_batch(rates: xr.DataArray, has_time: bool) -> np.ndarray:
    """``x_bxnxu``: time first (b = time, or 1 without a time dim)."""
    values = rates.values
    return np.ascontiguousarray(np.moveaxis(values, 1, 0) if has_time else values[None])


def _provenance(rng: Any, generator: np.random.Generator) -> dict[str, Any]:
    from neurodis._version import __version__

    return {**rng_provenance(rng, generator), "neurodis_version": __version__}


def fit_decoder(
    rates: xr.DataArray,
    latents: xr.DataArray,
    *,
    method: str = "lstsq",
    alpha: float = 1.0,
    n_batches: int = 2000,
    batch_size: int = 16,
    lr: float = 3e-3,
    rng: Any = None,
) -> xr.Dataset:
    """Fit a linear decoder with bias from rates to latents on all given trials.

    Parameters
    ----------
    rates : DataArray (trial, unit) or (trial, time, unit)
        With a time dim, one decoder is fit per time step.
    latents : DataArray (trial, latent)
    method : {"lstsq", "ridge", "ridge_cv", "adam"}
        Closed-form least squares, ridge (penalty ``alpha`` on the weights, not the
        bias), ridge with the penalty chosen by leaving one orthant of the given
        trials out (for extrapolation), or Adam on minibatches (see
        :func:`fit_decoder_adam`).
    alpha : float
        Ridge penalty (> 0), used by ``"ridge"`` only.
    n_batches, batch_size, lr
        Adam settings, used by ``"adam"`` only.
    rng : int, Generator, SeedSequence or None
        Randomness of the Adam fit.

    Returns
    -------
    xarray.Dataset
        ``weights (latent, [time,] unit)``, ``bias (latent, [time])``, ``angle ([time])``
        (mean pairwise angle between decoder axes, degrees).

    Raises
    ------
    TypeError, ValueError
        For inputs without the needed dims, fewer than 2 trials, rates or latents that
        are the same in every trial, or bad settings.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-0.5, 0.5, (50, 2))
    >>> A = np.array([[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]])
    >>> rates = xr.DataArray(x @ A + 0.3, dims=("trial", "unit"))
    >>> dec = fit_decoder(rates, xr.DataArray(x, dims=("trial", "latent")))
    >>> float(dec["angle"])
    90.0
    """
    rates, has_time = _check_rates(rates)
    latents = check_latents(latents, rates.sizes[TRIAL])
    _check_fit_data(rates, latents)
    solver = kernels.Solver(method, alpha, n_batches, batch_size, lr)
    generator = check_rng(rng)
    attrs = {**solver.attrs(), **_provenance(rng, generator)}
    w_bxuxd, b_bxd, _ = solver.fit(_as_batch(rates, has_time), latents.values, generator)
    return _decoder_dataset(w_bxuxd, b_bxd, rates, latents, has_time, attrs)


def fit_decoder_adam(
    rates: xr.DataArray,
    latents: xr.DataArray,
    *,
    n_batches: int = 2000,
    batch_size: int = 16,
    lr: float = 3e-3,
    rng: Any = None,
) -> xr.Dataset:
    """The authors' decoder fit: Adam (lr 3e-3) on minibatches of 16 cached rates.

    Weights start as torch's ``nn.Linear`` default (uniform ``±1/√units``); each of the
    ``n_batches`` steps draws ``batch_size`` trials with replacement and minimises
    their mean squared error. The authors re-simulated the network for every batch;
    drawing from cached rates samples the same distribution far faster. The update is
    ``torch.optim.Adam``'s (defaults otherwise), written out for a linear model so it
    runs in numpy; the initial weights and the batches come from ``rng`` alone.

    Parameters
    ----------
    rates, latents
        As in :func:`fit_decoder`.
    n_batches : int
        Number of Adam steps (the authors used 1000–3000).
    batch_size : int
    lr : float
    rng : int, Generator, SeedSequence or None

    Returns
    -------
    xarray.Dataset
        As :func:`fit_decoder`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.uniform(-0.5, 0.5, (200, 2))
    >>> rates = xr.DataArray(np.c_[x, x[:, :1] - x[:, 1:]], dims=("trial", "unit"))
    >>> dec = fit_decoder_adam(rates, xr.DataArray(x, dims=("trial", "latent")), n_batches=3000, rng=0)
    >>> bool(np.abs(decode(dec, rates).values - x).max() < 0.05)
    True
    """
    return fit_decoder(rates, latents, method="adam", n_batches=n_batches, batch_size=batch_size, lr=lr, rng=rng)


def _decoder_dataset(
    w_bxuxd: np.ndarray, b_bxd: np.ndarray, rates: xr.DataArray, latents: xr.DataArray, has_time: bool,
    attrs: dict[str, Any],
) -> xr.Dataset:
    coords = {LATENT: latents[LATENT].values, UNIT: rates[UNIT].values}
    if has_time:
        coords[TIME] = rates[TIME]
    angle = _labelled("angle", kernels.axis_angles(w_bxuxd), has_time)
    data = {
        "weights": _labelled("weights", w_bxuxd, has_time),
        "bias": _labelled("bias", b_bxd, has_time),
        "angle": (*angle, {"units": "degrees"}),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def decode(decoder: xr.Dataset, rates: xr.DataArray) -> xr.DataArray:
    """Apply a fitted decoder: ``rates @ weights + bias`` with labelled dims.

    Parameters
    ----------
    decoder : Dataset
        From :func:`fit_decoder` (weights and bias, with or without ``time``).
    rates : DataArray (trial, [time,] unit)

    Returns
    -------
    DataArray (trial, [time,] latent)

    Raises
    ------
    ValueError
        If the decoder lacks ``weights``/``bias`` or the units do not match.
    """
    check_type("decoder", decoder, xr.Dataset, "a Dataset from fit_decoder")
    if "weights" not in decoder or "bias" not in decoder:
        raise ValueError(f"decoder must contain 'weights' and 'bias'; got {list(decoder.data_vars)}")
    rates, _ = _check_rates(rates)
    if rates.sizes[UNIT] != decoder.sizes[UNIT]:
        raise ValueError(f"rates must have {decoder.sizes[UNIT]} units to match the decoder; got {describe(rates)}")
    weights = decoder["weights"].drop_vars(UNIT, errors="ignore")
    pred = xr.dot(rates.drop_vars(UNIT, errors="ignore"), weights, dim=UNIT) + decoder["bias"]
    return pred.transpose(TRIAL, ..., LATENT)


def fit_ood_decoders(
    rates: xr.DataArray,
    latents: xr.DataArray,
    *,
    folds: str = "quadrant",
    evaluation: str = "heldout",
    splits: Mapping[str, tuple[Any, Any]] | None = None,
    method: str = "lstsq",
    alpha: float = 1.0,
    n_batches: int = 2000,
    batch_size: int = 16,
    lr: float = 3e-3,
    id_splits: int = 4,
    min_trials_per_fold: int = 20,
    rng: Any = None,
) -> xr.Dataset:
    """Out-of-distribution generalization of linear decoders, one fold per held-out region.

    Parameters
    ----------
    rates : DataArray (trial, unit) or (trial, time, unit)
        Cached network rates (or recordings). With a time dim every step gets its own
        decoders (a time-resolved curve), solved together in one batched call.
    latents : DataArray (trial, latent)
        Ground-truth latents of the same trials.
    folds : {"quadrant", "orthant", "halfspace"}
        The fold set (see the module docstring).
    evaluation : {"heldout", "authors_default"}
        ``"heldout"`` (default, the true test): test trials lie in the held-out region
        only. ``"authors_default"`` reproduces the published run, where folds Q2 and Q4
        were tested on Q1 and Q3; without ``splits`` a random half of those trials is
        kept out of the training set and used as the test set.
    splits : mapping of fold name to (train indices, test indices), optional
        Explicit positional trial indices per fold, e.g. when each fold's trials were
        sampled separately. They are checked: training trials must lie in the fold's
        training orthants and test trials in its test orthants (the held-out region
        under ``"heldout"``), otherwise ``ValueError``.
    method : {"lstsq", "ridge", "ridge_cv", "adam"}
        As in :func:`fit_decoder`. ``"ridge_cv"`` chooses each fold's penalty by
        leaving out one of its *training* orthants (quadrants, under quadrant folds) at a
        time (never the test region):
        unregularised decoders extrapolate poorly into a held-out quadrant along
        directions of the rates that barely vary in the training quadrants.
    alpha : float
        Ridge penalty (``method="ridge"``).
    n_batches, batch_size, lr
        Adam settings (``method="adam"``), see :func:`fit_decoder_adam`.
    id_splits : int
        Folds K of the in-distribution reference (K-fold cross-validation over random
        trials of the whole set).
    min_trials_per_fold : int
        Fewest training and test trials a fold (and a reference split) may have.
    rng : int, Generator, SeedSequence or None
        Randomness of the reference splits, the authors' split and Adam.

    Returns
    -------
    xarray.Dataset
        Per ``fold``: ``r2_paper`` (1 - MSE/(1/12)), ``r2`` (standard), ``mse`` per
        latent, ``weights (fold, latent, [time,] unit)``, ``bias``, ``angle`` (mean
        pairwise angle between decoder axes, degrees), ``n_train``, ``n_test``,
        ``test_in_heldout`` (fraction of test trials inside the held-out region),
        ``alpha`` (the ridge penalty used: 0 for least squares, NaN for Adam),
        ``trial_role (fold, trial)`` (0 unused, 1 train, 2 test: which trials each fold
        used, auditable against ``latents (trial, latent)``, also returned);
        fold coords ``heldout``, ``test_region``, ``test_is_heldout``. The reference:
        ``id_r2_paper``, ``id_r2``, ``id_mse`` (cross-validated) and ``id_weights``,
        ``id_bias``, ``id_angle`` (fit on all trials). ``attrs`` record the fold set,
        the evaluation, the solver, the seed and the version.

    Raises
    ------
    TypeError
        If ``rates``/``latents`` are not DataArrays or ``splits`` is not a mapping.
    ValueError
        For missing dims, mismatched trials, rates or latents that are the same in
        every trial, quadrant folds with D < 2, bad ``splits``, or folds with fewer
        than ``min_trials_per_fold`` trials.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-0.5, 0.5, (400, 2))
    >>> rates = xr.DataArray(x @ rng.normal(size=(2, 8)), dims=("trial", "unit"))
    >>> res = fit_ood_decoders(rates, xr.DataArray(x, dims=("trial", "latent")), rng=0)
    >>> res["r2_paper"].values.round(6)
    array([1., 1., 1., 1.])
    >>> res.attrs["evaluation"], bool(res["test_is_heldout"].all())
    ('heldout', True)
    """
    rates, has_time = _check_rates(rates)
    latents = check_latents(latents, rates.sizes[TRIAL])
    if TRIAL in rates.coords and TRIAL in latents.coords and not np.array_equal(rates[TRIAL], latents[TRIAL]):
        raise ValueError("latents must have the same 'trial' coordinate as rates; the two differ")
    _check_fit_data(rates, latents)
    fold_set = make_folds(folds, latents.sizes[LATENT], evaluation=evaluation)
    # ridge_cv leaves out one training region at a time: a quadrant of x_0, x_1 under quadrant folds
    solver = kernels.Solver(method, alpha, n_batches, batch_size, lr, regions=folds)
    id_splits = check_int("id_splits", id_splits, minimum=2)
    min_trials = check_int("min_trials_per_fold", min_trials_per_fold, minimum=2)
    generator = check_rng(rng)
    attrs = {**_provenance(rng, generator), **solver.attrs()}
    split_rng, id_rng, *fit_rngs = generator.spawn(len(fold_set) + 2)
    codes = orthant_of(latents.values)
    pairs = pool_splits(codes, fold_set, split_rng) if splits is None else check_splits(splits, codes, fold_set)
    x_bxnxu, y_nxd = _as_batch(rates, has_time), latents.values
    scored = [
        _score_fold(x_bxnxu, y_nxd, codes, fold, pair, solver, fit_rng, min_trials)
        for fold, pair, fit_rng in zip(fold_set, pairs, fit_rngs, strict=True)
    ]
    reference = _in_distribution(x_bxnxu, y_nxd, solver, id_splits, min_trials, id_rng)
    attrs.update(
        folds=folds,
        evaluation=evaluation,
        evaluation_note=evaluation_note(fold_set),
        r2_convention="r2_paper = 1 - MSE / (1/12) (MSE over latent dims and test trials); "
        "r2 = mean over latent dims of 1 - SSE/SST of the test set",
        id_splits=id_splits,
        min_trials_per_fold=min_trials,
        splits="given" if splits is not None else "partition of the given trials",
    )
    role = np.zeros((len(fold_set), codes.size), dtype=np.int8)
    for row, (train, test) in zip(role, pairs, strict=True):
        row[train], row[test] = 1, 2
    return _ood_dataset(scored, reference, fold_set, rates, latents, role, has_time, attrs)


def _score_fold(
    x_bxnxu: np.ndarray, y_nxd: np.ndarray, codes: np.ndarray, fold: Fold, pair: tuple[np.ndarray, np.ndarray],
    solver: kernels.Solver, rng: np.random.Generator, min_trials: int,
) -> dict[str, np.ndarray]:
    train, test = pair
    if min(train.size, test.size) < min_trials:
        raise ValueError(
            f"fold {fold.name!r} has {train.size} training and {test.size} test trials; "
            f"min_trials_per_fold={min_trials} needs at least {min_trials} of each "
            f"(rates has {codes.size} trials; sample more)"
        )
    w_bxuxd, b_bxd, alpha_b = solver.fit(x_bxnxu[:, train], y_nxd[train], rng)
    mse_bxd, r2p_b, r2_b = kernels.scores(kernels.predict(x_bxnxu[:, test], w_bxuxd, b_bxd), y_nxd[test])
    return {
        "weights": w_bxuxd, "bias": b_bxd, "mse": mse_bxd, "r2_paper": r2p_b, "r2": r2_b,
        "angle": kernels.axis_angles(w_bxuxd), "alpha": alpha_b, "n_train": train.size, "n_test": test.size,
        "test_in_heldout": float(np.isin(codes[test], fold.heldout).mean()),
    }


def _in_distribution(
    x_bxnxu: np.ndarray, y_nxd: np.ndarray, solver: kernels.Solver, n_splits: int, min_trials: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """K-fold cross-validated scores over random trials, and the decoder fit on all trials."""
    n_trials = y_nxd.shape[0]
    if n_trials // n_splits < min_trials:
        raise ValueError(
            f"the in-distribution reference splits {n_trials} trials into id_splits={n_splits} parts "
            f"of fewer than min_trials_per_fold={min_trials} trials; sample more trials"
        )
    split_rng, *fit_rngs = rng.spawn(n_splits + 2)  # one per split, one for the full fit
    pred_bxnxd = np.empty((x_bxnxu.shape[0],) + y_nxd.shape)
    for part, fit_rng in zip(np.array_split(split_rng.permutation(n_trials), n_splits), fit_rngs[:-1], strict=True):
        train = np.setdiff1d(np.arange(n_trials), part)
        w_bxuxd, b_bxd, _ = solver.fit(x_bxnxu[:, train], y_nxd[train], fit_rng)
        pred_bxnxd[:, part] = kernels.predict(x_bxnxu[:, part], w_bxuxd, b_bxd)
    mse_bxd, r2p_b, r2_b = kernels.scores(pred_bxnxd, y_nxd)
    w_bxuxd, b_bxd, alpha_b = solver.fit(x_bxnxu, y_nxd, fit_rngs[-1])
    return {"weights": w_bxuxd, "bias": b_bxd, "mse": mse_bxd, "r2_paper": r2p_b, "r2": r2_b,
            "angle": kernels.axis_angles(w_bxuxd), "alpha": alpha_b}


def _labelled(name: str, array: np.ndarray, has_time: bool) -> tuple[tuple[str, ...], np.ndarray]:
    """Dims and values of a kernel result, time-first ``(b, ...)``, in the public order
    ``(latent, [time,] unit)``; the ``b`` axis is dropped without a time dim."""
    if array.ndim == 3:  # weights (b, unit, latent)
        dims, array = (LATENT, TIME, UNIT), np.transpose(array, (2, 0, 1))
    elif array.ndim == 2:  # bias, mse (b, latent)
        dims, array = (LATENT, TIME), array.T
    else:  # r2_paper, r2, angle (b,)
        dims = (TIME,)
    if has_time:
        return dims, array
    return tuple(d for d in dims if d != TIME), np.take(array, 0, axis=dims.index(TIME))


def _ood_dataset(
    scored: list[dict[str, Any]], reference: dict[str, np.ndarray], fold_set: Sequence[Fold],
    rates: xr.DataArray, latents: xr.DataArray, role: np.ndarray, has_time: bool, attrs: dict[str, Any],
) -> xr.Dataset:
    data: dict[str, Any] = {}
    for name in ("weights", "bias", "mse", "r2_paper", "r2", "angle", "alpha"):
        dims, _ = _labelled(name, reference[name], has_time)
        data[name] = (("fold", *dims), np.stack([_labelled(name, fold[name], has_time)[1] for fold in scored]))
        data[f"id_{name}"] = _labelled(name, reference[name], has_time)
    for name in ("n_train", "n_test", "test_in_heldout"):
        data[name] = (("fold",), np.array([fold[name] for fold in scored]))
    data["trial_role"] = (("fold", TRIAL), role, {"flag_values": np.array([0, 1, 2], dtype=np.int8),
                                                  "flag_meanings": "unused train test"})
    data["latents"] = ((TRIAL, LATENT), latents.values)
    n_dims, quadrants = latents.sizes[LATENT], attrs["folds"] == "quadrant"
    coords: dict[str, Any] = {
        "fold": [fold.name for fold in fold_set],
        "heldout": ("fold", [region_label(f.heldout, n_dims, quadrants) for f in fold_set]),
        "test_region": ("fold", [region_label(f.test, n_dims, quadrants) for f in fold_set]),
        "test_is_heldout": ("fold", [f.tests_heldout for f in fold_set]),
        TRIAL: rates[TRIAL].values,
        LATENT: latents[LATENT].values,
        UNIT: rates[UNIT].values,
    }
    if has_time:
        coords[TIME] = rates[TIME]
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    ds["angle"].attrs["units"] = ds["id_angle"].attrs["units"] = "degrees"
    ds["r2_paper"].attrs["long_name"] = "1 - MSE / (1/12) on the fold's test trials"
    ds["id_r2_paper"].attrs["long_name"] = f"1 - MSE / (1/12), {attrs['id_splits']}-fold cross-validated"
    return ds
