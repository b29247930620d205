"""Why a held-out score moved: the units a decoder extrapolates on, and where ridge's penalty landed.

Least-squares held-out r² can swing by tenths between two evaluations of one network
(SCIENCE.md §9). The cause is units that are silent, or active on a handful of trials,
in the training orthants but active on many trials of the held-out one: least squares
gives them large weights, fit to a few points, and on the held-out orthant they carry
the prediction far off. :func:`extrapolating_units` names those units per fold, with
their weights and what they do to the held-out prediction (the score with them held at
their training mean). :func:`ridge_penalty_position` says where a leave-one-orthant-out
ridge penalty landed on its grid: at an end, the grid did not bracket the best penalty.

Both take the rates a result was fit on and the result of
:func:`~neurodis.analysis.fit_ood_decoders` (or of
:func:`~neurodis.experiments.generalization`, whose decoders carry a prefix).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_finite, check_int, check_real, check_type, describe
from neurodis.analysis.theory import VAR_UNIFORM
from neurodis.trials import LATENT, TIME, TRIAL, UNIT

__all__ = ["extrapolating_units", "ridge_penalty_position"]

#: trial_role flags of fit_ood_decoders
_TRAIN, _TEST = 1, 2


def _check_inputs(rates: Any, result: Any, needed: list[str]) -> tuple[np.ndarray, xr.Dataset, bool]:
    """``x_bxnxu`` (time first, b = 1 without a time dim), the result, and whether rates have a time dim."""
    check_type("rates", rates, xr.DataArray, "an xarray.DataArray with dims (trial, unit) or (trial, time, unit)")
    check_type("result", result, xr.Dataset, "a Dataset from fit_ood_decoders or generalization")
    if set(rates.dims) not in ({TRIAL, UNIT}, {TRIAL, TIME, UNIT}):
        raise ValueError(f"rates must have dims ('trial', 'unit') or ('trial', 'time', 'unit'); got {describe(rates)}")
    missing = [name for name in needed if name not in result]
    if missing:
        raise ValueError(f"result must contain {needed}; got variables {sorted(result.data_vars)} "
                         f"(missing {missing})")
    n_trials, n_units = result.sizes[TRIAL], result.sizes[UNIT]
    if rates.sizes[TRIAL] != n_trials or rates.sizes[UNIT] != n_units:
        raise ValueError(f"rates must be the {n_trials} trials x {n_units} units the result was fit on; "
                         f"got {describe(rates)}")
    has_time = TIME in rates.dims
    if has_time != (TIME in result[needed[0]].dims):
        raise ValueError(f"rates and result[{needed[0]!r}] must both have a 'time' dim or neither; got "
                         f"{describe(rates)} and {describe(result[needed[0]])}")
    values = rates.transpose(TRIAL, TIME, UNIT).values if has_time else rates.transpose(TRIAL, UNIT).values
    values = check_finite("rates", np.asarray(values, dtype=np.float64))
    return np.ascontiguousarray(np.moveaxis(values, 1, 0) if has_time else values[None]), result, has_time


def _fold_dims(has_time: bool) -> tuple[str, ...]:
    return ("fold", TIME) if has_time else ("fold",)


def _unbatch(array: np.ndarray, has_time: bool) -> np.ndarray:
    """Kernel values ``(fold, b, ...)`` in the public order ``(fold, [time,] ...)``."""
    return array if has_time else array[:, 0]


def extrapolating_units(
    rates: xr.DataArray,
    result: xr.Dataset,
    *,
    prefix: str = "",
    threshold: float = 1e-6,
    max_train_active: int = 10,
    min_test_fraction: float = 0.05,
) -> xr.Dataset:
    """The units a decoder extrapolates on: nearly silent in training, active on the held-out orthant.

    A unit is *active* on a trial when its rate exceeds ``threshold``. It *extrapolates*
    in a fold when it is active on at most ``max_train_active`` of the fold's training
    trials but on at least ``min_test_fraction`` of its test trials: its weight was fit
    to a few points and is applied to many. Which units extrapolate depends on the rates
    only, not on the decoder; what that does to the prediction depends on the weights.

    Parameters
    ----------
    rates : DataArray (trial, unit) or (trial, time, unit)
        The rates ``result`` was fit on, trial for trial.
    result : Dataset
        From :func:`~neurodis.analysis.fit_ood_decoders` (or a
        :func:`~neurodis.experiments.generalization` result): ``trial_role (fold,
        trial)``, ``latents (trial, latent)`` and ``{prefix}weights``, ``{prefix}bias``.
    prefix : str
        The decoder's variable prefix in a generalization result (``"ridge_"``,
        ``"adam_"``; ``""`` for least squares). Its own ``{prefix}trial_role`` is used
        when present (the authors' evaluation), else ``trial_role``.
    threshold : float
        Rate above which a unit counts as active (>= 0). ReLU units are exactly 0 when
        silent; raise it for units that never reach 0 (tanh, LSTM cells).
    max_train_active : int
        Most training trials on which an extrapolating unit is active (>= 0).
    min_test_fraction : float
        Least fraction of test trials on which an extrapolating unit is active, in (0, 1].

    Returns
    -------
    xarray.Dataset
        Per ``(fold, [time,] unit)``: ``n_train_active``, ``n_test_active``,
        ``train_sd`` and ``test_sd`` (the unit's spread on each set), ``weight_norm``
        (Euclidean norm of its weights over the latents), ``contribution`` (RMS over test
        trials of the norm of ``w_u · (r_u - training mean of r_u)``: how far the unit
        alone moves the held-out prediction from where it sits in training) and
        ``extrapolates`` (bool). Per ``(fold, [time])``: ``n_extrapolating``,
        ``r2_paper`` (the decoder's held-out score, recomputed) and
        ``r2_paper_clamped`` (the same with every extrapolating unit held at its
        training mean). ``attrs``: the decoder ``prefix`` and the three criteria.

    Raises
    ------
    TypeError
        If ``rates`` is not a DataArray or ``result`` not a Dataset.
    ValueError
        If ``result`` lacks the variables, ``rates`` do not match its trials, units or
        time dim, or a criterion is out of range.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-0.5, 0.5, (600, 2))
    >>> rare = (x[:, 0] < -0.3) & (x[:, 1] < -0.3)                   # on only inside Q3's corner
    >>> values = np.c_[x @ [[1.0, 0.2], [0.3, 1.0]], rare * rng.uniform(1, 2, 600)]
    >>> rates = xr.DataArray(values, dims=("trial", "unit"))
    >>> from neurodis.analysis import fit_ood_decoders
    >>> result = fit_ood_decoders(rates, xr.DataArray(x, dims=("trial", "latent")), rng=0)
    >>> units = extrapolating_units(rates, result, max_train_active=0)
    >>> units["extrapolates"].sel(fold="Q3").values.tolist()
    [False, False, True]
    """
    role_name = f"{prefix}trial_role" if f"{prefix}trial_role" in result else "trial_role"
    weights_name, bias_name = f"{prefix}weights", f"{prefix}bias"
    x_bxnxu, result, has_time = _check_inputs(rates, result, [weights_name, bias_name, role_name, "latents"])
    threshold = check_real("threshold", threshold, minimum=0.0)
    max_train_active = check_int("max_train_active", max_train_active, minimum=0)
    min_test_fraction = check_real("min_test_fraction", min_test_fraction, minimum=0.0, strict_minimum=True,
                                   maximum=1.0)
    weight_order = ("fold", TIME, UNIT, LATENT) if has_time else ("fold", UNIT, LATENT)
    w_fxbxuxd = result[weights_name].transpose(*weight_order).values
    b_fxbxd = result[bias_name].transpose(*_fold_dims(has_time), LATENT).values
    if not has_time:
        w_fxbxuxd, b_fxbxd = w_fxbxuxd[:, None], b_fxbxd[:, None]
    y_nxd = result["latents"].transpose(TRIAL, LATENT).values
    roles = result[role_name].transpose("fold", TRIAL).values
    per_unit = {name: [] for name in ("n_train_active", "n_test_active", "train_sd", "test_sd", "weight_norm",
                                      "contribution", "extrapolates")}
    per_fold = {name: [] for name in ("n_extrapolating", "r2_paper", "r2_paper_clamped")}
    for role, w_bxuxd, b_bxd in zip(roles, w_fxbxuxd, b_fxbxd):
        fold = _fold_units(x_bxnxu[:, role == _TRAIN], x_bxnxu[:, role == _TEST], y_nxd[role == _TEST],
                           w_bxuxd, b_bxd, threshold, max_train_active, min_test_fraction)
        for name, values in fold.items():
            (per_unit if name in per_unit else per_fold)[name].append(values)
    unit_dims, fold_dims = (*_fold_dims(has_time), UNIT), _fold_dims(has_time)
    data = {name: (unit_dims, _unbatch(np.stack(values), has_time)) for name, values in per_unit.items()}
    data.update({name: (fold_dims, _unbatch(np.stack(values), has_time)) for name, values in per_fold.items()})
    coords = {"fold": result["fold"].values, UNIT: result[UNIT].values}
    if has_time:
        coords[TIME] = result[TIME].values
    ds = xr.Dataset(data, coords=coords, attrs={"prefix": prefix, "threshold": threshold,
                                                "max_train_active": max_train_active,
                                                "min_test_fraction": min_test_fraction})
    ds["r2_paper_clamped"].attrs["long_name"] = "1 - MSE / (1/12) with the extrapolating units at their training mean"
    return ds


def _fold_units(
    train_bxnxu: np.ndarray, test_bxmxu: np.ndarray, y_mxd: np.ndarray, w_bxuxd: np.ndarray, b_bxd: np.ndarray,
    threshold: float, max_train_active: int, min_test_fraction: float,
) -> dict[str, np.ndarray]:
    """The per-unit and per-fold values of one fold (``b`` problems: time steps or 1)."""
    n_train_bxu = np.sum(train_bxnxu > threshold, axis=1)
    n_test_bxu = np.sum(test_bxmxu > threshold, axis=1)
    extrapolates_bxu = (n_train_bxu <= max_train_active) & (n_test_bxu >= min_test_fraction * test_bxmxu.shape[1])
    # each unit's part of the prediction, about where it sits on average in training
    shift_bxmxu = test_bxmxu - train_bxnxu.mean(axis=1, keepdims=True)
    part_bxmxuxd = shift_bxmxu[..., None] * w_bxuxd[:, None]
    prediction_bxmxd = test_bxmxu @ w_bxuxd + b_bxd[:, None, :]
    clamped_bxmxd = prediction_bxmxd - np.einsum("bmud,bu->bmd", part_bxmxuxd, extrapolates_bxu)
    return {
        "n_train_active": n_train_bxu, "n_test_active": n_test_bxu,
        "train_sd": train_bxnxu.std(axis=1), "test_sd": test_bxmxu.std(axis=1),
        "weight_norm": np.linalg.norm(w_bxuxd, axis=2),
        "contribution": np.sqrt(np.mean(np.sum(part_bxmxuxd**2, axis=3), axis=1)),
        "extrapolates": extrapolates_bxu,
        "n_extrapolating": extrapolates_bxu.sum(axis=1),
        "r2_paper": 1.0 - np.mean((prediction_bxmxd - y_mxd) ** 2, axis=(1, 2)) / VAR_UNIFORM,
        "r2_paper_clamped": 1.0 - np.mean((clamped_bxmxd - y_mxd) ** 2, axis=(1, 2)) / VAR_UNIFORM,
    }


def ridge_penalty_position(rates: xr.DataArray, result: xr.Dataset, *, prefix: str = "") -> xr.Dataset:
    """Where each fold's leave-one-orthant-out ridge penalty landed on its grid.

    ``method="ridge_cv"`` tries penalties ``grid × s``, with ``s`` the mean eigenvalue
    of the centred Gram matrix of the fold's training rates (the sum of their squared
    deviations over the number of units), and records the absolute penalty it chose
    (``alpha``). Dividing by ``s`` gives the grid value. A choice at either end means
    the grid did not bracket the best penalty: at the low end, the training orthants
    asked for (almost) least squares; at the high end, for more shrinkage than tried.

    Parameters
    ----------
    rates : DataArray (trial, unit) or (trial, time, unit)
        The rates ``result`` was fit on, trial for trial.
    result : Dataset
        A ``method="ridge_cv"`` result of :func:`~neurodis.analysis.fit_ood_decoders`
        (``prefix=""``) or a :func:`~neurodis.experiments.generalization` result
        (``prefix="ridge_"``): ``{prefix}alpha``, ``trial_role`` and
        ``attrs["ridge_grid_relative"]``.
    prefix : str
        The ridge decoder's variable prefix.

    Returns
    -------
    xarray.Dataset
        Per ``(fold, [time])``: ``alpha_relative`` (the chosen grid value),
        ``grid_index`` (its position, 0 = smallest) and ``at_grid_end`` (bool);
        ``attrs["ridge_grid_relative"]``.

    Raises
    ------
    TypeError
        If ``rates`` is not a DataArray or ``result`` not a Dataset.
    ValueError
        If ``result`` lacks the variables or the grid, or ``rates`` do not match it.

    Examples
    --------
    >>> from neurodis.analysis import fit_ood_decoders
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-0.5, 0.5, (400, 2))
    >>> rates = xr.DataArray(np.c_[x, rng.normal(size=(400, 6))], dims=("trial", "unit"))
    >>> result = fit_ood_decoders(rates, xr.DataArray(x, dims=("trial", "latent")), method="ridge_cv", rng=0)
    >>> position = ridge_penalty_position(rates, result)
    >>> position["at_grid_end"].values.tolist()      # noise-free signal units: the smallest penalty
    [True, True, True, True]
    """
    alpha_name = f"{prefix}alpha"
    x_bxnxu, result, has_time = _check_inputs(rates, result, [alpha_name, "trial_role"])
    if "ridge_grid_relative" not in result.attrs:
        raise ValueError(f"result.attrs must hold 'ridge_grid_relative' (a method='ridge_cv' result); got "
                         f"{sorted(result.attrs)}")
    grid = np.asarray(result.attrs["ridge_grid_relative"], dtype=np.float64).ravel()
    alpha_fxb = result[alpha_name].transpose(*_fold_dims(has_time)).values.reshape(result.sizes["fold"], -1)
    relative = np.empty_like(alpha_fxb)
    for k, role in enumerate(result["trial_role"].transpose("fold", TRIAL).values):
        train_bxnxu = x_bxnxu[:, role == _TRAIN]
        centred_bxnxu = train_bxnxu - train_bxnxu.mean(axis=1, keepdims=True)
        scale_b = np.einsum("bnu,bnu->b", centred_bxnxu, centred_bxnxu) / train_bxnxu.shape[2]
        # the kernel's convention: rates constant in training have no scale and use 1
        relative[k] = alpha_fxb[k] / np.where(scale_b > 0, scale_b, 1.0)
    index = np.argmin(np.abs(np.log(relative[..., None]) - np.log(grid)), axis=-1)
    dims = _fold_dims(has_time)
    shape = (result.sizes["fold"],) + ((result.sizes[TIME],) if has_time else ())
    coords = {"fold": result["fold"].values, **({TIME: result[TIME].values} if has_time else {})}
    return xr.Dataset(
        {"alpha_relative": (dims, relative.reshape(shape)), "grid_index": (dims, index.reshape(shape)),
         "at_grid_end": (dims, ((index == 0) | (index == grid.size - 1)).reshape(shape))},
        coords=coords, attrs={"ridge_grid_relative": grid.tolist()},
    )
