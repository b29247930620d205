"""Psychophysical kernels: how much each evidence pulse weighs in a choice.

The kernel of an observer on the pulse task is the vector of weights ``w`` of the
logistic regression of its choices on the signed pulse strengths,

    P(choice = 1 | s) = σ(b + Σ_k w_k s_k),

fitted by maximum likelihood (iteratively reweighted least squares, i.e. Newton's
method). ``w_k`` is in log-odds per unit of pulse strength. Standard errors come from
the inverse Fisher information at the optimum ("analytic") or from refitting on trials
resampled with replacement ("bootstrap"). A flat kernel means every pulse counts
equally (a perfect integrator); weights falling over the trial mean early pulses weigh
more ("primacy", reported for the LIP monkeys of Yates et al. 2017), rising weights mean
"recency" (e.g. a leaky integrator).

Kernels come from a monkey's choices (:func:`monkey_kernel`, given the Dataset of
:func:`neurodis.recordings.load_lip_behavior`) or from a network's choices on replayed
pulse sequences (:func:`neurodis.experiments.network_kernel`, which runs the network
and fits its choices here); :func:`compare_kernels` puts several side by side. This
module runs no network and reads no file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import (
    check_array,
    check_in,
    check_int,
    check_real,
    check_rng,
    check_type,
    describe,
    rng_provenance,
)
from neurodis._version import __version__
from neurodis.trials import TRIAL

__all__ = ["compare_kernels", "monkey_kernel", "psychophysical_kernel"]

PULSE = "pulse"
COEF = "coef"
SOURCE = "source"
#: Largest |weight| considered finite; beyond it the choices are (quasi-)separable.
_MAX_WEIGHT = 1e6


def _irls(x_nxp: np.ndarray, y_n: np.ndarray, max_iter: int, tol: float) -> tuple[np.ndarray, np.ndarray, bool]:
    """Logistic regression by Newton's method; returns (β, inverse Fisher information, converged)."""
    beta_p = np.zeros(x_nxp.shape[1])
    for _ in range(max_iter):
        eta_n = x_nxp @ beta_p
        p_n = 0.5 * (1.0 + np.tanh(0.5 * eta_n))  # σ(η) without overflow
        w_n = p_n * (1.0 - p_n)
        fisher_pxp = (x_nxp * w_n[:, None]).T @ x_nxp
        try:
            step_p = np.linalg.solve(fisher_pxp, x_nxp.T @ (y_n - p_n))
        except np.linalg.LinAlgError:
            return beta_p, np.full_like(fisher_pxp, np.nan), False
        beta_p = beta_p + step_p
        if not np.all(np.abs(beta_p) < _MAX_WEIGHT):
            return beta_p, np.full_like(fisher_pxp, np.nan), False
        if np.max(np.abs(step_p)) <= tol * (1.0 + np.max(np.abs(beta_p))):
            p_n = 0.5 * (1.0 + np.tanh(0.5 * (x_nxp @ beta_p)))
            fisher_pxp = (x_nxp * (p_n * (1.0 - p_n))[:, None]).T @ x_nxp
            return beta_p, np.linalg.inv(fisher_pxp), True
    return beta_p, np.full((x_nxp.shape[1],) * 2, np.nan), False


def _check_inputs(pulses: Any, choices: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    check_type("pulses", pulses, xr.DataArray, "a DataArray with dims ('trial', 'pulse')")
    if set(pulses.dims) != {TRIAL, PULSE}:
        raise ValueError(f"pulses must have dims ('trial', 'pulse'); got {describe(pulses)}")
    pulses = pulses.transpose(TRIAL, PULSE)
    x_nxk = check_array("pulses", pulses.values, dtype=np.float64)
    values = choices.values if isinstance(choices, xr.DataArray) else choices
    y_n = check_array("choices", values, ndim=1, dtype=np.float64)
    if y_n.shape[0] != x_nxk.shape[0]:
        raise ValueError(f"choices must have one entry per trial ({x_nxk.shape[0]}); got {y_n.shape[0]}")
    if not np.all((y_n == 0) | (y_n == 1)):
        raise ValueError(f"choices must be 0 or 1; got values {np.unique(y_n)[:5].tolist()}")
    if y_n.min() == y_n.max():
        raise ValueError(f"choices must contain both 0 and 1 to fit a kernel; got only {int(y_n[0])}")
    labels = pulses[PULSE].values if PULSE in pulses.coords else np.arange(1, x_nxk.shape[1] + 1)
    return x_nxk, y_n, labels


def psychophysical_kernel(
    pulses: xr.DataArray,
    choices: Any,
    *,
    se: str = "analytic",
    n_bootstrap: int = 200,
    max_iter: int = 100,
    tol: float = 1e-10,
    rng: Any = None,
) -> xr.Dataset:
    """Logistic regression of choices on each pulse's strength.

    Parameters
    ----------
    pulses : xarray.DataArray
        Signed pulse strengths, dims ``(trial, pulse)``.
    choices : DataArray or array-like
        Choices ``(trial,)``, 0 or 1 (1 = the side of positive strengths).
    se : {"analytic", "bootstrap"}
        Standard errors from the inverse Fisher information, or the standard deviation
        of the estimates over ``n_bootstrap`` resamplings of the trials.
    n_bootstrap : int
        Bootstrap resamplings (>= 2; only with ``se="bootstrap"``).
    max_iter, tol : int, float
        Newton iterations and the relative step size at which they stop.
    rng : int, Generator, SeedSequence or None
        Source of the bootstrap resamplings.

    Returns
    -------
    xarray.Dataset
        ``weights (pulse)`` and ``se (pulse)`` (log-odds per unit strength), ``bias``,
        ``bias_se``, ``covariance (coef, coef_)`` of (bias, weights) from the inverse
        Fisher information, ``n_trials``; attrs ``se_method``, provenance.

    Raises
    ------
    TypeError
        If ``pulses`` is not a DataArray.
    ValueError
        If the dims are wrong, the sizes disagree, choices are not 0/1 or all equal,
        ``se`` is unknown, or the fit does not converge (choices perfectly separable
        by the pulses, as for a noise-free network: add noise).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> s = xr.DataArray(rng.normal(size=(4000, 3)), dims=("trial", "pulse"), coords={"pulse": [1, 2, 3]})
    >>> p = 1 / (1 + np.exp(-(s.values @ [1.0, 0.5, 0.25])))
    >>> kernel = psychophysical_kernel(s, rng.random(4000) < p)
    >>> bool(np.all(np.abs(kernel.weights.values - [1.0, 0.5, 0.25]) < 4 * kernel.se.values))
    True
    """
    x_nxk, y_n, labels = _check_inputs(pulses, choices)
    check_in("se", se, ["analytic", "bootstrap"])
    max_iter = check_int("max_iter", max_iter, minimum=1)
    tol = check_real("tol", tol, minimum=0.0, strict_minimum=True)
    design_nxp = np.column_stack([np.ones(len(y_n)), x_nxk])
    beta_p, cov_pxp, converged = _irls(design_nxp, y_n, max_iter, tol)
    if not converged:
        raise ValueError(
            "choices could not be fitted by a logistic regression on the pulses (no convergence in "
            f"{max_iter} iterations): they are (nearly) perfectly separable, as for a noise-free observer; "
            "add stimulus or network noise, or use sampled choices"
        )
    generator = check_rng(rng)
    provenance = rng_provenance(rng, generator)
    errors_p = np.sqrt(np.diag(cov_pxp))
    if se == "bootstrap":
        errors_p = _bootstrap_se(design_nxp, y_n, check_int("n_bootstrap", n_bootstrap, minimum=2),
                                 max_iter, tol, generator)
    coef = ["bias", *[f"pulse_{label}" for label in labels]]
    return xr.Dataset(
        {
            "weights": (PULSE, beta_p[1:]),
            "se": (PULSE, errors_p[1:]),
            "bias": beta_p[0],
            "bias_se": errors_p[0],
            "covariance": ((COEF, f"{COEF}_"), cov_pxp),
            "n_trials": len(y_n),
        },
        coords={PULSE: labels, COEF: coef, f"{COEF}_": coef},
        attrs={"se_method": se, "n_bootstrap": int(n_bootstrap) if se == "bootstrap" else 0,
               "long_name": "choice weight (log-odds per unit pulse strength)",
               **provenance, "neurodis_version": __version__},
    )


def _bootstrap_se(design_nxp: np.ndarray, y_n: np.ndarray, n_bootstrap: int, max_iter: int, tol: float,
                  generator: np.random.Generator) -> np.ndarray:
    estimates = []
    for _ in range(n_bootstrap):
        rows = generator.integers(len(y_n), size=len(y_n))
        if y_n[rows].min() == y_n[rows].max():
            continue  # a resample with one class has no finite fit
        beta_p, _, converged = _irls(design_nxp[rows], y_n[rows], max_iter, tol)
        if converged:
            estimates.append(beta_p)
    if len(estimates) < 2:
        raise ValueError(f"se='bootstrap' needs at least 2 converged resamplings; got {len(estimates)}")
    return np.std(estimates, axis=0, ddof=1)


def monkey_kernel(behavior: xr.Dataset, *, subject: str | None = None, **options: Any) -> xr.Dataset:
    """Psychophysical kernel of the LIP monkeys from their behavioural choices.

    Parameters
    ----------
    behavior : xarray.Dataset
        ``choice (trial)`` and ``pulses (trial, pulse)`` with a ``subject`` coord, as
        from :func:`neurodis.recordings.load_lip_behavior`.
    subject : str, optional
        ``"N"`` or ``"P"``; ``None`` pools both monkeys.
    **options
        Passed to :func:`psychophysical_kernel` (``se``, ``n_bootstrap``, ``rng``, …).

    Returns
    -------
    xarray.Dataset
        As :func:`psychophysical_kernel`, with attrs ``subject`` and ``source``.

    Raises
    ------
    TypeError
        If ``behavior`` is not a Dataset.
    ValueError
        If ``behavior`` lacks ``choice``, ``pulses`` (or ``subject`` when one is asked
        for), or ``subject`` is not in the data.
    """
    check_type("behavior", behavior, xr.Dataset, "a Dataset with 'choice' and 'pulses' (load_lip_behavior)")
    needed = ["choice", "pulses"] + (["subject"] if subject is not None else [])
    missing = [name for name in needed if name not in behavior.variables]
    if missing:
        raise ValueError(
            f"behavior must hold {needed} as from load_lip_behavior; got {sorted(map(str, behavior.variables))} "
            f"({missing} missing)"
        )
    if subject is not None:
        check_in("subject", subject, sorted(set(behavior["subject"].values.tolist())))
        behavior = behavior.isel({TRIAL: behavior["subject"].values == subject})
    kernel = psychophysical_kernel(behavior["pulses"], behavior["choice"], **options)
    kernel.attrs.update(subject="pooled" if subject is None else subject,
                        source=str(behavior.attrs.get("source", "behavior")))
    return kernel


def compare_kernels(kernels: Mapping[str, xr.Dataset]) -> xr.Dataset:
    """Kernels of several observers side by side, with their shape summarised.

    Besides the weights, each kernel's *shape* is compared: ``normalized`` weights
    (divided by their mean, so observers with different overall sensitivity line up)
    and the least-squares ``slope`` of the weights over pulse position, with its
    standard error from the kernel's covariance (the slope is linear in the weights).
    ``relative_slope`` = slope / mean weight: negative for primacy, positive for recency.

    Parameters
    ----------
    kernels : mapping of str to Dataset
        Results of :func:`psychophysical_kernel` with identical ``pulse`` coords.

    Returns
    -------
    xarray.Dataset
        ``weights``, ``se``, ``normalized`` (``source``, ``pulse``); ``bias``, ``mean_weight``,
        ``slope``, ``slope_se``, ``relative_slope`` (``source``).

    Raises
    ------
    TypeError
        If ``kernels`` is not a mapping of Datasets.
    ValueError
        If it is empty or the pulse coords differ.

    Examples
    --------
    >>> import xarray as xr
    >>> flat = xr.Dataset({"weights": ("pulse", [1.0, 1.0, 1.0]), "se": ("pulse", [0.1] * 3), "bias": 0.0},
    ...                   coords={"pulse": [1, 2, 3]})
    >>> float(compare_kernels({"a": flat})["relative_slope"][0])
    0.0
    """
    if not isinstance(kernels, Mapping) or not kernels:
        raise TypeError(f"kernels must be a non-empty mapping of names to kernel Datasets; got {describe(kernels)}")
    first = None
    for name, kernel in kernels.items():
        check_type(f"kernels[{name!r}]", kernel, xr.Dataset, "a psychophysical_kernel Dataset")
        labels = kernel[PULSE].values
        if first is not None and not np.array_equal(labels, first):
            raise ValueError(f"kernels must share one pulse coord; got {first.tolist()} and {labels.tolist()} "
                             f"in {name!r}")
        first = labels
    position_k = np.arange(len(first), dtype=np.float64)
    contrast_k = (position_k - position_k.mean()) / np.sum((position_k - position_k.mean()) ** 2)
    rows: dict[str, list[Any]] = {key: [] for key in ("slope", "slope_se", "mean_weight")}
    for kernel in kernels.values():
        w_k = kernel["weights"].values
        rows["slope"].append(float(contrast_k @ w_k))
        rows["mean_weight"].append(float(w_k.mean()))
        if "covariance" in kernel:
            rows["slope_se"].append(float(np.sqrt(contrast_k @ kernel["covariance"].values[1:, 1:] @ contrast_k)))
        else:  # no covariance: treat the weights as independent
            rows["slope_se"].append(float(np.sqrt(np.sum((contrast_k * kernel["se"].values) ** 2))))
    names = list(kernels)
    weights = xr.concat([k["weights"] for k in kernels.values()], dim=SOURCE).assign_coords({SOURCE: names})
    out = xr.Dataset(
        {
            "weights": weights,
            "se": xr.concat([k["se"] for k in kernels.values()], dim=SOURCE).assign_coords({SOURCE: names}),
            "bias": (SOURCE, [float(k["bias"]) for k in kernels.values()]),
            **{key: (SOURCE, values) for key, values in rows.items()},
        },
        attrs={"sources": json.dumps(names), "neurodis_version": __version__},
    )
    out["normalized"] = out["weights"] / out["mean_weight"]
    out["relative_slope"] = out["slope"] / out["mean_weight"]
    out["weights"].attrs["long_name"] = "choice weight (log-odds per unit pulse strength)"
    return out
