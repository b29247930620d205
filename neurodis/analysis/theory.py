"""The ideal observer of the Gaussian-noise linear task, closed-form recovery of its
estimate from classifier outputs, and the r² ceilings that bound any network.

The world (SCIENCE.md §1, §7): a latent ``x`` uniform on ``[-0.5, 0.5]^D`` is seen
through samples ``X(s) = x + σ ε(s)``. With ``t`` samples the posterior under a flat
prior is ``N(μ(t), σ²/t · I)`` with ``μ(t)`` the running mean, so the Bayes-optimal
probability that ``c_k · x > 0`` is ``Φ(z_k)`` with the *probit score*

    z_k(t) = √t · c_k · μ(t) / σ .

Three scales describe the same output and this module keeps them apart:

``probit``       ``z``, linear in ``μ(t)`` (the pre-activation of a Φ readout, and, up to
                 the factor 1.702 of the logistic approximation Φ(z) ≈ expit(1.702 z),
                 of a sigmoid readout);
``logit``        the true log-odds ``log Φ(z) - log Φ(-z)``, which grows like ``z²/2``
                 in the tails, so it is *not* linear in ``μ(t)``;
``probability``  ``Φ(z)``, which rounds to exactly 0 or 1 in float64 beyond
                 ``|z| ≈ 8.3`` (saturation: information is lost).

Recovery works from any of them without loss (except saturated probabilities):
``μ(t) = (CᵀC)⁻¹Cᵀ (σ/√t) z`` with ``z`` obtained from the log-odds by inverting
``log_ndtr`` (:func:`logit_to_probit`), exact to machine precision at any ``|z|``.

The boundary normals ``c_k`` are arguments: the classification task defines them once
(``task.normals``, :func:`neurodis.tasks.classification.boundary_normals`), and an
analysis takes them as data rather than building a task.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.special import ndtr, ndtri

from neurodis._validation import (
    check_array,
    check_finite,
    check_in,
    check_int,
    check_real,
    check_type,
    describe,
)
from neurodis.probit import logit_to_probit, probit_to_logit
from neurodis.trials import LATENT, OUTPUT, TIME, TRIAL

__all__ = [
    "VAR_UNIFORM",
    "bayes_r2_ceiling",
    "gaussian_observer",
    "logit_to_probit",
    "probit_to_logit",
    "r2_ceiling",
    "recover_latent",
]

#: Variance of U(-0.5, 0.5), the denominator of the paper's r² convention.
VAR_UNIFORM = 1.0 / 12.0


def _posterior_counts(evidence: np.ndarray, n_steps: int) -> np.ndarray:
    evidence = check_array("evidence", evidence, shape=(n_steps,))
    if evidence.dtype != bool:
        raise TypeError(f"evidence must be a boolean array over time; got {describe(evidence)}")
    return np.cumsum(evidence)


def gaussian_observer(
    trials: xr.Dataset | xr.DataArray,
    normals: Any,
    sigma: float,
    *,
    evidence: Any = None,
) -> xr.Dataset:
    """The Gaussian flat-prior observer's estimate and classifier outputs at every step.

    The closed-form theory on given evidence (any normals and σ, no task needed). The
    project's one *ideal observer* of a task is the task's method
    (:meth:`neurodis.tasks.ClassificationTask.ideal_observer`): it knows the task's
    boundaries and noise model; for linear boundaries with Gaussian noise it equals
    this function's ``logit`` (tested to 1e-9), both converting through
    :func:`neurodis.probit.probit_to_logit`.

    Parameters
    ----------
    trials : Dataset or DataArray
        A trials Dataset whose ``inputs`` hold the raw (un-encoded) stimulus channels
        ``stimulus_0 … stimulus_{D-1}``, or a DataArray ``(trial, time, latent)`` of
        evidence samples.
    normals : array-like, shape (N, D)
        Boundary normals ``c_k`` (e.g. ``task.normals``).
    sigma : float
        Per-step noise sd σ (> 0).
    evidence : array of bool, shape (time,), optional
        Which steps carry a sample. Default: steps where the stimulus is non-zero in
        some trial (stimulus channels are exactly 0 outside the stimulus period).

    Returns
    -------
    xarray.Dataset
        ``mean (trial, time, latent)`` μ(t) (0 before any sample, the prior mean);
        ``n_samples (time)``; ``posterior_sd (time)`` σ/√t (inf before any sample);
        ``probit``, ``logit``, ``probability`` ``(trial, time, output)`` with outputs
        named ``task_0 …``.

    Raises
    ------
    TypeError
        If ``trials`` is neither a Dataset nor a DataArray.
    ValueError
        If the stimulus channels are missing or ``normals`` does not match D.

    Examples
    --------
    >>> import xarray as xr
    >>> x = xr.DataArray(np.full((1, 4, 2), 0.1), dims=("trial", "time", "latent"))
    >>> obs = gaussian_observer(x, [[0.0, 1.0]], 0.2)
    >>> obs["probit"].values[0, :, 0].round(3)  # √t · 0.1 / 0.2
    array([0.5  , 0.707, 0.866, 1.   ])
    """
    stimulus = _stimulus(trials)
    sigma = check_real("sigma", sigma, minimum=0.0, strict_minimum=True)
    _, n_steps, n_dims = stimulus.shape
    normals_kxd = check_array("normals", normals, ndim=2, dtype=np.float64)
    if normals_kxd.shape[1] != n_dims:
        raise ValueError(f"normals must have shape (N, {n_dims}) to match the stimulus; got {describe(normals_kxd)}")
    x_nxtxd = stimulus.values.astype(np.float64)
    if evidence is None:
        evidence = np.any(x_nxtxd != 0.0, axis=(0, 2))
    counts_t = _posterior_counts(np.asarray(evidence), n_steps)
    sums_nxtxd = np.cumsum(np.where(np.asarray(evidence)[None, :, None], x_nxtxd, 0.0), axis=1)
    safe_t = np.maximum(counts_t, 1)
    mean_nxtxd = sums_nxtxd / safe_t[None, :, None]
    z_nxtxk = np.sqrt(counts_t)[None, :, None] * (mean_nxtxd @ normals_kxd.T) / sigma
    with np.errstate(divide="ignore"):
        posterior_sd_t = sigma / np.sqrt(counts_t)
    trial_dims, output_names = (TRIAL, TIME), [f"task_{k}" for k in range(normals_kxd.shape[0])]
    return xr.Dataset(
        {
            "mean": (trial_dims + (LATENT,), mean_nxtxd),
            "n_samples": ((TIME,), counts_t),
            "posterior_sd": ((TIME,), posterior_sd_t),
            "probit": (trial_dims + (OUTPUT,), z_nxtxk),
            "logit": (trial_dims + (OUTPUT,), probit_to_logit(z_nxtxk)),
            "probability": (trial_dims + (OUTPUT,), ndtr(z_nxtxk)),
        },
        coords={**{k: v for k, v in stimulus.coords.items() if k != "input"}, OUTPUT: output_names},
        attrs={"sigma": sigma, "observer": "flat-prior Gaussian posterior N(mean, sigma**2 / n_samples)"},
    )


def _stimulus(trials: Any) -> xr.DataArray:
    """The evidence samples ``(trial, time, latent)`` of a trials Dataset or DataArray."""
    check_type("trials", trials, (xr.Dataset, xr.DataArray), "a trials Dataset or a (trial, time, latent) DataArray")
    if isinstance(trials, xr.DataArray):
        if set(trials.dims) != {TRIAL, TIME, LATENT}:
            raise ValueError(
                f"trials must have dims ('trial', 'time', 'latent') when a DataArray; got {describe(trials)}"
            )
        stimulus = trials.transpose(TRIAL, TIME, LATENT)
    else:
        if "inputs" not in trials:
            raise ValueError(f"trials must contain 'inputs'; got variables {list(trials.data_vars)}")
        names = [str(n) for n in trials["input"].values if str(n).startswith("stimulus_")]
        if not names:
            raise ValueError(
                "trials['inputs'] must hold raw stimulus channels 'stimulus_0', ... (sample the task "
                f"without an encoder); got channels {[str(n) for n in trials['input'].values]}"
            )
        stimulus = trials["inputs"].sel(input=names).rename(input=LATENT).transpose(TRIAL, TIME, LATENT)
        stimulus = stimulus.assign_coords({LATENT: [f"x{i}" for i in range(len(names))]})
    check_finite("trials", stimulus.values)
    return stimulus


def recover_latent(
    values: xr.DataArray,
    normals: Any,
    sigma: float,
    n_samples: float | xr.DataArray,
    *,
    scale: str = "logit",
) -> xr.DataArray:
    """Closed-form recovery ``μ(t) = (CᵀC)⁻¹Cᵀ (σ/√t) z`` from classifier outputs.

    Parameters
    ----------
    values : DataArray with an ``output`` dim
        Classifier outputs, one per boundary, on the given ``scale``.
    normals : array-like, shape (N, D)
        Boundary normals C (full column rank, N >= D).
    sigma : float
        Per-step noise sd σ (> 0).
    n_samples : float or DataArray
        Number of samples t seen (> 0); a DataArray broadcasts (e.g. over ``time``).
    scale : {"logit", "probit", "probability"}
        ``"logit"``: log-odds, inverted exactly at any size; ``"probit"``: the score z;
        ``"probability"``: Φ(z); a saturated value (exactly 0 or 1) has infinite z and
        makes its trial's estimate non-finite rather than silently wrong.

    Returns
    -------
    DataArray
        ``values`` with ``output`` replaced by ``latent`` (``x0 … x{D-1}``).

    Raises
    ------
    ValueError
        If ``values`` lacks an ``output`` dim, sizes disagree, C is rank deficient or
        ``n_samples`` is not positive.

    Examples
    --------
    >>> import xarray as xr
    >>> C = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    >>> mu = np.array([0.3, -0.45])
    >>> logits = xr.DataArray(probit_to_logit(np.sqrt(20) * C @ mu / 0.2), dims=("output",))
    >>> recover_latent(logits, C, 0.2, 20).values.round(12)
    array([ 0.3 , -0.45])
    """
    check_type("values", values, xr.DataArray, "an xarray.DataArray with an 'output' dim")
    if OUTPUT not in values.dims:
        raise ValueError(f"values must have an 'output' dim; got {describe(values)}")
    check_in("scale", scale, ["logit", "probit", "probability"])
    sigma = check_real("sigma", sigma, minimum=0.0, strict_minimum=True)
    normals_kxd = check_array("normals", normals, ndim=2, dtype=np.float64)
    if normals_kxd.shape[0] != values.sizes[OUTPUT]:
        raise ValueError(
            f"normals must have one row per output ({values.sizes[OUTPUT]}); got {describe(normals_kxd)}"
        )
    if np.linalg.matrix_rank(normals_kxd) < normals_kxd.shape[1]:
        raise ValueError(
            f"normals must have full column rank {normals_kxd.shape[1]}; got a rank-deficient {describe(normals_kxd)}"
        )
    t = n_samples if isinstance(n_samples, xr.DataArray) else check_real("n_samples", n_samples)
    if np.any(np.asarray(t) <= 0) or not np.all(np.isfinite(np.asarray(t))):
        raise ValueError(f"n_samples must be positive and finite; got {describe(n_samples)}")
    check_finite("values", values.values)
    if scale == "logit":
        z = xr.apply_ufunc(logit_to_probit, values)
    elif scale == "probability":
        if bool(((values < 0) | (values > 1)).any()):
            raise ValueError(f"values must be probabilities in [0, 1] when scale='probability'; got {describe(values)}")
        z = xr.apply_ufunc(ndtri, values)
    else:
        z = values
    pinv_dxk = np.linalg.pinv(normals_kxd)  # (CᵀC)⁻¹Cᵀ for full column rank
    projector = xr.DataArray(pinv_dxk, dims=(LATENT, OUTPUT))
    mean = xr.dot(projector, z, dim=OUTPUT) * sigma / np.sqrt(t)
    dims = [d if d != OUTPUT else LATENT for d in values.dims]
    mean = mean.transpose(*dims, *[d for d in mean.dims if d not in dims])
    return mean.assign_coords({LATENT: [f"x{i}" for i in range(normals_kxd.shape[1])]})


def _samples(sigma: float, n_steps: int, free_rt: bool) -> tuple[float, int]:
    """Validated σ and the number of evidence samples t (free RT: the decision step is one more)."""
    sigma = check_real("sigma", sigma, minimum=0.0)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    check_type("free_rt", free_rt, bool, "a bool")
    return sigma, n_steps + 1 if free_rt else n_steps


def r2_ceiling(sigma: float, n_steps: int, *, var_x: float = VAR_UNIFORM, free_rt: bool = False) -> float:
    """The paper's r² ceiling ``1 - σ²/(t · Var x)``: the r² of the running mean of the samples.

    After ``t`` samples the running mean, the ideal observer's unbiased estimate of x,
    has error variance σ²/t per dimension; the paper takes its r² as the ceiling of any
    network. It bounds unbiased (and linear-in-the-samples, unshrunk) estimates only:
    on the bounded latent box the posterior mean does better when σ²/t is not small
    (:func:`bayes_r2_ceiling`), so a network may sit slightly above this value at short
    durations. With free reaction time the stimulus stays on through the decision
    step, so ``t = n_steps + 1``.

    Parameters
    ----------
    sigma : float
        Per-step noise sd σ (>= 0).
    n_steps : int
        Number of stimulus steps T (>= 1).
    var_x : float
        Variance of each latent coordinate (1/12 for U(-0.5, 0.5)).
    free_rt : bool
        Count the decision step as one more sample.

    Returns
    -------
    float

    Examples
    --------
    >>> round(r2_ceiling(0.2, 20), 4)
    0.976
    >>> round(r2_ceiling(0.2, 20, free_rt=True), 4)
    0.9771
    """
    sigma, t = _samples(sigma, n_steps, free_rt)
    var_x = check_real("var_x", var_x, minimum=0.0, strict_minimum=True)
    return 1.0 - sigma**2 / (t * var_x)


def bayes_r2_ceiling(sigma: float, n_steps: int, *, free_rt: bool = False) -> float:
    """The r² of the Bayes-optimal estimate of x after ``t`` samples, x ~ U(-0.5, 0.5) per dimension.

    The true ceiling of any decoder of the paper's latent box: the posterior mean
    ``E[x | m]`` given the running mean ``m`` (a sufficient statistic, m | x ~ N(x, s²),
    s² = σ²/t) is a normal of mean m and sd s truncated to the box, and its mean squared
    error is ``E_m[Var(x | m)]``, integrated here over m by quadrature. It exceeds
    :func:`r2_ceiling` (the running mean's r², the paper's ceiling) because it shrinks
    estimates near the edges of the box: 0.9195 against 0.904 for σ = 0.2 and t = 5
    samples, 0.978 against 0.976 at t = 20; the two meet as σ²/t → 0.

    Parameters
    ----------
    sigma : float
        Per-step noise sd σ (>= 0).
    n_steps : int
        Number of stimulus steps T (>= 1).
    free_rt : bool
        Count the decision step as one more sample (``t = n_steps + 1``).

    Returns
    -------
    float
        ``1 - E[(E[x | m] - x)²] / Var x`` with Var x = 1/12.

    Examples
    --------
    >>> round(bayes_r2_ceiling(0.2, 4, free_rt=True), 4), round(r2_ceiling(0.2, 4, free_rt=True), 4)
    (0.9195, 0.904)
    >>> bayes_r2_ceiling(0.0, 10)
    1.0
    """
    from scipy.integrate import quad
    from scipy.stats import norm

    sigma, t = _samples(sigma, n_steps, free_rt)
    s = sigma / np.sqrt(t)
    if s == 0.0:
        return 1.0

    def weighted_variance(m: float) -> float:
        """p(m) · Var(x | m): p(m) = Φ(b) - Φ(a) for the unit-width box, a, b its ends in sd units."""
        a, b = (-0.5 - m) / s, (0.5 - m) / s
        mass = norm.cdf(b) - norm.cdf(a)
        if mass < 1e-300:
            return 0.0
        pa, pb = norm.pdf(a), norm.pdf(b)
        return s * s * (mass + a * pa - b * pb - (pa - pb) ** 2 / mass)

    reach = 0.5 + 12.0 * s
    mse, _ = quad(weighted_variance, -reach, reach, points=[-0.5, 0.5], limit=200, epsabs=1e-12)
    return float(1.0 - mse / VAR_UNIFORM)
