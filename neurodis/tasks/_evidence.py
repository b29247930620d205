"""Trial sampling steps shared by the latent-evidence tasks (classification, regression,
accumulation): argument checks, the latents and their noisy observations, and the
per-step templates copied into every batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurodis._validation import check_int, check_type
from neurodis.tasks.latents import LatentPrior
from neurodis.tasks.noise import NoiseModel

__all__ = ["check_sample_args", "draw_evidence", "tile"]


def check_sample_args(n_trials: Any, rng: Any) -> int:
    """Validate the arguments of ``sample_arrays``; returns ``n_trials``.

    Raises
    ------
    ValueError
        If ``n_trials`` < 1.
    TypeError
        If ``n_trials`` is not an int or ``rng`` not a numpy Generator.

    Examples
    --------
    >>> check_sample_args(3, np.random.default_rng(0))
    3
    """
    n_trials = check_int("n_trials", n_trials, minimum=1)
    check_type("rng", rng, np.random.Generator, "a numpy.random.Generator")
    return n_trials


def draw_evidence(
    prior: LatentPrior, noise_model: NoiseModel, stim: slice, n_trials: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Latents ``x`` and their observations ``x + n(t)`` on the stimulus steps.

    Returns
    -------
    x_bxd : ndarray, shape (n_trials, n_dims)
    observed_bxsxd : ndarray, shape (n_trials, stimulus steps, n_dims)

    Examples
    --------
    >>> from neurodis.tasks.noise import coerce_noise
    >>> x, obs = draw_evidence(LatentPrior(2), coerce_noise("gaussian", 0.0, {}, 2), slice(1, 4), 5,
    ...                        np.random.default_rng(0))
    >>> obs.shape, bool(np.all(obs == x[:, None, :]))
    ((5, 3, 2), True)
    """
    x_bxd = prior.sample(rng, n_trials)
    observed_bxsxd = noise_model._draw(rng, (n_trials, stim.stop - stim.start, x_bxd.shape[1]))
    observed_bxsxd += x_bxd[:, None, :]
    return x_bxd, observed_bxsxd


def tile(template: np.ndarray, n_trials: int) -> np.ndarray:
    """A fresh (n_trials, *template.shape) array holding ``template`` for every trial.

    Examples
    --------
    >>> tile(np.arange(3.0), 2)
    array([[0., 1., 2.],
           [0., 1., 2.]])
    """
    out = np.empty((n_trials, *template.shape))
    out[...] = template
    return out
