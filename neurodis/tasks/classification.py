"""Multi-task boundary classification: the paper's main task, and its ideal observer.

A latent ``x`` (uniform on the box [-0.5, 0.5]^D, or through a Gaussian copula) is
observed through noise, ``X(t) = x + n(t)``, on every stimulus step; at the decision
period the network reports N binary labels, one per boundary, of the noise-free ``x``.

Boundaries
----------
``linear``
    D = 2: N lines through the origin at ``φ_k = (k + ½)π/N`` with the oriented unit
    normals ``c_k = sign(cos φ_k)(-sin φ_k, cos φ_k)``, so ``y_k = 1[c_k·x > 0] =
    1[x₂ > tan(φ_k) x₁]`` without ever forming ``tan(π/2)``; then ``CᵀC = (N/2) I``.
    D ≠ 2: N random unit normals drawn from ``boundary_seed`` (stored as ``normals``).
``multiplicative`` (D = 2, N divisible by 4)
    N/4 hyperbolae ``|x₁x₂| = θ_j`` in each quadrant: output ``q·(N/4) + j``
    (q = 0..3 for Q1..Q4) is 1 when ``x`` lies in quadrant ``q+1`` *and*
    ``|x₁x₂| > θ_j``. Inside a quadrant ``|x₁x₂| = ab/4`` with ``a, b``
    i.i.d. U(0, 1), whose CDF is ``p - p ln p``; the ``θ_j`` are its quantiles
    ``(j + ½)/(N/4)``, so each hyperbola splits its quadrant's prior mass at evenly
    spaced levels (via the lower branch of the Lambert W function).
``circular`` (D = 2)
    ``y_k = 1[x₁² + x₂² > r_k²]`` with ``r_k`` the ``(k + ½)/N`` quantiles of ``‖x‖``
    under the box prior (area of disk ∩ square), so the circles split the prior mass
    at evenly spaced levels.

Timing and targets
------------------
The fixation channel is 1 on every step before the decision period and 0 during it
(the go cue); stimulus channels carry ``X(t)`` on stimulus steps only. Targets are 0.5
before the decision period and the label during it. Loss masks:

- ``"paper"``: every step weighs 1 (so the 0.5 targets are trained, as the authors did);
- ``"decision"``: decision steps weigh 1, all others 0;
- ``"balanced"``: decision steps weigh 1 and each of the ``n_pre`` earlier steps weighs
  ``n_dec / n_pre``, so the decision period carries exactly half the total weight.

Several trials in a row (``trials_per_sequence = k``)
------------------------------------------------------
One sequence concatenates ``k`` independent trials in time (``k × n_steps`` steps), each
with its own latent and labels; outputs are shared. ``latents`` then has ``k·D``
entries ordered trial-major and named ``x0 .. x{D-1}`` for the first trial and
``x{i}_{j}`` for trial ``j >= 1`` (so code that reads ``x0``/``x1`` sees the first
trial); trial coords ``orthant``/``quadrant`` describe the first trial and
``orthant_{j}``/``quadrant_{j}`` the others. The schema stays one variable per
quantity, with no ambiguous extra dimension.

Ideal observer
--------------
:meth:`ClassificationTask.ideal_logits` gives the Bayes log-odds of every label given
the stimulus so far, under the flat-prior posterior ``x ~ N(μ(t), V(t))`` of the noise
model (SCIENCE.md §7; it ignores the box truncation of the prior, which only matters
near the box edges). Linear: ``logit = log Φ(z) - log Φ(-z)`` with
``z = c·μ / sqrt(Σ_i c_i² V_i)`` via ``log_ndtr``, so it never saturates. Circular:
``‖x‖²/v`` is noncentral χ² (needs an isotropic posterior). Multiplicative:
the ``x₂`` integral in closed form and quadrature over ``x₁`` (Gauss–Legendre in
``ln|x₁|``, which tracks the essential singularity of ``θ/x₁`` far better than
Gauss–Hermite), for both ``P`` and ``1 - P`` so both tails keep relative precision. Nonlinear logits are
clipped to ±:data:`LOGIT_LIMIT` where the tails underflow. Before any evidence the
logit is 0; after the stimulus it stays at its last value. For Gumbel noise the
posterior is the Gaussian approximation with matched variance (``exact = 0`` in the
result's attrs).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import xarray as xr
from numpy.polynomial.legendre import leggauss
from scipy.special import expit, lambertw, log_ndtr, logsumexp

from neurodis._validation import (
    check_array,
    check_dims,
    check_in,
    check_int,
    check_memory,
    check_type,
    describe,
)
from neurodis._version import __version__
from neurodis.latents import orthant_coords
from neurodis.probit import probit_to_logit
from neurodis.tasks._evidence import check_sample_args, draw_evidence, tile
from neurodis.tasks.base import Task, Timing, TrialBatch, register_task, set_derived
from neurodis.tasks.latents import (
    LatentPrior,
    quadrant_codes,
)
from neurodis.tasks.noise import NoiseModel, coerce_noise
from neurodis.trials import INPUT, OUTPUT, TIME, TRIAL

__all__ = [
    "BOUNDARIES",
    "LOGIT_LIMIT",
    "LOSS_MASKS",
    "ClassificationTask",
    "boundary_normals",
    "circular_radii",
    "coerce_timing",
    "multiplicative_thresholds",
]

BOUNDARIES = ("linear", "multiplicative", "circular")
LOSS_MASKS = ("paper", "decision", "balanced")
#: nonlinear-boundary logits are clipped to ±LOGIT_LIMIT (their tails underflow; any
#: clipped value's true magnitude is larger)
LOGIT_LIMIT = 100.0
# Gauss–Legendre rule (in ln u) and half-width in sds of the multiplicative observer
_GL_NODES, _GL_WEIGHTS = leggauss(128)
_GL_LOGW = np.log(_GL_WEIGHTS)
_K = 15.0
# sign of (x1, x2) in quadrants Q1..Q4
_QUADRANT_SIGNS = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])


def boundary_normals(n_tasks: int, n_dims: int, seed: int = 0) -> np.ndarray:
    """Unit normals of the linear boundaries, shape (n_tasks, n_dims).

    D = 2: the evenly spaced oriented normals ``sign(cos φ_k)(-sin φ_k, cos φ_k)``;
    otherwise ``n_tasks`` random unit vectors drawn from ``seed``.

    Examples
    --------
    >>> c = boundary_normals(4, 2)
    >>> np.allclose(c.T @ c, 2 * np.eye(2))
    True
    """
    check_memory("n_tasks", n_tasks, 8.0 * n_tasks * max(n_dims, 4), f"boundary normals (task, {n_dims} dims) float64")
    if n_dims == 2:
        phi = (np.arange(n_tasks) + 0.5) * np.pi / n_tasks
        return np.sign(np.cos(phi))[:, None] * np.stack([-np.sin(phi), np.cos(phi)], axis=1)
    normals = np.random.default_rng(seed).standard_normal((n_tasks, n_dims))
    return normals / np.linalg.norm(normals, axis=1, keepdims=True)


def multiplicative_thresholds(n_per_quadrant: int) -> np.ndarray:
    """``θ_j``: the ``(j+½)/M`` quantiles of ``|x₁x₂|`` within one quadrant of the box.

    ``|x₁x₂| = p/4`` with ``P(p ≤ s) = s - s ln s``; solving ``s - s ln s = q`` gives
    ``s = exp(1 + W₋₁(-q/e))``.

    Examples
    --------
    >>> multiplicative_thresholds(1).round(4)
    array([0.0467])
    """
    q = (np.arange(n_per_quadrant) + 0.5) / n_per_quadrant
    return np.exp(1.0 + lambertw(-q / np.e, k=-1).real) / 4.0


def _disk_box_fraction(r: np.ndarray) -> np.ndarray:
    """Area of the disk of radius ``r`` inside the unit box [-0.5, 0.5]²."""
    inner = np.pi * r**2
    rr = np.maximum(r, 0.5)
    caps = 4.0 * (rr**2 * np.arccos(0.5 / rr) - 0.5 * np.sqrt(rr**2 - 0.25))
    return np.clip(np.where(r <= 0.5, inner, inner - caps), 0.0, 1.0)


def circular_radii(n_tasks: int) -> np.ndarray:
    """``r_k``: the ``(k+½)/N`` quantiles of ``‖x‖`` under the box prior (bisection).

    Examples
    --------
    >>> circular_radii(2).round(4)
    array([0.2821, 0.4886])
    """
    target = (np.arange(n_tasks) + 0.5) / n_tasks
    low, high = np.zeros(n_tasks), np.full(n_tasks, math.sqrt(0.5))
    for _ in range(60):  # bisection to float precision, vectorised over the radii
        mid = 0.5 * (low + high)
        below = _disk_box_fraction(mid) < target
        low, high = np.where(below, mid, low), np.where(below, high, mid)
    return 0.5 * (low + high)


def coerce_timing(timing: Any, task: str, required: tuple[str, ...]) -> Timing:
    """``timing`` as a :class:`Timing` (a mapping of its fields is accepted).

    Raises
    ------
    TypeError
        If ``timing`` is neither a Timing nor a mapping.
    ValueError
        If a period in ``required`` has no step.
    """
    if isinstance(timing, Mapping):
        timing = Timing(**timing)
    check_type("timing", timing, Timing, "a Timing or a mapping of its fields")
    for period in required:
        if timing.steps(period) < 1:
            raise ValueError(
                f"timing.{period} must last at least one step (dt={timing.dt} ms) for the "
                f"{task!r} task; got {getattr(timing, period)}"
            )
    return timing


def check_template_memory(n_dims: int, timing: Timing, n_tasks: int = 0) -> None:
    """Refuse, before allocating them, per-step templates and normals that would not fit in memory.

    The message names the size that dominates (the largest of ``n_dims``, ``n_tasks``
    and the number of time steps set by ``timing``).

    Raises
    ------
    ValueError
        Naming ``n_dims``, ``n_tasks`` or ``timing`` and the bytes needed.

    Examples
    --------
    >>> check_template_memory(2, Timing(), n_tasks=10**12)
    Traceback (most recent call last):
    ...
    ValueError: n_tasks=1000000000000 would need about 3.7e+14 bytes (per-step templates and boundary ...
    """
    n_steps = timing.n_steps
    contents = f"per-step templates and boundary normals float64 for {n_steps} steps, {n_dims} latent dims" + (
        f", {n_tasks} tasks" if n_tasks else "")
    # inputs (time, 1 + dims), targets and mask (time, tasks or dims), normals (tasks, dims)
    n_bytes = 8.0 * (n_steps * (1 + n_dims + 2 * max(n_tasks, n_dims)) + n_tasks * n_dims)
    sizes = [("n_dims", n_dims, n_dims), ("n_tasks", n_tasks, n_tasks), ("timing", f"<{n_steps} steps>", n_steps)]
    name, value, _ = max(sizes, key=lambda item: item[2])
    check_memory(name, value, n_bytes, contents)


def _linear_logits(mean_bxtxd: np.ndarray, var_txd: np.ndarray, normals_nxd: np.ndarray) -> np.ndarray:
    return probit_to_logit((mean_bxtxd @ normals_nxd.T) / np.sqrt(var_txd @ (normals_nxd**2).T))


def _circular_logits(mean_bxtxd: np.ndarray, var_txd: np.ndarray, radii_n: np.ndarray) -> np.ndarray:
    from scipy.stats import (
        ncx2,  # scipy.stats is slow to import; only the observer needs it
    )

    if not np.allclose(var_txd, var_txd[:, :1]):
        raise NotImplementedError(
            "the circular ideal observer needs an isotropic posterior; got per-dimension "
            f"variances {var_txd[-1].tolist()} (anisotropic noise)"
        )
    var_t = var_txd[:, 0]
    noncentrality = (mean_bxtxd**2).sum(-1)[..., None] / var_t[:, None]
    scaled = radii_n**2 / var_t[:, None]
    logit = ncx2.logsf(scaled, 2, noncentrality) - ncx2.logcdf(scaled, 2, noncentrality)
    return np.clip(logit, -LOGIT_LIMIT, LOGIT_LIMIT)


def _multiplicative_logits(
    mean_bxtxd: np.ndarray, var_txd: np.ndarray, thresholds_m: np.ndarray
) -> np.ndarray:
    """Log-odds of ``u > 0, v > 0, uv > θ`` for ``u = a₁x₁``, ``v = a₂x₂`` per quadrant.

    ``P = ∫ φ(u) Φ((μ_v - θ/u)/s_v) du`` and ``1 - P = P(u < lo) + ∫ φ(u) Φ((θ/u - μ_v)/s_v)
    du`` over ``u ∈ [lo, hi]``: ``hi = μ_u + Ks_u`` and ``lo = max(μ_u - Ks_u, θ/(|μ_v| +
    Ks_v))`` (below it ``uv > θ`` has probability < Φ(-K)), with ``K = 15``. Both
    integrals use Gauss–Legendre nodes in ``ln u``, where ``θ/u`` is smooth; Gauss–Hermite
    in ``u`` converges slowly here (the integrand has an essential singularity at
    ``u = 0``; 64 nodes gave logit errors up to ~0.9, against ~1e-7 for this rule).
    """
    n_trials, n_steps, _ = mean_bxtxd.shape
    s_u, s_v = (np.sqrt(var_txd[:, i])[:, None] for i in (0, 1))  # (step, 1)
    out = np.empty((n_trials, n_steps, 4, len(thresholds_m)))
    # block over trials so the (trial, step, threshold, node) temporaries stay small
    block = max(1, 2**20 // (n_steps * len(thresholds_m) * len(_GL_NODES)))
    for start in range(0, n_trials, block):
        mean = mean_bxtxd[start:start + block]
        for q, (a1, a2) in enumerate(_QUADRANT_SIGNS):
            mu_u, mu_v = a1 * mean[..., 0, None], a2 * mean[..., 1, None]  # (trial, step, 1)
            low = np.maximum(mu_u - _K * s_u, thresholds_m / (np.abs(mu_v) + _K * s_v))
            high = mu_u + _K * s_u
            empty = high <= low  # no mass where uv > θ is possible: P < Φ(-K)
            log_low, log_high = np.log(low), np.log(np.where(empty, 2 * low, high))
            half = 0.5 * (log_high - log_low)[..., None]
            log_u = half * _GL_NODES + (0.5 * (log_high + log_low))[..., None]
            u = np.exp(log_u)
            log_w = (_GL_LOGW + np.log(half) + log_u
                     - 0.5 * ((u - mu_u[..., None]) / s_u[:, :, None]) ** 2
                     - np.log(s_u[:, :, None] * math.sqrt(2 * math.pi)))
            z = (mu_v[..., None] - thresholds_m[:, None] / u) / s_v[:, :, None]
            log_p = logsumexp(log_w + log_ndtr(z), axis=-1)
            log_q = np.logaddexp(log_ndtr((low - mu_u) / s_u), logsumexp(log_w + log_ndtr(-z), axis=-1))
            out[start:start + block, :, q] = np.where(empty, -LOGIT_LIMIT, log_p - log_q)
    return np.clip(out.reshape(n_trials, n_steps, -1), -LOGIT_LIMIT, LOGIT_LIMIT)


@register_task
@dataclass(frozen=True, kw_only=True)
class ClassificationTask(Task):
    """N binary classifications of a noisy latent (see the module docstring).

    Parameters
    ----------
    n_tasks : int
        Number of boundaries N (outputs ``task_0 .. task_{N-1}``).
    n_dims : int
        Latent dimensionality D.
    sigma : float
        Per-step noise sd.
    noise : {"gaussian", "anisotropic", "ar1", "gumbel"}
    noise_params : dict
        Extra noise parameters, e.g. ``{"ar": 0.5}`` or ``{"ratio": 2.0}``.
    boundary : {"linear", "multiplicative", "circular"}
    boundary_seed : int
        Seed of the random normals (linear boundaries, D ≠ 2).
    latent_correlation : float
        Pairwise correlation of the Gaussian copula of the latents.
    loss_mask : {"paper", "decision", "balanced"}
    timing : Timing
        Needs at least one stimulus and one decision step.
    trials_per_sequence : int
        Trials concatenated in one sequence.

    Raises
    ------
    ValueError
        For out-of-range values, unknown names, a nonlinear boundary with D ≠ 2, N not
        divisible by 4 for multiplicative boundaries, or a timing without stimulus or
        decision steps.
    TypeError
        For arguments of the wrong type or unknown noise parameters.

    Examples
    --------
    >>> task = ClassificationTask(n_tasks=4)
    >>> batch = task.sample_arrays(3, np.random.default_rng(0))
    >>> batch.inputs.shape, batch.targets.shape
    ((3, 22, 3), (3, 22, 4))
    >>> bool(np.all(batch.targets[:, 21] == task.labels(batch.latents)))
    True
    """

    name: ClassVar[str] = "classification"
    #: intended readout nonlinearity and loss of a network trained on this task
    readout: ClassVar[str] = "sigmoid"
    loss: ClassVar[str] = "bce"

    n_tasks: int = 24
    n_dims: int = 2
    sigma: float = 0.2
    noise: str = "gaussian"
    noise_params: dict[str, Any] = field(default_factory=dict)
    boundary: str = "linear"
    boundary_seed: int = 0
    latent_correlation: float = 0.0
    loss_mask: str = "paper"
    timing: Timing = field(default_factory=Timing)
    trials_per_sequence: int = 1

    def __post_init__(self) -> None:
        n_tasks = check_int("n_tasks", self.n_tasks, minimum=1)
        n_dims = check_int("n_dims", self.n_dims, minimum=1)
        check_in("boundary", self.boundary, BOUNDARIES)
        check_in("loss_mask", self.loss_mask, LOSS_MASKS)
        if self.boundary != "linear" and n_dims != 2:
            raise ValueError(f"boundary={self.boundary!r} needs n_dims=2; got n_dims={n_dims}")
        if self.boundary == "multiplicative" and n_tasks % 4:
            raise ValueError(
                f"n_tasks must be divisible by 4 for multiplicative boundaries (N/4 per quadrant); "
                f"got {n_tasks}"
            )
        timing = coerce_timing(self.timing, self.name, ("stimulus", "decision"))
        check_template_memory(n_dims, timing, n_tasks)
        set_derived(
            self, n_tasks=n_tasks, n_dims=n_dims, timing=timing,
            boundary_seed=check_int("boundary_seed", self.boundary_seed, minimum=0),
            trials_per_sequence=check_int("trials_per_sequence", self.trials_per_sequence, minimum=1),
            noise_params=dict(check_type("noise_params", self.noise_params, Mapping, "a mapping")),
        )
        noise_model = coerce_noise(self.noise, self.sigma, self.noise_params, n_dims)
        set_derived(self, sigma=float(noise_model.sigma), _noise_model=noise_model,
             _prior=LatentPrior(n_dims, self.latent_correlation))
        set_derived(self, latent_correlation=self._prior.correlation)
        self._precompute()

    def _precompute(self) -> None:
        timing, n_tasks = self.timing, self.n_tasks
        stim, dec = timing.period_slice("stimulus"), timing.period_slice("decision")
        n_steps, n_dec = timing.n_steps, dec.stop - dec.start
        inputs_txi = np.zeros((n_steps, 1 + self.n_dims))
        inputs_txi[: dec.start, 0] = 1.0  # fixation until the go cue
        weight_t = np.zeros(n_steps) if self.loss_mask == "decision" else np.ones(n_steps)
        if self.loss_mask == "balanced":
            weight_t[: dec.start] = n_dec / dec.start  # >= 1 stimulus step precedes it
        weight_t[dec] = 1.0
        normals = thresholds = None
        if self.boundary == "linear":
            normals = boundary_normals(n_tasks, self.n_dims, self.boundary_seed)
        elif self.boundary == "multiplicative":
            thresholds = multiplicative_thresholds(n_tasks // 4)
        else:
            thresholds = circular_radii(n_tasks)
        # per-step templates copied into every batch (cheaper than building them anew)
        set_derived(self, _n_steps=n_steps, _stim=stim, _dec=dec, _inputs_txi=inputs_txi,
             _targets_txn=np.full((n_steps, n_tasks), 0.5),
             _mask_txn=np.repeat(weight_t[:, None], n_tasks, axis=1), _normals=normals,
             _thresholds=thresholds)

    # ---------------------------------------------------------------- names
    @property
    def input_names(self) -> list[str]:
        """``fixation`` then ``stimulus_0 .. stimulus_{D-1}``."""
        return ["fixation"] + [f"stimulus_{i}" for i in range(self.n_dims)]

    @property
    def output_names(self) -> list[str]:
        """``task_0 .. task_{N-1}``."""
        return [f"task_{k}" for k in range(self.n_tasks)]

    @property
    def latent_names(self) -> list[str]:
        """``x0 ..`` for the first trial of a sequence, ``x{i}_{j}`` for trial j >= 1."""
        return [f"x{i}" if j == 0 else f"x{i}_{j}"
                for j in range(self.trials_per_sequence) for i in range(self.n_dims)]

    @property
    def noise_model(self) -> NoiseModel:
        """The observation noise model."""
        return self._noise_model

    @property
    def normals(self) -> np.ndarray:
        """Unit normals ``C`` of the linear boundaries, shape (n_tasks, n_dims).

        Raises
        ------
        ValueError
            For nonlinear boundaries, which have no normals.
        """
        if self._normals is None:
            raise ValueError(f"normals exist for boundary='linear' only; got boundary={self.boundary!r}")
        return self._normals.copy()

    @property
    def thresholds(self) -> np.ndarray | None:
        """``θ_j`` (multiplicative, one per hyperbola per quadrant) or ``r_k`` (circular)."""
        return None if self._thresholds is None else self._thresholds.copy()

    # ---------------------------------------------------------------- labels
    def _labels(self, x_bxd: np.ndarray) -> np.ndarray:
        if self.boundary == "linear":
            return (x_bxd @ self._normals.T > 0).astype(np.float64)
        if self.boundary == "circular":
            return ((x_bxd**2).sum(1)[:, None] > self._thresholds**2).astype(np.float64)
        in_quadrant_bx4 = quadrant_codes(x_bxd)[:, None] == np.arange(1, 5)
        above_bxm = np.abs(x_bxd[:, 0] * x_bxd[:, 1])[:, None] > self._thresholds
        return (in_quadrant_bx4[:, :, None] & above_bxm[:, None, :]).reshape(len(x_bxd), -1).astype(np.float64)

    def labels(self, latents: np.ndarray) -> np.ndarray:
        """Noise-free labels (0.0 / 1.0) of each boundary, shape (trial, n_tasks).

        Parameters
        ----------
        latents : ndarray, shape (trial, n_dims)

        Returns
        -------
        ndarray, shape (trial, n_tasks)

        Raises
        ------
        ValueError
            If ``latents`` is not (trial, n_dims) or holds non-finite values.
        """
        return self._labels(check_array("latents", latents, shape=(None, self.n_dims)))

    # ---------------------------------------------------------------- sampling
    def sample_arrays(self, n_trials: int, rng: np.random.Generator) -> TrialBatch:
        """Draw ``n_trials`` sequences as raw float64 arrays (vectorised over trials)."""
        n_trials = check_sample_args(n_trials, rng)
        k, n_dims, n_steps = self.trials_per_sequence, self.n_dims, self._n_steps
        m = n_trials * k
        x_mxd, observed = draw_evidence(self._prior, self._noise_model, self._stim, m, rng)
        inputs = tile(self._inputs_txi, m)
        inputs[:, self._stim, 1:] = observed
        targets = tile(self._targets_txn, m)
        targets[:, self._dec] = self._labels(x_mxd)[:, None, :]
        mask = tile(self._mask_txn, m)
        coords = orthant_coords(x_mxd, n_trials, k)
        if k == 1:
            return TrialBatch(inputs, targets, mask, x_mxd, coords)
        return TrialBatch(
            inputs.reshape(n_trials, k * n_steps, -1), targets.reshape(n_trials, k * n_steps, -1),
            mask.reshape(n_trials, k * n_steps, -1), x_mxd.reshape(n_trials, k * n_dims), coords,
        )

    # ---------------------------------------------------------------- ideal observer
    def ideal_logits(self, batch: TrialBatch, step: int | None = None) -> np.ndarray:
        """Bayes log-odds of every label given the raw stimulus up to each step.

        Parameters
        ----------
        batch : TrialBatch
            Trials of this task (unencoded inputs).
        step : int, optional
            One time index (negative counts from the end): only that step's log-odds
            are computed (the trainer scores the decision step alone, and the
            conversion to log-odds is most of the cost).

        Returns
        -------
        ndarray, shape (trial, time, output), or (trial, output) with ``step``
            0 before any evidence; held at its last value after the stimulus period.

        Raises
        ------
        ValueError
            If the inputs do not have this task's shape, ``step`` is out of range, or
            ``sigma`` is 0.
        NotImplementedError
            For circular boundaries with anisotropic noise.

        Examples
        --------
        >>> task = ClassificationTask(n_tasks=2)
        >>> batch = task.sample_arrays(1, np.random.default_rng(0))
        >>> logits = task.ideal_logits(batch)
        >>> logits.shape, float(abs(logits[0, 0]).max())
        ((1, 22, 2), 0.0)
        >>> bool(np.array_equal(task.ideal_logits(batch, step=-1), logits[:, -1]))
        True
        """
        check_type("batch", batch, TrialBatch, "a TrialBatch")
        if step is None:
            return self._ideal_logits(batch.inputs)
        n_time = self.trials_per_sequence * self._n_steps
        step = check_int("step", step, minimum=-n_time, maximum=n_time - 1)
        return self._ideal_logits(batch.inputs, step=step % n_time)

    def _ideal_logits(self, inputs: np.ndarray, step: int | None = None) -> np.ndarray:
        """All steps' log-odds ``(trial, time, output)``, or step ``step``'s ``(trial, output)``."""
        k, n_steps, stim = self.trials_per_sequence, self._n_steps, self._stim
        inputs = check_array("inputs", inputs, shape=(None, k * n_steps, 1 + self.n_dims))
        if self.sigma == 0:
            raise ValueError("sigma must be > 0 for the ideal observer (noise-free evidence); got 0.0")
        n_trials = inputs.shape[0]
        if step is not None:
            # the step's trial of each sequence, and its evidence so far (none before the stimulus)
            sequence, local = divmod(step, n_steps)
            if local < stim.start:
                return np.zeros((n_trials, self.n_tasks))
            seen = min(local, stim.stop - 1) - stim.start + 1
            trial = inputs.reshape(n_trials, k, n_steps, -1)[:, sequence]
            mean, var = self._noise_model.posterior(trial[:, stim.start:stim.start + seen, 1:])
            return self._logits(mean[:, -1:], var[-1:])[:, 0]
        m = n_trials * k
        mean, var = self._noise_model.posterior(inputs.reshape(m, n_steps, -1)[:, stim, 1:])
        logit = self._logits(mean, var)
        logits = np.zeros((m, n_steps, self.n_tasks))
        logits[:, stim] = logit
        logits[:, stim.stop:] = logit[:, -1:]
        return logits.reshape(n_trials, k * n_steps, self.n_tasks)

    def _logits(self, mean_bxtxd: np.ndarray, var_txd: np.ndarray) -> np.ndarray:
        """Log-odds ``(trial, step, output)`` of the labels under posteriors ``N(mean, var)``."""
        if self.boundary == "linear":
            return _linear_logits(mean_bxtxd, var_txd, self._normals)
        if self.boundary == "circular":
            return _circular_logits(mean_bxtxd, var_txd, self._thresholds)
        return _multiplicative_logits(mean_bxtxd, var_txd, self._thresholds)

    def ideal_observer(self, trials: xr.Dataset) -> xr.Dataset:
        """The ideal observer's ``logit`` and ``probability`` for a trials Dataset.

        Parameters
        ----------
        trials : xarray.Dataset
            Trials of this task with raw (unencoded) ``inputs (trial, time, input)``.

        Returns
        -------
        xarray.Dataset
            ``logit`` and ``probability`` with dims (trial, time, output), the trials'
            trial coords, and attrs ``task``, ``config``, ``exact`` (1 when the
            posterior is exact for the noise model), ``neurodis_version``.

        Raises
        ------
        TypeError
            If ``trials`` is not a Dataset.
        ValueError
            If the inputs are encoded or do not match the task.

        Examples
        --------
        >>> task = ClassificationTask(n_tasks=3)
        >>> obs = task.ideal_observer(task.sample(4, rng=0))
        >>> obs["probability"].dims
        ('trial', 'time', 'output')
        """
        check_type("trials", trials, xr.Dataset, "an xarray.Dataset")
        if "inputs" not in trials:
            raise ValueError(f"trials must contain 'inputs'; got variables {list(trials.data_vars)}")
        check_dims("trials['inputs']", trials["inputs"], (TRIAL, TIME, INPUT))
        names = [str(name) for name in trials[INPUT].values]
        if names != self.input_names:
            raise ValueError(
                f"trials['inputs'] must hold the raw channels {self.input_names} (the ideal "
                f"observer reads the unencoded stimulus); got {describe(names)}"
            )
        logits = self._ideal_logits(trials["inputs"].values)
        coords = {name: c for name, c in trials.coords.items() if set(c.dims) <= {TRIAL, TIME}}
        dims = (TRIAL, TIME, OUTPUT)
        return xr.Dataset(
            {"logit": (dims, logits), "probability": (dims, expit(logits))},
            coords={**coords, OUTPUT: self.output_names},
            attrs={"task": self.name, "config": json.dumps(self.config(), sort_keys=True),
                   "exact": int(self._noise_model.exact_posterior), "neurodis_version": __version__},
        )
