"""Latent regression restricted to chosen orthants: the decoder task of the analysis.

The latent ``x`` is uniform on the union of the requested orthants of the box
[-0.5, 0.5]^D (all of it by default), drawn exactly by :class:`LatentPrior` (random
magnitudes, signs of a uniformly chosen allowed orthant), so no trial can fall outside
them. The network sees the fixation channel (1 before the decision period, 0 during it)
and ``X(t) = x + n(t)`` on the stimulus steps; the target is ``x`` itself on the
decision steps, which are the only steps in the loss.

With ``free_rt=True`` the stimulus stays on through the delay and decision periods
(the authors' free reaction-time variant: T + 1 samples with one decision step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from neurodis._validation import check_int, check_type
from neurodis.latents import orthant_coords
from neurodis.tasks._evidence import check_sample_args, draw_evidence, tile
from neurodis.tasks.base import Task, Timing, TrialBatch, register_task, set_derived
from neurodis.tasks.classification import check_template_memory, coerce_timing
from neurodis.tasks.latents import LatentPrior, check_orthants
from neurodis.tasks.noise import NoiseModel, coerce_noise

__all__ = ["RegressionTask"]


@register_task
@dataclass(frozen=True, kw_only=True)
class RegressionTask(Task):
    """Report the latent ``x`` at the decision step, with ``x`` drawn from chosen orthants.

    Parameters
    ----------
    n_dims : int
        Latent dimensionality D.
    sigma : float
        Per-step noise sd.
    noise : {"gaussian", "anisotropic", "ar1", "gumbel"}
    noise_params : dict
        Extra noise parameters.
    orthants : tuple of int, optional
        Allowed orthant codes (bit i set when ``x_i < 0``); ``None`` = the whole box.
        For D = 2, :func:`~neurodis.tasks.latents.quadrant_to_orthant` converts
        quadrant numbers.
    free_rt : bool
        Keep the stimulus on through the decision period.
    timing : Timing
        Needs at least one stimulus and one decision step.

    Raises
    ------
    ValueError
        For out-of-range values, unknown names or a timing without the needed periods.
    TypeError
        For arguments of the wrong type or unknown noise parameters.

    Examples
    --------
    >>> from neurodis.tasks.latents import quadrant_of, quadrant_to_orthant
    >>> task = RegressionTask(orthants=tuple(quadrant_to_orthant([1, 3])))
    >>> batch = task.sample_arrays(200, np.random.default_rng(0))
    >>> sorted(set(quadrant_of(batch.latents).tolist()))
    [1, 3]
    """

    name: ClassVar[str] = "regression"
    #: intended readout nonlinearity and loss of a network trained on this task
    readout: ClassVar[str] = "linear"
    loss: ClassVar[str] = "mse"

    n_dims: int = 2
    sigma: float = 0.2
    noise: str = "gaussian"
    noise_params: dict[str, Any] = field(default_factory=dict)
    orthants: tuple[int, ...] | None = None
    free_rt: bool = False
    timing: Timing = field(default_factory=Timing)

    def __post_init__(self) -> None:
        n_dims = check_int("n_dims", self.n_dims, minimum=1)
        check_type("free_rt", self.free_rt, bool, "a bool")
        orthants = None if self.orthants is None else check_orthants(self.orthants, n_dims)
        timing = coerce_timing(self.timing, self.name, ("stimulus", "decision"))
        check_template_memory(n_dims, timing)
        noise_model = coerce_noise(self.noise, self.sigma, self.noise_params, n_dims)
        set_derived(self, n_dims=n_dims, orthants=orthants, timing=timing, noise_params=dict(self.noise_params),
             sigma=float(noise_model.sigma), _noise_model=noise_model,
             _prior=LatentPrior(n_dims, orthants=orthants))
        stim, dec = timing.period_slice("stimulus"), timing.period_slice("decision")
        if self.free_rt:
            stim = slice(stim.start, timing.n_steps)
        inputs_txi = np.zeros((timing.n_steps, 1 + n_dims))
        inputs_txi[: dec.start, 0] = 1.0  # fixation until the go cue
        mask_txd = np.zeros((timing.n_steps, n_dims))
        mask_txd[dec] = 1.0
        set_derived(self, _n_steps=timing.n_steps, _stim=stim, _dec=dec, _inputs_txi=inputs_txi,
             _mask_txd=mask_txd)

    @property
    def input_names(self) -> list[str]:
        """``fixation`` then ``stimulus_0 .. stimulus_{D-1}``."""
        return ["fixation"] + [f"stimulus_{i}" for i in range(self.n_dims)]

    @property
    def output_names(self) -> list[str]:
        """``x0 .. x{D-1}``."""
        return [f"x{i}" for i in range(self.n_dims)]

    @property
    def latent_names(self) -> list[str]:
        """``x0 .. x{D-1}``."""
        return self.output_names

    @property
    def noise_model(self) -> NoiseModel:
        """The observation noise model."""
        return self._noise_model

    def sample_arrays(self, n_trials: int, rng: np.random.Generator) -> TrialBatch:
        """Draw ``n_trials`` trials as raw float64 arrays (vectorised over trials)."""
        n_trials = check_sample_args(n_trials, rng)
        x_bxd, observed = draw_evidence(self._prior, self._noise_model, self._stim, n_trials, rng)
        inputs = tile(self._inputs_txi, n_trials)
        inputs[:, self._stim, 1:] = observed
        targets = np.zeros((n_trials, self._n_steps, self.n_dims))
        targets[:, self._dec] = x_bxd[:, None, :]
        mask = tile(self._mask_txd, n_trials)
        return TrialBatch(inputs, targets, mask, x_bxd, orthant_coords(x_bxd, n_trials, 1))
