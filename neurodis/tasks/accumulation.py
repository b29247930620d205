"""The bounded-accumulator task (free reaction time, "confidence" variant).

No fixation channel: the network sees ``X(t) = x + n(t)`` on the stimulus steps (20 by
default) and must report, for every boundary ``k`` and at every step, the running sum of
signed evidence ``A_k(t) = Σ_{s≤t} c_k·X(s)``, absorbed at ``±bound``: once ``|A_k|``
reaches the bound it stays at ``±bound`` for the rest of the trial. The targets are
continuous (no integer truncation, no rescaling, no lag); every step is in the loss. A
network's readout is meant to be ``bound·tanh`` with a mean-squared-error loss.

The normals ``c_k`` are those of the linear classification task
(:func:`~neurodis.tasks.classification.boundary_normals`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from neurodis._validation import check_array, check_int, check_real
from neurodis.latents import orthant_coords
from neurodis.tasks._evidence import check_sample_args, draw_evidence
from neurodis.tasks.base import Task, Timing, TrialBatch, register_task, set_derived
from neurodis.tasks.classification import (
    boundary_normals,
    check_template_memory,
    coerce_timing,
)
from neurodis.tasks.latents import LatentPrior
from neurodis.tasks.noise import NoiseModel, coerce_noise

__all__ = ["AccumulationTask", "absorb"]


def absorb(running: np.ndarray, bound: float) -> np.ndarray:
    """Absorb running sums at ``±bound`` along axis 1 (time).

    Parameters
    ----------
    running : ndarray, shape (trial, time, ...)
        Unbounded running sums.
    bound : float
        Absorbing bound (> 0).

    Returns
    -------
    ndarray
        ``running`` until the first step with ``|running| >= bound``, then the sign of
        that step times ``bound`` on it and every later step.

    Examples
    --------
    >>> absorb(np.array([[1.0, 3.0, -1.0, 4.0]]), 2.0)
    array([[1., 2., 2., 2.]])
    """
    running = check_array("running", running)
    bound = check_real("bound", bound, minimum=0.0, strict_minimum=True)
    if running.ndim < 2:
        raise ValueError(f"running must have a trial and a time axis; got shape {running.shape}")
    flat = running.reshape(running.shape[0], running.shape[1], -1)
    return _absorb_bxtxn(flat, bound).reshape(running.shape)


def _absorb_bxtxn(running_bxtxn: np.ndarray, bound: float) -> np.ndarray:
    """:func:`absorb` on a 3-D array, without argument checks (the sampling fast path)."""
    n_trials, n_steps, n_traces = running_bxtxn.shape
    hit_bxtxn = np.abs(running_bxtxn) >= bound
    first_bxn = hit_bxtxn.argmax(axis=1)  # 0 also when a trace never hits
    index = (np.arange(n_trials)[:, None], first_bxn, np.arange(n_traces))
    side_bxn = np.where(hit_bxtxn[index], np.sign(running_bxtxn[index]), 0.0)
    # absorbed from the first hit on (side 0 marks traces that never hit)
    absorbed_bxtxn = (np.arange(n_steps)[:, None] >= first_bxn[:, None, :]) & (side_bxn != 0)[:, None, :]
    return np.where(absorbed_bxtxn, bound * side_bxn[:, None, :], running_bxtxn)


@register_task
@dataclass(frozen=True, kw_only=True)
class AccumulationTask(Task):
    """Report the bounded running sum of evidence along every boundary normal.

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
        Extra noise parameters.
    bound : float
        Absorbing bound (> 0).
    boundary_seed : int
        Seed of the random normals (D ≠ 2).
    timing : Timing
        Default: 20 stimulus steps of 100 ms and nothing else.

    Raises
    ------
    ValueError
        For out-of-range values, unknown names or a timing without the needed periods.
    TypeError
        For arguments of the wrong type or unknown noise parameters.

    Examples
    --------
    >>> task = AccumulationTask(n_tasks=4)
    >>> batch = task.sample_arrays(2, np.random.default_rng(0))
    >>> batch.inputs.shape, batch.targets.shape, task.input_names
    ((2, 20, 2), (2, 20, 4), ['stimulus_0', 'stimulus_1'])
    """

    name: ClassVar[str] = "accumulation"
    #: intended readout nonlinearity (``bound·tanh``) and loss
    readout: ClassVar[str] = "tanh"
    loss: ClassVar[str] = "mse"

    n_tasks: int = 24
    n_dims: int = 2
    sigma: float = 0.2
    noise: str = "gaussian"
    noise_params: dict[str, Any] = field(default_factory=dict)
    bound: float = 5.0
    boundary_seed: int = 0
    timing: Timing = field(
        default_factory=lambda: Timing(fixation=0.0, stimulus=2000.0, delay=0.0, decision=0.0)
    )

    def __post_init__(self) -> None:
        n_tasks = check_int("n_tasks", self.n_tasks, minimum=1)
        n_dims = check_int("n_dims", self.n_dims, minimum=1)
        seed = check_int("boundary_seed", self.boundary_seed, minimum=0)
        bound = check_real("bound", self.bound, minimum=0.0, strict_minimum=True)
        timing = coerce_timing(self.timing, self.name, ("stimulus",))
        check_template_memory(n_dims, timing, n_tasks)
        noise_model = coerce_noise(self.noise, self.sigma, self.noise_params, n_dims)
        set_derived(self, n_tasks=n_tasks, n_dims=n_dims, boundary_seed=seed, bound=bound, timing=timing,
             noise_params=dict(self.noise_params), sigma=float(noise_model.sigma),
             _noise_model=noise_model, _prior=LatentPrior(n_dims),
             _normals=boundary_normals(n_tasks, n_dims, seed), _stim=timing.period_slice("stimulus"),
             _n_steps=timing.n_steps)

    @property
    def input_names(self) -> list[str]:
        """``stimulus_0 .. stimulus_{D-1}`` (no fixation channel)."""
        return [f"stimulus_{i}" for i in range(self.n_dims)]

    @property
    def output_names(self) -> list[str]:
        """``task_0 .. task_{N-1}``."""
        return [f"task_{k}" for k in range(self.n_tasks)]

    @property
    def latent_names(self) -> list[str]:
        """``x0 .. x{D-1}``."""
        return [f"x{i}" for i in range(self.n_dims)]

    @property
    def normals(self) -> np.ndarray:
        """Unit normals ``C``, shape (n_tasks, n_dims)."""
        return self._normals.copy()

    @property
    def noise_model(self) -> NoiseModel:
        """The observation noise model."""
        return self._noise_model

    def sample_arrays(self, n_trials: int, rng: np.random.Generator) -> TrialBatch:
        """Draw ``n_trials`` trials as raw float64 arrays (vectorised over trials)."""
        n_trials = check_sample_args(n_trials, rng)
        x_bxd, observed = draw_evidence(self._prior, self._noise_model, self._stim, n_trials, rng)
        inputs = np.zeros((n_trials, self._n_steps, self.n_dims))
        inputs[:, self._stim] = observed
        # the running sum is linear: accumulate the D stimulus channels, then project
        targets = _absorb_bxtxn(np.cumsum(inputs, axis=1) @ self._normals.T, self.bound)
        mask = np.ones(targets.shape)
        return TrialBatch(inputs, targets, mask, x_bxd, orthant_coords(x_bxd, n_trials, 1))
