"""Observation noise models: ``X(t) = x + n(t)`` on every stimulus step.

``sigma`` is always the **per-step** standard deviation of the noise (the paper's
default is 0.2; the authors wrote it as 2 / sqrt(dt in ms) with dt = 100 ms).

========================  ==============================================================
``gaussian``              i.i.d. ``N(0, σ²)`` per step, trial and dimension
``anisotropic``           i.i.d. Gaussian with per-dimension sd ``σ_i``: by default
                          ``σ_i = σ · ratio**(i / (D-1))`` (so ``σ₂ = 2σ₁`` for D = 2 and
                          the default ``ratio=2``), or ``σ_i = σ · scales[i]``
``ar1``                   ``n_t = a n_{t-1} + sqrt(1-a²) σ ε_t`` with a stationary start
                          ``n_0 ~ N(0, σ²)``, so every step has sd σ and lag-1
                          correlation ``a`` (parameter ``ar``)
``gumbel``                centred Gumbel: mean 0 and sd σ (scale ``β = σ√6/π``,
                          location ``-γβ``); the authors' version had mean ``0.577σ``
========================  ==============================================================

Every model also gives the flat-prior Gaussian posterior of ``x`` after each stimulus
step (:meth:`NoiseModel.posterior`), which the ideal observer of the classification
task builds on. It is exact for the Gaussian models (including AR(1), where it is the
generalised-least-squares mean) and a Gaussian approximation with matched per-step
variance for the Gumbel model (``exact_posterior = False``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from neurodis._validation import check_in, check_real, check_type, describe

__all__ = [
    "NOISE_MODELS",
    "AR1Noise",
    "AnisotropicNoise",
    "GaussianNoise",
    "GumbelNoise",
    "NoiseModel",
    "coerce_noise",
    "make_noise",
]


def _check_shape(shape: Any) -> tuple[int, int, int]:
    if (not isinstance(shape, tuple) or len(shape) != 3
            or not all(isinstance(s, (int, np.integer)) and s >= 0 for s in shape)):
        raise ValueError(
            f"shape must be a tuple (n_trials, n_steps, n_dims) of non-negative integers; "
            f"got {describe(shape)}"
        )
    return tuple(int(s) for s in shape)  # type: ignore[return-value]


@dataclass(frozen=True, kw_only=True)
class NoiseModel:
    """Base class: additive observation noise with per-step sd ``sigma``.

    Parameters
    ----------
    sigma : float
        Per-step standard deviation (>= 0).
    """

    name: ClassVar[str] = ""
    #: whether :meth:`posterior` is the exact flat-prior posterior
    exact_posterior: ClassVar[bool] = True

    sigma: float = 0.2

    def __post_init__(self) -> None:
        check_real("sigma", self.sigma, minimum=0.0)

    def sds(self, n_dims: int) -> np.ndarray:
        """Stationary per-step standard deviation of each of ``n_dims`` dims."""
        return np.full(n_dims, float(self.sigma))

    def sample(self, rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
        """Draw noise of shape ``(n_trials, n_steps, n_dims)`` (float64).

        Raises
        ------
        TypeError
            If ``rng`` is not a Generator.
        ValueError
            If ``shape`` is not three non-negative integers or does not fit the model.
        """
        check_type("rng", rng, np.random.Generator, "a numpy.random.Generator")
        return self._draw(rng, _check_shape(shape))

    def _draw(self, rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
        noise = rng.standard_normal(shape)
        noise *= self.sigma
        return noise

    def posterior(self, stimulus_bxtxd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat-prior Gaussian posterior of the latent after each stimulus step.

        Parameters
        ----------
        stimulus_bxtxd : ndarray, shape (trial, step, dim)
            The noisy observations ``X(t)`` of the stimulus steps only.

        Returns
        -------
        mean_bxtxd : ndarray
            Posterior mean after steps ``1..t``.
        var_txd : ndarray, shape (step, dim)
            Posterior variance of each dimension after steps ``1..t``.
        """
        n_steps, n_dims = stimulus_bxtxd.shape[1:]
        counts_t = np.arange(1, n_steps + 1, dtype=np.float64)
        mean = np.cumsum(stimulus_bxtxd, axis=1) / counts_t[:, None]
        return mean, self.sds(n_dims)[None, :] ** 2 / counts_t[:, None]

    def config(self) -> dict[str, Any]:
        """``{"noise": name, **parameters}`` (JSON-serialisable)."""
        return {"noise": self.name, **dataclasses.asdict(self)}


@dataclass(frozen=True, kw_only=True)
class GaussianNoise(NoiseModel):
    """I.i.d. Gaussian noise, sd ``sigma`` per step, trial and dimension."""

    name: ClassVar[str] = "gaussian"


@dataclass(frozen=True, kw_only=True)
class AnisotropicNoise(NoiseModel):
    """Gaussian noise with a different sd per latent dimension.

    Parameters
    ----------
    sigma : float
        Sd of the first dimension.
    ratio : float
        Sd of the last dimension over that of the first (> 0); dims in between are
        spaced geometrically. Ignored when ``scales`` is given.
    scales : tuple of float, optional
        Explicit per-dimension multipliers of ``sigma`` (length D, each > 0).

    Examples
    --------
    >>> AnisotropicNoise(sigma=0.1).sds(2)
    array([0.1, 0.2])
    """

    name: ClassVar[str] = "anisotropic"
    ratio: float = 2.0
    scales: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_real("ratio", self.ratio, minimum=0.0, strict_minimum=True)
        if self.scales is not None:
            scales = tuple(check_real("scales entry", s, minimum=0.0, strict_minimum=True)
                           for s in np.atleast_1d(np.asarray(self.scales, dtype=object)))
            object.__setattr__(self, "scales", scales)

    def sds(self, n_dims: int) -> np.ndarray:
        """Per-dimension sds; raises ``ValueError`` if ``scales`` has the wrong length."""
        if self.scales is not None:
            if len(self.scales) != n_dims:
                raise ValueError(
                    f"scales must have one entry per latent dim ({n_dims}); got {list(self.scales)}"
                )
            return self.sigma * np.asarray(self.scales)
        return self.sigma * self.ratio ** np.linspace(0.0, 1.0, n_dims)

    def _draw(self, rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
        noise = rng.standard_normal(shape)
        noise *= self.sds(shape[2])
        return noise


@functools.lru_cache(maxsize=64)
def _ar1_filter(n_steps: int, ar: float) -> np.ndarray:
    """Lower-triangular ``L`` with ``n = L ε`` the stationary unit-variance AR(1) process.

    ``L[t, 0] = a**t`` (stationary start) and ``L[t, s] = sqrt(1-a²) a**(t-s)`` for
    ``1 <= s <= t``: the recursion written as one matrix product, so sampling is a
    single vectorised matmul over trials and dims.
    """
    lags = np.arange(n_steps)[:, None] - np.arange(n_steps)[None, :]
    powers = np.where(lags >= 0, float(ar) ** np.maximum(lags, 0), 0.0)
    powers[:, 1:] *= math.sqrt(1.0 - ar * ar)
    powers.setflags(write=False)
    return powers


@dataclass(frozen=True, kw_only=True)
class AR1Noise(NoiseModel):
    """Autocorrelated Gaussian noise: ``n_t = a n_{t-1} + sqrt(1-a²) σ ε_t``.

    The first step is drawn from the stationary law ``N(0, σ²)``, so every step has sd
    ``σ`` and neighbouring steps correlation ``a``. The process restarts in every trial.

    Parameters
    ----------
    sigma : float
        Stationary per-step sd.
    ar : float
        Lag-1 autocorrelation ``a`` in (-1, 1).
    """

    name: ClassVar[str] = "ar1"
    ar: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        check_real("ar", self.ar, minimum=-1.0, maximum=1.0, strict_minimum=True, strict_maximum=True)

    def _draw(self, rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
        eps = rng.standard_normal(shape)
        noise = np.matmul(_ar1_filter(shape[1], float(self.ar)), eps)
        noise *= self.sigma
        return noise

    def posterior(self, stimulus_bxtxd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Generalised-least-squares posterior under AR(1) noise (flat prior).

        With the tridiagonal AR(1) precision, ``1ᵀΣ⁻¹`` weighs the first and last
        observations by ``1`` and the interior ones by ``1 - a``:
        ``μ_t = (X_1 + X_t + (1-a) Σ_{s=2}^{t-1} X_s) / (2 + (t-2)(1-a))`` and
        ``Var = σ²(1+a) / (2 + (t-2)(1-a))`` for ``t >= 2`` (``X_1`` and ``σ²`` at t = 1).
        """
        n_steps, n_dims = stimulus_bxtxd.shape[1:]
        a = float(self.ar)
        t = np.arange(1, n_steps + 1, dtype=np.float64)
        cumsum = np.cumsum(stimulus_bxtxd, axis=1)
        first = stimulus_bxtxd[:, :1, :]
        interior = np.zeros_like(cumsum)
        interior[:, 2:] = cumsum[:, 1:-1] - first
        weight_t = 2.0 + (t - 2.0) * (1.0 - a)
        mean = (first + stimulus_bxtxd + (1.0 - a) * interior) / weight_t[:, None]
        var_t = self.sigma**2 * (1.0 + a) / weight_t
        mean[:, 0] = stimulus_bxtxd[:, 0]
        var_t[0] = self.sigma**2
        return mean, np.repeat(var_t[:, None], n_dims, axis=1)


@dataclass(frozen=True, kw_only=True)
class GumbelNoise(NoiseModel):
    """Centred Gumbel noise with mean 0 and sd ``sigma`` (right-skewed).

    Its :meth:`posterior` is the Gaussian approximation with matched per-step variance
    (running mean, variance ``σ²/t``): the running mean is still unbiased and, by the
    central limit theorem, nearly Gaussian after a few steps, but not the exact
    posterior under Gumbel noise.
    """

    name: ClassVar[str] = "gumbel"
    exact_posterior: ClassVar[bool] = False

    def _draw(self, rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
        scale = self.sigma * math.sqrt(6.0) / math.pi
        return rng.gumbel(-np.euler_gamma * scale, scale, size=shape)


#: noise name -> model class
NOISE_MODELS: dict[str, type[NoiseModel]] = {
    cls.name: cls for cls in (GaussianNoise, AnisotropicNoise, AR1Noise, GumbelNoise)
}


def make_noise(name: str, sigma: float = 0.2, **params: Any) -> NoiseModel:
    """Build a noise model by name.

    Parameters
    ----------
    name : {"gaussian", "anisotropic", "ar1", "gumbel"}
    sigma : float
        Per-step standard deviation.
    **params
        Model parameters: ``ratio`` / ``scales`` (anisotropic), ``ar`` (ar1).

    Returns
    -------
    NoiseModel

    Raises
    ------
    ValueError
        If ``name`` is unknown or a parameter is out of range.
    TypeError
        If a parameter is not accepted by the model.

    Examples
    --------
    >>> noise = make_noise("ar1", 0.2, ar=0.5)
    >>> noise.sample(np.random.default_rng(0), (4, 20, 2)).shape
    (4, 20, 2)
    >>> make_noise("pink", 0.2)
    Traceback (most recent call last):
    ...
    ValueError: noise must be one of ['gaussian', 'anisotropic', 'ar1', 'gumbel']; got 'pink'
    """
    check_in("noise", name, list(NOISE_MODELS))
    cls = NOISE_MODELS[name]
    accepted = sorted(f.name for f in dataclasses.fields(cls) if f.name != "sigma")
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise TypeError(f"noise {name!r} accepts parameters {accepted}; got unknown {unknown}")
    return cls(sigma=sigma, **params)


def coerce_noise(noise: str, sigma: float, noise_params: Any, n_dims: int) -> NoiseModel:
    """The noise model a task describes by ``noise``, ``sigma`` and ``noise_params``.

    Also checks the model fits ``n_dims`` latent dims (e.g. the length of ``scales``).

    Raises
    ------
    TypeError
        If ``noise_params`` is not a mapping or holds an unknown parameter.
    ValueError
        If the name is unknown or a value is out of range.
    """
    check_type("noise_params", noise_params, Mapping, "a mapping of noise parameters")
    model = make_noise(noise, sigma, **noise_params)
    model.sds(n_dims)
    return model
